"""Chance level of a validity test: how often a random blob of the same white area passes it.

Blobs: Eden growth on the H x W canvas (Eden 1961): a uniformly random seed pixel, then, until
the blob has a white pixels, a pixel drawn uniformly among the black pixels 4-adjacent to it.
Every blob is one 4-connected component; it may enclose holes.

    p(a)          = P(valid | Eden blob of area a), estimated from ``per_area`` blobs per area,
                    drawn from a generator seeded by (seed, a) so that p(a) never depends on
                    which other areas were asked for first
    chance_valid  = (1/M) sum_i p(|s_i|)       the validity rate of blobs with the samples' areas
    g_above_chance = g - chance_valid          (per sample: novel_i - p(|s_i|))
An empty image is its own only "blob" of area 0: p(0) = its validity (0 for every target here).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import seeding

IsValid = Callable[[np.ndarray], np.ndarray]  # (n, H, W) ±1 images -> (n,) bool


def grow_blobs(area: int, n: int, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(n, H, W) bool: n Eden blobs of ``area`` white pixels each (area <= H W)."""
    h, w = shape
    blobs = np.zeros((n, h * w), bool)
    blobs[np.arange(n), rng.integers(0, h * w, n)] = True
    for _ in range(min(area, h * w) - 1):
        grid = blobs.reshape(n, h, w)
        frontier = np.zeros_like(grid)  # black pixels 4-adjacent to the blob
        frontier[:, 1:] |= grid[:, :-1]
        frontier[:, :-1] |= grid[:, 1:]
        frontier[:, :, 1:] |= grid[:, :, :-1]
        frontier[:, :, :-1] |= grid[:, :, 1:]
        frontier = frontier.reshape(n, -1) & ~blobs
        pick = np.where(frontier, rng.random((n, h * w)), -1.0).argmax(axis=1)  # uniform on frontier
        blobs[np.arange(n), pick] = True
    return blobs.reshape(n, h, w)


def as_images(white: np.ndarray) -> np.ndarray:
    return np.where(white, 1.0, -1.0).astype(np.float32)


class ChanceTable:
    """p(a) for one validity test, filled lazily area by area and kept (a target's chance
    level is a property of the target, shared by every task that uses it)."""

    def __init__(self, is_valid: IsValid, shape: tuple[int, int], *, per_area: int, seed: int):
        self.is_valid, self.shape, self.per_area, self.seed = is_valid, shape, per_area, seed
        self.rate: dict[int, float] = {}
        self._valid: dict[int, np.ndarray] = {}  # area -> (V, H, W) bool, the valid blobs drawn
        self._drawn: dict[int, int] = {}

    def __call__(self, areas: np.ndarray) -> np.ndarray:
        """(M,) white areas -> (M,) p(area)."""
        areas = np.asarray(areas, dtype=np.int64)
        for a in np.unique(areas):
            self._measure(int(a))
        return np.array([self.rate[int(a)] for a in areas], dtype=np.float64)

    def valid_blobs(self, area: int) -> np.ndarray:
        """(V, H, W) bool: the blobs of this area that passed, of ``drawn(area)`` (coverage.py)."""
        self._measure(area)
        return self._valid[area]

    def drawn(self, area: int) -> int:
        self._measure(area)
        return self._drawn[area]

    def _measure(self, area: int) -> None:
        if area in self.rate:
            return
        if area == 0:
            blobs = np.zeros((1, *self.shape), bool)
        else:
            blobs = grow_blobs(area, self.per_area, self.shape, seeding.numpy_rng(self.seed, "chance", area))
        valid = np.asarray(self.is_valid(as_images(blobs)), bool)
        self.rate[area], self._valid[area], self._drawn[area] = float(valid.mean()), blobs[valid], len(blobs)


def chance_level(is_valid: IsValid, areas: np.ndarray, shape: tuple[int, int],
                 rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """One blob per given area (e.g. the white areas of target samples): the fraction of valid
    blobs and the per-blob validity (n,) bool; for tables such as docs/polygon_validity.md."""
    areas = np.asarray(areas, dtype=np.int64)
    valid = np.zeros(len(areas), bool)
    for a in np.unique(areas[areas > 0]):
        where = np.flatnonzero(areas == a)
        valid[where] = is_valid(as_images(grow_blobs(int(a), len(where), shape, rng)))
    return float(valid.mean()) if len(valid) else float("nan"), valid


AREA_BANDS = ((1, 12), (13, 24), (25, 48), (49, 96), (97, None))  # white-area bands (pixels)


def chance_report(is_valid: IsValid, areas: np.ndarray, shape: tuple[int, int],
                  rng: np.random.Generator) -> dict:
    """The chance level of blobs with the given white areas (one blob each), its 95 % Wilson
    interval, and the rate per area band: what ``tsearch validate --chance`` prints."""
    areas = np.asarray(areas, dtype=np.int64)
    level, valid = chance_level(is_valid, areas, shape, rng)
    bands = {}
    for lo, hi in AREA_BANDS:
        where = (areas >= lo) & (areas <= (hi if hi is not None else areas.max(initial=0)))
        if where.any():
            bands[f"{lo}-{hi}" if hi else f">={lo}"] = {"chance_valid": float(valid[where].mean()),
                                                       "blobs": int(where.sum())}
    return {"chance_valid": level, "interval": wilson(int(valid.sum()), len(valid)),
            "blobs": len(valid), "mean_area": float(areas.mean()) if len(areas) else float("nan"),
            "by_area": bands}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k / n (z = 1.96: 95 %)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)
