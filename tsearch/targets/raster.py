"""Pixel-centre rasterization of polygons and batched binary-image topology (no scipy).

Conventions: an image has ``side x side`` pixels; pixel (i, j) (row i downward) has its
centre at ``((j + 0.5) / side, (i + 0.5) / side)`` in unit coordinates, i.e. at
``(j + 0.5, i + 0.5)`` in pixel coordinates. A pixel is white iff its centre lies strictly
inside the polygon (``shapely.contains_xy``: boundary points are outside).

Topology uses the dual pair of connectivities: white regions are 4-connected, black regions
8-connected, so that a one-component white region "without a hole" has a complement that is
one 8-connected black region touching the frame (Rosenfeld's digital topology).
"""

from __future__ import annotations

import functools

import numpy as np
import shapely


@functools.lru_cache(maxsize=16)
def pixel_centres(side: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every pixel centre in pixel units, each flat (side*side,), row-major."""
    i, j = np.mgrid[0:side, 0:side]
    return (j.reshape(-1) + 0.5, i.reshape(-1) + 0.5)


def rasterize_pixels(polygon: shapely.Polygon, side: int) -> np.ndarray:
    """(side, side) bool: centres strictly inside ``polygon`` (given in pixel units)."""
    x, y = pixel_centres(side)
    shapely.prepare(polygon)
    return shapely.contains_xy(polygon, x, y).reshape(side, side)


def rasterize(vertices: np.ndarray, side: int) -> np.ndarray:
    """(side, side) bool image of one polygon whose vertices (m, 2) are in unit coordinates."""
    return rasterize_pixels(shapely.Polygon(np.asarray(vertices, float) * side), side)


# ----------------------------------------------------------------------------- topology
def _dilate(mask: np.ndarray, diagonal: bool) -> np.ndarray:
    """Batched binary dilation of (n, H, W) by the 4- (or 8-) neighbourhood cross (square)."""
    out = mask.copy()
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    if diagonal:  # square = cross of the cross, so dilate columns of the row-dilated mask
        rows = out.copy()
        out[:, :, 1:] |= rows[:, :, :-1]
        out[:, :, :-1] |= rows[:, :, 1:]
    else:
        out[:, :, 1:] |= mask[:, :, :-1]
        out[:, :, :-1] |= mask[:, :, 1:]
    return out


def flood(seed: np.ndarray, region: np.ndarray, *, diagonal: bool) -> np.ndarray:
    """Pixels of ``region`` connected to ``seed`` inside ``region``; batched (n, H, W)."""
    reached = seed & region
    active = np.arange(len(reached))  # images still growing
    while active.size:
        before = reached[active]
        grown = _dilate(before, diagonal) & region[active]
        reached[active] = grown
        active = active[(grown != before).any(axis=(1, 2))]
    return reached


def first_pixel(mask: np.ndarray) -> np.ndarray:
    """(n, H, W) bool with only the first (row-major) True pixel of each image kept."""
    flat = mask.reshape(len(mask), -1)
    seed = np.zeros_like(flat)
    rows = np.flatnonzero(flat.any(axis=1))
    seed[rows, flat[rows].argmax(axis=1)] = True
    return seed.reshape(mask.shape)


def is_connected(white: np.ndarray) -> np.ndarray:
    """(n,) bool: the white pixels form one 4-connected component (False when empty)."""
    reached = flood(first_pixel(white), white, diagonal=False)
    return white.any(axis=(1, 2)) & (reached.sum(axis=(1, 2)) == white.sum(axis=(1, 2)))


def euler_number(white: np.ndarray) -> np.ndarray:
    """(n,) int: 4-connected white components minus holes, from 2x2 pixel patterns
    (Gray 1971 bit-quads: E4 = (n_Q1 - n_Q3 + 2 n_QD) / 4)."""
    w = np.pad(white, ((0, 0), (1, 1), (1, 1))).astype(np.int8)
    a, b, c, d = w[:, :-1, :-1], w[:, :-1, 1:], w[:, 1:, :-1], w[:, 1:, 1:]
    count = a + b + c + d
    diagonal = (count == 2) & (a == d)
    q1, q3, qd = (count == 1).sum(axis=(1, 2)), (count == 3).sum(axis=(1, 2)), diagonal.sum(axis=(1, 2))
    return (q1 - q3 + 2 * qd) // 4


def has_hole(white: np.ndarray) -> np.ndarray:
    """(n,) bool, for images whose white pixels form one 4-connected component: some black
    pixel is not 8-connected to the frame (then the Euler number is below 1)."""
    return euler_number(white) < 1
