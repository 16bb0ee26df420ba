"""Polygons: rasterized simple polygons with 3..K vertices (experiments 2-4 of docs/research.md).

A sample is a simple polygon P with m in {3..K} vertices (unit coordinates, (m, 2) float),
drawn as either a uniform random convex polygon (Valtr 1995, "Probability that n random
points are in convex position") or a star-shaped polygon (sorted random angles, random
radii around a centre), under a random axis-aligned affine map into [0, 1]^2. Its image
has pixel (i, j) white iff the centre ((j + .5) / side, (i + .5) / side) is strictly inside P.

Valid image: one 4-connected white component, no hole (black is 8-connected to the frame),
at least ``min_area`` white pixels, and a simple polygon with <= K vertices rasterizing to it
within ``tolerance`` pixels (found by ``polygon_fit``; a found polygon is a proof). The
sampler keeps only drawings whose image passes the topology and area tests, and whose
polygon area is >= ``min_area`` pixels too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from ..config import PolygonsConfig as C  # the defaults, stated once
from ..errors import UserError
from . import image_bits
from .base import Samples, Target, Validity, image_keys
from .descriptors import SHAPE, convexity, shape_descriptors
from .polygon_fit import fit_polygon
from .raster import has_hole, is_connected, rasterize, rasterize_pixels

MAX_ROUNDS = 100  # rounds of batched draws before giving up (min_area too large)


class PolygonsTarget(Target):
    def __init__(self, *, side: int = C.side, max_vertices: int = C.max_vertices, min_area: float = C.min_area,
                 convex: bool = C.convex, tolerance: int = C.tolerance, kind: str = "polygons"):
        self.side = int(side)
        self.max_vertices = int(max_vertices)
        self.min_area = float(min_area)
        self.convex = bool(convex)
        self.tolerance = int(tolerance)
        self._cache: dict[bytes, tuple[str, int]] = {}  # image key -> (reason, fitted vertices)

    # ------------------------------------------------------------------------- sampling
    def sample(self, n: int, rng: np.random.Generator) -> Samples:
        params, images = [], []
        for _ in range(MAX_ROUNDS):
            if len(params) >= n:
                return Samples(np.where(np.concatenate(images)[:n], 1.0, -1.0).astype(np.float32),
                               params[:n])
            drawn = [self._draw(rng) for _ in range(max(16, 2 * (n - len(params))))]
            ok, white = self._acceptable(drawn)
            params += [v for v, keep in zip(drawn, ok) if keep]
            images.append(white[ok])
        raise UserError(f"polygons: too few valid polygons in {MAX_ROUNDS} rounds of draws; "
                        f"lower target.min_area ({self.min_area}) or raise target.side")

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        m = int(rng.integers(3, self.max_vertices + 1))
        convex = self.convex or rng.random() < 0.5
        return place(convex_polygon(m, rng) if convex else star_polygon(m, rng), rng)

    def _acceptable(self, drawn: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Which drawn polygons are simple, of area >= min_area, and rasterize to one
        4-connected component without hole, of >= min_area pixels; and their images."""
        polys = np.array([shapely.Polygon(v * self.side) for v in drawn])
        ok = shapely.is_valid(polys) & (shapely.area(polys) >= self.min_area)
        white = np.zeros((len(drawn), self.side, self.side), bool)
        for k in np.flatnonzero(ok):
            white[k] = rasterize_pixels(polys[k], self.side)
        ok &= white.sum(axis=(1, 2)) >= max(self.min_area, 1)
        if ok.any():  # a round where no drawing is large enough leaves nothing to test
            ok[ok] = is_connected(white[ok]) & ~has_hole(white[ok])
        return ok, white

    def render(self, params: list[Any]) -> np.ndarray:
        images = np.empty((len(params), self.side, self.side), np.float32)
        for k, vertices in enumerate(params):
            v = np.asarray(vertices, dtype=float)
            if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
                raise UserError(f"polygon {k}: vertices of shape {v.shape}; expected (m >= 3, 2)")
            images[k] = np.where(rasterize(v, self.side), 1.0, -1.0)
        return images

    # ------------------------------------------------------------------------- validity
    def is_valid(self, images) -> Validity:
        white = image_bits(images, self.shape)
        keys = image_keys(white)
        todo = {key: k for k, key in enumerate(keys) if key not in self._cache}
        if todo:
            self._judge(list(todo), white[list(todo.values())])
        reason = np.array([self._cache[key][0] for key in keys], dtype=object).astype(str)
        return Validity(valid=reason == "ok", reason=reason)

    def _judge(self, keys: list[bytes], white: np.ndarray) -> None:
        """Fill the cache for distinct images (n, H, W): cheap batched tests, then fitting."""
        area = white.sum(axis=(1, 2))
        reason = np.select(
            [area == 0, ~is_connected(white), has_hole(white), area < self.min_area],
            ["empty", "disconnected", "hole", "too_small"], "fit")
        for key, image, why in zip(keys, white, reason):
            vertices = fit_polygon(image, max_vertices=self.max_vertices,
                                   tolerance=self.tolerance) if why == "fit" else None
            if why == "fit":
                why = "too_many_vertices" if vertices is None else "ok"
            self._cache[key] = (str(why), 0 if vertices is None else len(vertices))

    # ------------------------------------------------------------------------- statistics
    def descriptors(self, images) -> tuple[tuple[str, ...], np.ndarray]:
        """Area, centroid, perimeter, second moments (spread, orientation) and convexity
        (targets/descriptors.py). The fitted vertex count is left out: a reference sample
        would need a polygon fit per image (~7 ms each at 16 x 16)."""
        white = image_bits(images, self.shape)
        return (*SHAPE, "convexity"), np.column_stack([shape_descriptors(white), convexity(white)])

    def describe(self, images) -> dict[str, Any]:
        white = image_bits(images, self.shape)
        valid = self.is_valid(white).valid
        fitted = [self._cache[key][1] for key, ok in zip(image_keys(white), valid) if ok]
        return {"mean_white_area": float(white.sum(axis=(1, 2)).mean()) if len(white) else 0.0,
                "valid_fraction": float(valid.mean()) if len(white) else 0.0,
                "mean_fitted_vertices": float(np.mean(fitted)) if fitted else float("nan")}


# ----------------------------------------------------------------------------- shapes
def convex_polygon(m: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random convex polygon with m vertices (Valtr's algorithm), arbitrary scale."""
    def edge_components():  # m signed steps summing to zero along one axis
        v = np.sort(rng.random(m))
        upper = rng.random(m - 2) < 0.5
        a = np.concatenate([v[:1], v[1:-1][upper], v[-1:]])
        b = np.concatenate([v[:1], v[1:-1][~upper], v[-1:]])
        return np.concatenate([np.diff(a), -np.diff(b)])

    steps = np.stack([edge_components(), rng.permutation(edge_components())], axis=1)
    steps = steps[np.argsort(np.arctan2(steps[:, 1], steps[:, 0]))]
    return np.cumsum(steps, axis=0)


def star_polygon(m: int, rng: np.random.Generator) -> np.ndarray:
    """Star-shaped polygon: m sorted random angles, radii uniform in [0.2, 1]."""
    angle = 2 * np.pi * np.sort(rng.random(m))
    radius = rng.uniform(0.2, 1.0, m)
    return radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def place(vertices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random axis-aligned affine map of a polygon into [0, 1]^2: size, aspect, position."""
    v = vertices - vertices.min(axis=0)
    extent = np.maximum(v.max(axis=0), 1e-12)
    size = rng.uniform(0.25, 0.95) * np.exp(rng.uniform(-0.5, 0.5, 2))
    v = v / extent * np.minimum(size, 0.98)
    return v + rng.random(2) * (1.0 - v.max(axis=0))
