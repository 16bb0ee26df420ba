"""Metrics: validity, copies (exact, up to translation, near), novelty, chance level, precision /
recall against the target, and their bootstrap intervals (docs/metrics.md).

    reference = build_reference(target, config)            # once per target: reference sample, blobs
    compute_metrics(samples, train_images, target, *, config, novel_mass, rng, validity=None,
                    reference=None) -> MetricsReport(metrics, intervals, extra)
"""

from .bootstrap import bootstrap_intervals, bootstrap_quantiles
from .copies import min_hamming, nearest_ratio
from .reference import TargetReference, build_reference
from .report import FRACTIONS, MetricsReport, compute_metrics

__all__ = ["FRACTIONS", "MetricsReport", "TargetReference", "bootstrap_intervals",
           "bootstrap_quantiles", "build_reference", "compute_metrics", "min_hamming", "nearest_ratio"]
