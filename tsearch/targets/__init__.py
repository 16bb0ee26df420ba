"""Targets: distributions of binary images with an exact support test.

    build_target(cfg: TargetConfig) -> Target      # kinds: dots, linear_code, bernoulli, polygons

Kinds and their classes are registered in ``tsearch.config.TARGETS`` (tsearch.registry); each
kind's module is imported on first use, so that building a ``dots`` target never loads shapely
(polygons) and configs fail before any heavy import.
"""

from __future__ import annotations

from ..config import TARGETS
from .base import Samples, Target, Validity, binarize, image_bits, image_keys

# Support sizes above this are reported as None: they would overflow a float downstream.
MAX_SUPPORT_SIZE = 2**1000


def build_target(cfg) -> Target:
    """The target a ``[target]`` config table describes (its fields are the constructor's)."""
    return TARGETS.build(cfg)


def countable(size: int) -> int | None:
    """``size`` if a float can hold it (see MAX_SUPPORT_SIZE), else None."""
    return size if size <= MAX_SUPPORT_SIZE else None


def uniform_novel_mass(target: Target, train_images, size: int) -> float:
    """Exact novel mass of a target uniform over a support of ``size`` images:
    1 - |distinct valid training images| / size (Python ints: exact even for 2^4096)."""
    valid = target.is_valid(train_images).valid
    seen = {key for key, ok in zip(image_keys(train_images), valid) if ok}
    return 1.0 - len(seen) / size


__all__ = ["Samples", "Target", "Validity", "binarize", "build_target", "countable",
           "image_bits", "image_keys", "uniform_novel_mass"]
