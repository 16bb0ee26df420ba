"""Dots: exactly k white pixels on a black side x side grid, no two of them 8-adjacent.

k = 1 is dataset 1 of docs/research.md (support size d = side^2). The target is uniform over its
support, and with k in a range [lo, hi] every valid image with lo..hi dots is equally likely.

Up to MAX_COUNTED_SIDE a transfer matrix over rows counts the support exactly: a row state
is a bit mask s with no two adjacent bits, and

    ways[0][s][j] = [j = |s|],   ways[r][s][j] = sum over t ~ s of ways[r-1][t][j - |s|]

counts the fillings of rows 0..r that end in state s with j dots (t ~ s: no bit of t touches
a bit of s vertically or diagonally); N_k = sum_s ways[side-1][s][k]. Sampling walks the
recursion backwards: draw (last row, k) with weight ways[side-1][s][k], then each row r above
row r+1 = s with weight ways[r][t][j] over t ~ s, j being the dots still to place. Each image
then has probability 1 / sum_{k=lo..hi} N_k: exactly uniform (Python ints throughout; the
counts pass 2^63 at side 12), whatever the density.

Above MAX_COUNTED_SIDE, k is drawn uniformly from the range (N_k unknown, ``support_size``
None, except N_1 = d) and a k-dot image is a uniform k-subset of pixels conditioned on no two
touching: rejection sampling, exact but slow near the densest packing; past
MAX_REJECTED_PIXELS of rejected candidates it gives up with a UserError.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import DotsConfig as C  # the defaults, stated once
from ..errors import UserError
from . import uniform_novel_mass
from .base import Samples, Target, Validity, image_bits
from .descriptors import dot_descriptors

MAX_COUNTED_SIDE = 12  # 377 row states; above, the transfer matrix grows as phi^side
MAX_CANDIDATE_PIXELS = 2**22  # bounds one rejection round's memory: batch * d
MAX_REJECTED_PIXELS = 2**27  # bounds the time spent on rejected candidates (a few seconds)


class DotsTarget(Target):
    def __init__(self, *, side: int = C.side, k: int | tuple[int, int] = C.k):
        lo, hi = (k, k) if np.ndim(k) == 0 else k
        self.side = int(side)
        self.k_range = (int(lo), int(hi))

    @functools.cached_property
    def transfer(self) -> RowTransfer | None:
        """The exact counting tables (None above MAX_COUNTED_SIDE)."""
        return RowTransfer.build(self.side, self.k_range[1]) if self.side <= MAX_COUNTED_SIDE else None

    @functools.cached_property
    def counts(self) -> np.ndarray | None:
        """N_j for j = 0..hi as Python ints: valid images with exactly j dots (None: not counted)."""
        if self.transfer is not None:
            return self.transfer.counts
        return count_dot_images(self.side, self.k_range[1])

    @property
    def support_size(self) -> int | None:
        lo, hi = self.k_range
        return None if self.counts is None else int(self.counts[lo:hi + 1].sum())

    def sample(self, n: int, rng: np.random.Generator) -> Samples:
        if self.transfer is not None:
            return self._sample_rows(n, rng)
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

    def descriptors(self, images) -> tuple[tuple[str, ...], np.ndarray]:
        """Dot count, centroid, spread, mean nearest-dot distance: the position of a single dot."""
        return dot_descriptors(image_bits(images, self.shape))

    def describe(self, images) -> dict[str, Any]:
        count = image_bits(images, self.shape).sum(axis=(1, 2))
        values, freq = np.unique(count, return_counts=True)
        return {"white_count_hist": {str(v): int(f) for v, f in zip(values, freq)},
                "mean_white_count": float(count.mean()) if len(count) else float("nan")}

    # ------------------------------------------------------------------------- sampling
    def _sample_rows(self, n: int, rng: np.random.Generator) -> Samples:
        """Exact backward sampling through the counting tables (module docstring)."""
        if self.support_size == 0:
            raise UserError(f"target.k = {self.k_range}: no image with that many dots fits "
                            f"on a {self.side}x{self.side} grid")
        masks = self.transfer.rows[self.transfer.sample(*self.k_range, n, rng)]  # (n, side)
        bits = (masks[:, :, None] >> np.arange(self.side)) & 1 == 1  # (n, side, side)
        return Samples(np.where(bits, 1.0, -1.0).astype(np.float32), [np.argwhere(b) for b in bits])

    def _draw_k(self, n: int, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.k_range
        counts = self.counts
        weights = None if counts is None else np.array(counts[lo:hi + 1], float) / self.support_size
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
    """N_k for k = 0..k_max (Python ints): side x side images with k white pixels, none
    8-adjacent. None when side > MAX_COUNTED_SIDE (except k_max <= 1: N_1 = d)."""
    if side <= MAX_COUNTED_SIDE:
        return RowTransfer.build(side, k_max).counts
    return np.array([1, side * side][:k_max + 1], dtype=object) if k_max <= 1 else None


@dataclass(frozen=True, eq=False)
class RowTransfer:
    """The transfer matrix over rows of the module docstring, in Python ints."""

    rows: np.ndarray  # (S,) row states: bit masks with no two adjacent bits
    pop: list[int]  # per state: its dots |s|
    neighbours: list[list[int]]  # per state s: the states t ~ s
    ways: list[list[list[int]]]  # ways[r][s][j], j = 0..k_max
    _steps: dict = field(default_factory=dict, repr=False)  # see _step

    @classmethod
    def build(cls, side: int, k_max: int) -> RowTransfer:
        rows = np.array([m for m in range(1 << side) if m & (m >> 1) == 0])  # (S,)
        pop = np.array([m.bit_count() for m in rows.tolist()])
        a, b = rows[:, None], rows[None, :]
        compatible = ((a & b) | (a & (b << 1)) | (a & (b >> 1))) == 0  # (S, S), symmetric, sparse
        neighbours = [np.flatnonzero(c) for c in compatible]
        ways = [_add_row(np.ones((len(rows), 1), object), pop, k_max)]  # object: exact past 2^63
        for _ in range(side - 1):
            ways.append(_add_row(np.stack([ways[-1][t].sum(axis=0) for t in neighbours]), pop, k_max))
        return cls(rows, pop.tolist(), [t.tolist() for t in neighbours], [w.tolist() for w in ways])

    @property
    def counts(self) -> np.ndarray:
        """(k_max + 1,) object array of Python ints: N_k."""
        return np.array([sum(column) for column in zip(*self.ways[-1])], dtype=object)

    def sample(self, lo: int, hi: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, side) row-state indices of n independent uniform images with lo..hi dots."""
        firsts = [(s, k) for s in range(len(self.pop)) for k in range(lo, hi + 1)]
        first_cum = list(itertools.accumulate(self.ways[-1][s][k] for s, k in firsts))
        states = np.empty((n, len(self.ways)), np.int64)
        for i in range(n):
            s, j = firsts[draw_index(first_cum, rng)]
            states[i, -1] = s
            for r in range(len(self.ways) - 2, -1, -1):  # row r above row r + 1 = s
                j -= self.pop[s]
                options, cumulative = self._step(r, s, j)
                s = states[i, r] = options[draw_index(cumulative, rng)]
        return states

    def _step(self, r: int, below: int, j: int) -> tuple[list[int], list[int]]:
        """The states t ~ below that row r can take with j dots in rows 0..r, and their
        cumulative weights ways[r][t][j]; cached, since samples revisit the likely ones."""
        key = (r, below, j)
        if key not in self._steps:
            options = [t for t in self.neighbours[below] if self.ways[r][t][j]]
            self._steps[key] = options, list(itertools.accumulate(self.ways[r][t][j] for t in options))
        return self._steps[key]


def draw_index(cumulative: list[int], rng: np.random.Generator) -> int:
    """Index i drawn with probability (cumulative[i] - cumulative[i-1]) / cumulative[-1]."""
    return bisect.bisect_right(cumulative, randbelow(cumulative[-1], rng))


def randbelow(n: int, rng: np.random.Generator) -> int:
    """Uniform integer in [0, n) for any Python int n >= 1 (numpy's stop at 2^64): draw
    n.bit_length() random bits until they fall below n (fewer than 2 tries on average)."""
    bits = n.bit_length()
    words = -(-bits // 64)
    while True:
        u = 0
        for _ in range(words):  # the generator's raw 64-bit words: 5x faster than rng.integers
            u = (u << 64) | int(rng.bit_generator.random_raw())
        u >>= 64 * words - bits
        if u < n:
            return u


def _add_row(ways: np.ndarray, pop: np.ndarray, k_max: int) -> np.ndarray:
    """Shift each state's dot-count axis by the dots of its own row, truncated at k_max."""
    out = np.zeros((len(pop), k_max + 1), object)
    width = min(ways.shape[1], k_max + 1)
    for c in np.unique(pop[pop <= k_max]):
        sel = pop == c
        n = min(width, k_max + 1 - c)
        out[sel, c:c + n] = ways[sel, :n]
    return out
