"""Scores of M samples against the training set and the target.

Per sample i (binarized s_i = sign(x_i)):
    valid_i       s_i in the target's support
    copy_i        s_i equals a training image
    copy_ratio_i  nearest / second-nearest training-image L2 ratio of the raw x_i < 1/3
    novel_i       valid_i and not copy_i
Fractions: valid, copy, copy_ratio, novel, g = novel, g_rel = g / novel_mass (novel_mass =
the g of samples drawn from the target itself, see Target.novel_mass). Counts of distinct
images: distinct_novel = |{distinct novel s_i}| / M, and for finite supports
coverage_unseen = |{distinct novel s_i}| / (support_size - |{distinct valid training images}|).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .bootstrap import bootstrap_intervals
from .copies import min_hamming, nearest_ratio

FRACTIONS = ("valid", "copy", "copy_ratio", "novel", "g", "g_rel")


@dataclass
class MetricsReport:
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def compute_metrics(samples: torch.Tensor, train_images: torch.Tensor, target, *, config,
                    novel_mass: float, rng: np.random.Generator, validity=None) -> MetricsReport:
    """Score raw samples (M, H, W) against training images (n, H, W) in ±1.

    ``validity`` (a Validity of the binarized samples) skips ``target.is_valid`` when the
    caller computed it already. ``copy_ratio`` is NaN when the training set holds fewer than
    two distinct images (the ratio rule needs a second-nearest image).
    """
    x = torch.as_tensor(samples).flatten(1).float()  # (M, d)
    y = torch.as_tensor(train_images).flatten(1).to(x)  # (n, d)
    s = torch.where(x > 0, 1.0, -1.0)  # (M, d)
    s_np = s.reshape(samples.shape).cpu().numpy()
    if validity is None:
        validity = target.is_valid(s_np)
    per_sample = _indicators(x, s, y, validity.valid, config.copy_ratio, novel_mass)
    metrics = {name: float(np.mean(v)) for name, v in per_sample.items()}
    metrics.update(_distinct_counts(s, per_sample["novel"], train_images, target))
    intervals = bootstrap_intervals(per_sample, n_resamples=config.n_bootstrap,
                                    confidence=config.confidence, rng=rng)
    reasons = Counter(str(r) for r in validity.reason if r != "ok")
    return MetricsReport(metrics, intervals, {**target.describe(s_np), "invalid_reasons": dict(reasons)})


def _indicators(x, s, y, valid, ratio: float, novel_mass: float) -> dict[str, np.ndarray]:
    """(M,) float per-sample values of every fraction in FRACTIONS (NaN: undefined)."""
    valid = np.asarray(valid, dtype=bool)
    copy = (min_hamming(s, y) == 0).cpu().numpy()
    near = nearest_ratio(x, torch.unique(y, dim=0)).cpu().numpy()  # (M,), NaN if n_distinct < 2
    copy_ratio = np.where(np.isnan(near), np.nan, near < ratio)
    novel = (valid & ~copy).astype(np.float64)
    g_rel = novel / novel_mass if novel_mass > 0 else np.full(len(novel), np.nan)
    return {"valid": valid.astype(np.float64), "copy": copy.astype(np.float64),
            "copy_ratio": copy_ratio, "novel": novel, "g": novel, "g_rel": g_rel}


def _distinct_counts(s, novel: np.ndarray, train_images, target) -> dict[str, float]:
    n_samples = len(s)
    n_distinct = len(torch.unique(s[torch.as_tensor(novel > 0, device=s.device)], dim=0))
    out = {"distinct_novel": n_distinct / n_samples}
    size = target.support_size
    if size is not None:
        train = np.asarray(torch.as_tensor(train_images).cpu())
        train_valid = train[target.is_valid(train).valid].reshape(-1, train.shape[-2] * train.shape[-1])
        unseen = size - len(np.unique(train_valid, axis=0))
        out["coverage_unseen"] = n_distinct / unseen if unseen > 0 else float("nan")
    return out
