"""Descriptors of binary images: a few numbers per image in which to compare two sets of images
(precision / recall, per-descriptor Wasserstein distances: tsearch.metrics.fidelity).

For the white pixels W of an image (rows i downward, columns j; area a = |W|):
    area         a
    row, col     centroid  (1/a) sum_{(i,j) in W} (i, j)
    perimeter    number of white/black 4-adjacent pixel edges (the frame counts as black)
    major, minor sqrt of the eigenvalues l1 >= l2 of the second central moments
                 C = (1/a) sum (p - centroid)(p - centroid)^T   (spread along the two axes)
    aniso_cos,   (C_jj - C_ii, 2 C_ij) / (l1 + l2): the elongation times (cos 2 theta, sin 2 theta)
    aniso_sin    of its orientation theta; continuous through theta = 0 = pi, 0 for a round blob
    convexity    a / area of the convex hull of the white pixel squares (1 for a convex raster)
An image without white pixels has NaN for every descriptor but area and perimeter.
"""

from __future__ import annotations

import numpy as np

SHAPE = ("area", "row", "col", "perimeter", "major", "minor", "aniso_cos", "aniso_sin")


def shape_descriptors(white: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> (n, len(SHAPE)) float64, columns in SHAPE order."""
    w = white.astype(np.float64)
    n, h, wd = w.shape
    area = w.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        i = np.arange(h)[None, :, None]
        j = np.arange(wd)[None, None, :]
        row = (w * i).sum(axis=(1, 2)) / area
        col = (w * j).sum(axis=(1, 2)) / area
        di, dj = i - row[:, None, None], j - col[:, None, None]
        c_ii = (w * di * di).sum(axis=(1, 2)) / area
        c_jj = (w * dj * dj).sum(axis=(1, 2)) / area
        c_ij = (w * di * dj).sum(axis=(1, 2)) / area
        half_trace, root = (c_ii + c_jj) / 2, np.sqrt(((c_jj - c_ii) / 2) ** 2 + c_ij**2)
        major, minor = np.sqrt(half_trace + root), np.sqrt(np.maximum(half_trace - root, 0))
        trace = c_ii + c_jj  # 0 for one pixel: no orientation, (0, 0); NaN when empty
        round_ = np.where(trace > 0, trace, np.inf)
        aniso_cos = np.where(np.isnan(trace), np.nan, (c_jj - c_ii) / round_)
        aniso_sin = np.where(np.isnan(trace), np.nan, 2 * c_ij / round_)
    return np.stack([area, row, col, perimeter(white), major, minor, aniso_cos, aniso_sin], axis=1)


def perimeter(white: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> (n,) number of white/black 4-adjacent edges, the frame being black."""
    p = np.pad(white, ((0, 0), (1, 1), (1, 1))).astype(np.int8)
    return (np.abs(np.diff(p, axis=1)).sum(axis=(1, 2))
            + np.abs(np.diff(p, axis=2)).sum(axis=(1, 2))).astype(np.float64)


def convexity(white: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> (n,) white area / area of the convex hull of the white pixel squares."""
    import shapely  # here: base.py imports this module, and dots / bernoulli never need shapely
    image, i, j = np.nonzero(white)  # sorted by image
    present, which = np.unique(image, return_inverse=True)
    corners = np.stack([np.stack([j + dj, i + di], axis=1) for di in (0, 1) for dj in (0, 1)], axis=1)
    points = shapely.multipoints(corners.reshape(-1, 2).astype(float), indices=np.repeat(which, 4))
    out = np.full(len(white), np.nan)
    out[present] = white[present].sum(axis=(1, 2)) / shapely.area(shapely.convex_hull(points))
    return out


def dot_descriptors(white: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Dots: count, centroid, spread sqrt(C_ii + C_jj), mean distance to the nearest other dot
    (0 for a single dot). For one dot per image these are its position."""
    shape = shape_descriptors(white)
    spread = np.sqrt(shape[:, 4] ** 2 + shape[:, 5] ** 2)
    return ("count", "row", "col", "spread", "nearest_dot"), np.stack(
        [shape[:, 0], shape[:, 1], shape[:, 2], spread, nearest_dot_distance(white)], axis=1)


def nearest_dot_distance(white: np.ndarray) -> np.ndarray:
    """(n,) mean over an image's white pixels of the distance to the nearest other white pixel."""
    out = np.zeros(len(white))
    for k, image in enumerate(white):  # a handful of dots per image: tiny distance matrices
        p = np.argwhere(image).astype(np.float64)
        if len(p) >= 2:
            dist = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1)) + np.diag(np.full(len(p), np.inf))
            out[k] = dist.min(axis=1).mean()
    return out
