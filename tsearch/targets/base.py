"""The Target seam: a distribution of binary images with an exact (or stated) support test.

Images are float arrays of shape (n, side, side) with pixel levels -1 (black) and +1 (white);
d = side**2. Anything else (model samples) is binarized at 0 before it is judged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserError
from .descriptors import SHAPE, shape_descriptors


@dataclass
class Samples:
    images: np.ndarray  # (n, H, W) float32 in {-1, +1}
    params: list[Any]  # per image: the parameters it was rendered from (positions, u, vertices)


@dataclass
class Validity:
    valid: np.ndarray  # (n,) bool
    reason: np.ndarray  # (n,) str: "ok" or a short code such as "empty", "hole", "not_in_code"


def binarize(images) -> np.ndarray:
    """(n, H, W) array-like -> float32 in {-1, +1}, thresholded at 0."""
    x = np.asarray(images)
    return np.where(x > 0, 1.0, -1.0).astype(np.float32)


def image_bits(images, shape: tuple[int, int]) -> np.ndarray:
    """(n, H, W) images (any real array, e.g. raw samples) -> bool whites, binarized at 0."""
    x = np.asarray(images)
    if x.ndim != 3 or x.shape[1:] != tuple(shape):
        raise UserError(f"images of shape {x.shape}; expected (n, {shape[0]}, {shape[1]})")
    return x > 0


def image_keys(images) -> list[bytes]:
    """A canonical hashable key per image: the packed bits of its binarization."""
    bits = np.asarray(images) > 0
    return [np.packbits(b.reshape(-1)).tobytes() for b in bits]


class Target(ABC):
    """A distribution over binary images of shape ``(side, side)``."""

    side: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.side, self.side)

    @property
    def d(self) -> int:
        return self.side * self.side

    @property
    def support_size(self) -> int | None:
        """Number of images in the support, where known (None: unknown or astronomically large)."""
        return None

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> Samples: ...

    @abstractmethod
    def is_valid(self, images) -> Validity:
        """Per-image membership in the support; ``images`` are binarized at 0 first."""

    def sample_distinct(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, H, W) distinct support images: target samples in order of drawing, repeats
        skipped. Drawing without replacement: of a uniform target, a uniform n-subset of the
        support (every order of draws is equally likely)."""
        size = self.support_size
        if size is None:
            raise UserError(f"run.distinct: {type(self).__name__} has no finite support to draw "
                            "distinct images from")
        if n > size:
            raise UserError(f"run.distinct: {n} distinct images asked of a support of {size}")
        chosen: dict[bytes, np.ndarray] = {}
        while len(chosen) < n:  # a coupon collector: about size ln size draws at n = size
            batch = self.sample(max(64, n), rng).images
            for key, image in zip(image_keys(batch), batch):
                chosen.setdefault(key, image)
                if len(chosen) == n:
                    break
        return np.stack(list(chosen.values()))

    def sample_params(self, n: int, rng: np.random.Generator) -> list[Any]:
        return self.sample(n, rng).params

    def render(self, params: list[Any]) -> np.ndarray:
        """Images of the given parameters (the genome of experiment 3 is such a list)."""
        raise NotImplementedError(f"{type(self).__name__} cannot render parameters")

    def enumerate_support(self) -> np.ndarray | None:
        """All support images (uniform target), where that is small enough; else None."""
        return None

    def novel_mass(self, train_images, rng: np.random.Generator, n_reference: int = 4096) -> float:
        """Probability that a fresh target sample is not in the training set: the ``g`` a
        perfect generator would score, the denominator of ``g_rel``. Monte Carlo by default."""
        train = set(image_keys(train_images))
        fresh = self.sample(n_reference, rng).images
        return float(np.mean([k not in train for k in image_keys(fresh)]))

    def describe(self, images) -> dict[str, Any]:
        """Target-specific statistics of a set of samples (e.g. dot-count histogram)."""
        return {}

    def descriptors(self, images) -> tuple[tuple[str, ...], np.ndarray]:
        """Names and values (n, D) of per-image descriptors in which samples are compared with
        the target (precision / recall): by default area, centroid, perimeter and second
        moments of the white pixels (targets/descriptors.py)."""
        return SHAPE, shape_descriptors(image_bits(images, self.shape))
