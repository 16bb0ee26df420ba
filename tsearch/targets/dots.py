"""Dots: exactly k white pixels on a black side x side grid, no two of them 8-adjacent.

k = 1 is the seed's dataset 1 (support size d = side^2). The target is uniform over its
support. With k in a range [lo, hi], k is drawn with probability N_k / sum_j N_j, where N_k
counts the valid k-dot images (known exactly for side <= 12 by a transfer matrix over rows,
and for k = 1; otherwise k is drawn uniformly from the range and ``support_size`` is None).
A k-dot image is a uniform k-subset of pixels conditioned on no two touching: rejection
sampling, exact however dense the dots, but slow near the densest packing; past
MAX_REJECTED_PIXELS of rejected candidates it gives up with a UserError.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..errors import UserError
from . import image_bits, uniform_novel_mass
from .base import Samples, Target, Validity

MAX_COUNTED_SIDE = 12  # 377 row states; above, the transfer matrix grows as phi^side
MAX_CANDIDATE_PIXELS = 2**22  # bounds one rejection round's memory: batch * d
MAX_REJECTED_PIXELS = 2**27  # bounds the time spent on rejected candidates (a few seconds)


class DotsTarget(Target):
    def __init__(self, *, side: int = 8, k: int | tuple[int, int] = 1):
        lo, hi = (k, k) if np.ndim(k) == 0 else k
        self.side = int(side)
        self.k_range = (int(lo), int(hi))

    @functools.cached_property
    def counts(self) -> np.ndarray | None:
        """N_j for j = 0..hi: valid images with exactly j dots (None: not counted)."""
        return count_dot_images(self.side, self.k_range[1])

    @property
    def support_size(self) -> int | None:
        lo, hi = self.k_range
        return None if self.counts is None else int(self.counts[lo:hi + 1].sum())

    def sample(self, n: int, rng: np.random.Generator) -> Samples:
        ks = self._draw_k(n, rng)
        params: list[Any] = [None] * n
        for k in np.unique(ks):
            where = np.flatnonzero(ks == k)
            for i, positions in zip(where, self._draw_positions(int(k), len(where), rng)):
                params[i] = positions
        return Samples(self.render(params), params)

    def render(self, params: list[Any]) -> np.ndarray:
        images = np.full((len(params), self.side, self.side), -1.0, np.float32)
        for image, positions in zip(images, params):
            rows, cols = np.asarray(positions, dtype=np.int64).reshape(-1, 2).T
            image[rows, cols] = 1.0
        return images

    def is_valid(self, images) -> Validity:
        bits = image_bits(images, self.shape)  # (n, H, W)
        count = bits.sum(axis=(1, 2))
        lo, hi = self.k_range
        reason = np.where((count < lo) | (count > hi), "wrong_count",
                          np.where(touching(bits), "adjacent", "ok"))
        return Validity(valid=reason == "ok", reason=reason)

    def enumerate_support(self) -> np.ndarray | None:
        if self.k_range != (1, 1):
            return None
        return self.render([np.divmod(i, self.side) for i in range(self.d)])

    def novel_mass(self, train_images, rng: np.random.Generator, n_reference: int = 4096) -> float:
        size = self.support_size
        if size is None:
            return super().novel_mass(train_images, rng, n_reference)
        return uniform_novel_mass(self, train_images, size)

    def describe(self, images) -> dict[str, Any]:
        count = image_bits(images, self.shape).sum(axis=(1, 2))
        values, freq = np.unique(count, return_counts=True)
        return {"white_count_hist": {str(v): int(f) for v, f in zip(values, freq)},
                "mean_white_count": float(count.mean()) if len(count) else float("nan")}

    # ------------------------------------------------------------------------- sampling
    def _draw_k(self, n: int, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.k_range
        weights = None if self.counts is None else self.counts[lo:hi + 1] / self.support_size
        return rng.choice(np.arange(lo, hi + 1), size=n, p=weights)

    def _draw_positions(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, k, 2) row/col positions: uniform k-subsets of pixels, kept if no two touch."""
        if k == 1:
            return np.stack(np.divmod(rng.integers(self.d, size=(n, 1)), self.side), axis=-1)
        kept, n_kept, n_drawn = [], 0, 0
        while (n_drawn - n_kept) * self.d <= MAX_REJECTED_PIXELS:
            rate = (n_kept + 1) / (n_drawn + 1)
            batch = min(int((n - n_kept) / rate * 1.2) + 16, max(MAX_CANDIDATE_PIXELS // self.d, 1))
            # the indices of the k smallest of d iid uniforms are a uniform k-subset
            flat = np.sort(np.argpartition(rng.random((batch, self.d)), k - 1, axis=1)[:, :k], axis=1)
            positions = np.stack(np.divmod(flat, self.side), axis=-1)  # (batch, k, 2)
            ok = ~touching_positions(positions)
            kept.append(positions[ok])
            n_kept, n_drawn = n_kept + int(ok.sum()), n_drawn + batch
            if n_kept >= n:
                return np.concatenate(kept)[:n]
        raise UserError(f"target.k = {k}: too dense to sample on a {self.side}x{self.side} grid "
                        f"(kept {n_kept} of {n_drawn} candidates)")


def touching(bits: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> (n,) bool: some two white pixels are 8-adjacent."""
    pairs = (bits[:, :, :-1] & bits[:, :, 1:],  # horizontal
             bits[:, :-1, :] & bits[:, 1:, :],  # vertical
             bits[:, :-1, :-1] & bits[:, 1:, 1:],  # diagonal
             bits[:, :-1, 1:] & bits[:, 1:, :-1])  # anti-diagonal
    return np.any([p.any(axis=(1, 2)) for p in pairs], axis=0)


def touching_positions(positions: np.ndarray) -> np.ndarray:
    """(B, k, 2) distinct positions -> (B,) bool: some pair at Chebyshev distance 1."""
    gap = np.abs(positions[:, :, None, :] - positions[:, None, :, :]).max(axis=-1)  # (B, k, k)
    return (gap == 1).any(axis=(1, 2))


def count_dot_images(side: int, k_max: int) -> np.ndarray | None:
    """N_k for k = 0..k_max: side x side images with k white pixels, none 8-adjacent.

    Transfer matrix over rows: a row state is a bit mask with no two adjacent bits; two
    consecutive rows are compatible when no bit of one touches a bit of the other vertically
    or diagonally. ``ways[s, j]`` counts the fillings of the rows so far that end in state s
    with j dots in total. None when side > MAX_COUNTED_SIDE (except k_max <= 1: N_1 = d).
    """
    if side > MAX_COUNTED_SIDE:
        return np.array([1, side * side][:k_max + 1]) if k_max <= 1 else None
    rows = np.array([m for m in range(1 << side) if m & (m >> 1) == 0])  # (S,)
    pop = np.array([bin(m).count("1") for m in rows])
    a, b = rows[:, None], rows[None, :]
    compatible = ((a & b) | (a & (b << 1)) | (a & (b >> 1))) == 0  # (S, S), symmetric
    ways = _add_row(np.ones((len(rows), 1), np.int64), pop, k_max)
    for _ in range(side - 1):
        ways = _add_row(compatible.astype(np.int64) @ ways, pop, k_max)
    return ways.sum(axis=0)


def _add_row(ways: np.ndarray, pop: np.ndarray, k_max: int) -> np.ndarray:
    """Shift each state's dot-count axis by the dots of its own row, truncated at k_max."""
    out = np.zeros((len(pop), k_max + 1), np.int64)
    width = min(ways.shape[1], k_max + 1)
    for c in np.unique(pop[pop <= k_max]):
        sel = pop == c
        n = min(width, k_max + 1 - c)
        out[sel, c:c + n] = ways[sel, :n]
    return out
