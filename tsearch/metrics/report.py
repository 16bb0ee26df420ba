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

Up to translation (shifts.py; ``metrics.symmetries = "d4"`` adds the symmetries of the square):
    copy_shift_i  s_i equals a training image up to translation
    novel_shift_i = g_shift_i = valid_i and not copy_shift_i
    h_i           Hamming distance to the nearest translated training image / white area of s_i
    near_copy_i   valid_i and h_i <= metrics.near_copy_hamming;   g_far_i = valid_i and h_i > band
    hamming_q10, _q50, _q90   quantiles of h_i over the valid samples
    distinct_novel_shift      |{distinct novel_shift s_i up to translation}| / M
With a TargetReference (reference.py): chance_valid (chance.py), g_above_chance = g -
chance_valid and g_shift_above_chance = g_shift - chance_valid (per sample: novel_shift_i -
p(|s_i|); samples that pass by chance, specks or full canvases, do not raise it), precision
and recall of the valid samples (fidelity.py; W1 per descriptor in extra["w1"]). Intervals:
fractions over all M samples by bootstrap_intervals; precision over the valid samples, recall
over the reference points, quantiles by resampling the valid h_i.
Coverage of the target by the g_far samples, its chance level and ``learned`` = coverage -
coverage_chance, the default fitness (coverage.py); intervals over the reference points.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .bootstrap import bootstrap_intervals, bootstrap_quantiles
from .copies import min_hamming, nearest_ratio
from .coverage import learned
from .fidelity import descriptor_distances, precision_recall
from .reference import TargetReference
from .shifts import copy_shift, min_shift_hamming, shift_keys, symmetries

FRACTIONS = ("valid", "copy", "copy_ratio", "novel", "g", "g_rel")
SHIFT_FRACTIONS = ("copy_shift", "novel_shift", "g_shift", "near_copy", "g_far")
CHANCE_FRACTIONS = ("chance_valid", "g_above_chance", "g_shift_above_chance")
HAMMING_QUANTILES = {"hamming_q10": 0.1, "hamming_q50": 0.5, "hamming_q90": 0.9}
FIDELITY = ("precision", "recall")
COVERAGE = ("coverage", "coverage_chance", "learned")
NAN = float("nan")


@dataclass
class MetricsReport:
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def compute_metrics(samples: torch.Tensor, train_images: torch.Tensor, target, *, config,
                    novel_mass: float, rng: np.random.Generator, validity=None,
                    reference: TargetReference | None = None) -> MetricsReport:
    """Score raw samples (M, H, W) against training images (n, H, W) in ±1.

    ``validity`` (a Validity of the binarized samples) skips ``target.is_valid`` when the
    caller computed it already. ``copy_ratio`` is NaN when the training set holds fewer than
    two distinct images (the ratio rule needs a second-nearest image). Without ``reference``
    (or with a part of it off), the CHANCE_FRACTIONS, precision and recall are NaN.
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
    # the new metrics draw their resamples after the old ones: those stay as they were
    more = _beyond_exact(s_np > 0, np.asarray(torch.as_tensor(train_images).cpu()) > 0,
                         np.asarray(validity.valid, bool), per_sample["novel"], target, config,
                         reference, rng, device=x.device)
    metrics.update(more.metrics)
    intervals.update(more.intervals)
    reasons = Counter(str(r) for r in validity.reason if r != "ok")
    return MetricsReport(metrics, intervals, {**target.describe(s_np), "invalid_reasons": dict(reasons),
                                              **more.extra})


def _beyond_exact(white, train_white, valid, novel, target, config, reference, rng,
                  device) -> MetricsReport:
    """Copies up to translation, near-copy distances, chance level, precision and recall."""
    per_sample, h = _shift_indicators(white, train_white, valid, config, device)
    if reference is not None and reference.chance is not None:
        per_sample["chance_valid"] = reference.chance(white.sum(axis=(1, 2)))
        per_sample["g_above_chance"] = novel - per_sample["chance_valid"]
        # a function of columns already there: the bootstrap's draws (over distinct rows) and
        # so every other interval stay as they were
        per_sample["g_shift_above_chance"] = per_sample["novel_shift"] - per_sample["chance_valid"]
    out = MetricsReport({name: NAN for name in CHANCE_FRACTIONS + FIDELITY + COVERAGE})  # NaN: not computed
    out.metrics.update({k: float(np.mean(v)) for k, v in per_sample.items()})
    out.intervals.update(bootstrap_intervals(per_sample, n_resamples=config.n_bootstrap,
                                             confidence=config.confidence, rng=rng))
    keys = shift_keys(white[per_sample["novel_shift"] > 0], config.symmetries)
    out.metrics["distinct_novel_shift"] = len(set(keys)) / len(white)
    valid_h = h[valid]
    out.metrics.update({name: float(np.quantile(valid_h, q)) if len(valid_h) else NAN
                        for name, q in HAMMING_QUANTILES.items()})
    out.intervals.update(bootstrap_quantiles(valid_h, HAMMING_QUANTILES, n_resamples=config.n_bootstrap,
                                             confidence=config.confidence, rng=rng))
    if reference is not None and reference.descriptors is not None:
        _fidelity(out, white[valid], target, reference.descriptors, config, rng)
        _coverage(out, white, per_sample["g_far"] > 0, target, reference, config, rng)
    return out


def _coverage(out: MetricsReport, white, far, target, reference: TargetReference, config, rng) -> None:
    """coverage, coverage_chance and learned, with intervals over the reference points."""
    _, values = target.descriptors(np.where(white[far], 1.0, -1.0))
    per_point = learned(values, white.sum(axis=(1, 2)), reference.descriptors,
                        reference.coverage_chance, config.coverage_beta)
    out.metrics.update({name: float(np.mean(v)) for name, v in per_point.items()})
    out.intervals.update(bootstrap_intervals(per_point, n_resamples=config.n_bootstrap,
                                             confidence=config.confidence, rng=rng))


def _shift_indicators(white, train_white, valid, config, device) -> tuple[dict, np.ndarray]:
    """Per-sample SHIFT_FRACTIONS (float 0/1) and h, the normalized shift Hamming distance
    (NaN for invalid samples)."""
    group = config.symmetries
    shift_copy = copy_shift(white, train_white, group)
    h = np.where(valid & shift_copy, 0.0, np.nan)  # a copy up to translation is at distance 0
    others = valid & ~shift_copy
    h[others] = _normalized_hamming(white[others], symmetries(train_white, group), device)
    near = valid & (np.nan_to_num(h, nan=np.inf) <= config.near_copy_hamming)
    per_sample = {"copy_shift": shift_copy, "novel_shift": others, "g_shift": others,
                  "near_copy": near, "g_far": valid & ~near}
    return {k: v.astype(np.float64) for k, v in per_sample.items()}, h


def _normalized_hamming(white, train_white, device) -> np.ndarray:
    """(K,) shift Hamming distance / white area of each image, computed once per distinct
    image (a converged model draws the same images again)."""
    if len(white) == 0:
        return np.zeros(0)
    distinct, inverse = np.unique(white.reshape(len(white), -1), axis=0, return_inverse=True)
    images = torch.as_tensor(distinct.reshape(-1, *white.shape[1:]), dtype=torch.float32, device=device)
    train = torch.as_tensor(train_white, dtype=torch.float32, device=device)
    hamming = min_shift_hamming(images, train).cpu().numpy()  # (U,)
    return (hamming / np.maximum(distinct.sum(axis=1), 1))[inverse.reshape(-1)]


def _fidelity(out: MetricsReport, valid_white, target, ref, config, rng) -> None:
    """precision, recall (and intervals) of the valid samples; W1 per descriptor in extra."""
    _, values = target.descriptors(np.where(valid_white, 1.0, -1.0))
    inside_ref, inside_gen = precision_recall(values, ref)
    for name, v in (("precision", inside_ref), ("recall", inside_gen)):
        out.metrics[name] = float(np.mean(v)) if len(v) else float("nan")
        if len(v):
            out.intervals.update(bootstrap_intervals({name: v}, n_resamples=config.n_bootstrap,
                                                     confidence=config.confidence, rng=rng))
    out.extra["w1"] = descriptor_distances(values, ref) if len(values) else {}


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
