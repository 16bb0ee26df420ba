"""Bernoulli: iid pixels, white with probability p (the control of experiment 1).

Every image has positive probability, so "valid" is a typical set: an image is valid when its
white count w lies in the central 99% interval [lo, hi] of Binomial(d, p), with
P(w < lo) <= 0.005 and P(w > hi) <= 0.005. The support holds sum_{w=lo}^{hi} C(d, w) images,
not uniformly: an image with w whites has probability p^w (1 - p)^(d - w).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..config import BernoulliConfig as C  # the defaults, stated once
from . import MAX_SUPPORT_SIZE, countable, image_bits, image_keys
from .base import Samples, Target, Validity

TAIL = 0.005  # per side: a central 99% interval
EXACT_COMB_MAX_D = 4096


class BernoulliTarget(Target):
    def __init__(self, *, side: int = C.side, p: float = C.p):
        self.side = int(side)
        self.p = float(p)
        self.log_pmf = binomial_log_pmf(self.d, self.p)  # (d + 1,)
        self.count_range = central_interval(np.exp(self.log_pmf), TAIL)

    @functools.cached_property
    def support_size(self) -> int | None:
        lo, hi = self.count_range
        if log_comb(self.d, (lo + hi) // 2) > math.log(MAX_SUPPORT_SIZE):
            return None  # skip seconds of big-integer work for a count we would drop anyway
        return countable(sum(math.comb(self.d, w) for w in range(lo, hi + 1)))

    def sample(self, n: int, rng: np.random.Generator) -> Samples:
        params = list(rng.random((n, self.side, self.side)) < self.p)  # the pixels themselves
        return Samples(self.render(params), params)

    def render(self, params: list[Any]) -> np.ndarray:
        bits = np.asarray(params, dtype=bool).reshape(len(params), self.side, self.side)
        return np.where(bits, 1.0, -1.0).astype(np.float32)

    def is_valid(self, images) -> Validity:
        count = image_bits(images, self.shape).sum(axis=(1, 2))
        lo, hi = self.count_range
        valid = (lo <= count) & (count <= hi)
        return Validity(valid=valid, reason=np.where(valid, "ok", "count_out_of_range"))

    def novel_mass(self, train_images, rng: np.random.Generator, n_reference: int = 4096) -> float:
        """P(valid) - P(a sample is one of the distinct valid training images), exactly."""
        lo, hi = self.count_range
        p_valid = float(np.exp(self.log_pmf[lo:hi + 1]).sum())
        valid = self.is_valid(train_images).valid
        seen = {key: w for key, w, ok in zip(image_keys(train_images),
                                             image_bits(train_images, self.shape).sum(axis=(1, 2)),
                                             valid) if ok}
        return p_valid - sum(self.image_probability(w) for w in seen.values())

    def image_probability(self, w: int) -> float:
        """Probability of one given image with w white pixels: p^w (1 - p)^(d - w)."""
        return math.exp(w * math.log(self.p) + (self.d - w) * math.log1p(-self.p))

    def describe(self, images) -> dict[str, Any]:
        bits = image_bits(images, self.shape).astype(np.float64)  # (n, H, W)
        return {"white_fraction": float(bits.mean()) if bits.size else float("nan"),
                "p": self.p,
                "corr_horizontal": pearson(bits[:, :, :-1], bits[:, :, 1:]),
                "corr_vertical": pearson(bits[:, :-1, :], bits[:, 1:, :])}


def binomial_log_pmf(d: int, p: float) -> np.ndarray:
    """log P(w) for w = 0..d of Binomial(d, p)."""
    w = np.arange(d + 1)
    return np.array([log_comb(d, int(k)) for k in w]) + w * math.log(p) + (d - w) * math.log1p(-p)


def log_comb(d: int, k: int) -> float:
    """log C(d, k): from the exact integer math.comb up to EXACT_COMB_MAX_D, from lgamma above
    (where math.comb would cost seconds: O(d^2) big-integer work over all k)."""
    if d <= EXACT_COMB_MAX_D:
        return math.log(math.comb(d, k))
    return math.lgamma(d + 1) - math.lgamma(k + 1) - math.lgamma(d - k + 1)


def central_interval(pmf: np.ndarray, tail: float) -> tuple[int, int]:
    """Smallest [lo, hi] with P(w < lo) <= tail and P(w > hi) <= tail."""
    below = np.concatenate([[0.0], np.cumsum(pmf)[:-1]])  # P(w < k)
    above = np.concatenate([np.cumsum(pmf[::-1])[::-1][1:], [0.0]])  # P(w > k)
    return int(np.flatnonzero(below <= tail)[-1]), int(np.flatnonzero(above <= tail)[0])


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Correlation of paired pixel values (NaN when either is constant)."""
    x, y = x.reshape(-1), y.reshape(-1)
    if x.size == 0 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
