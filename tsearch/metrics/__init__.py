"""Metrics: validity, copies, novelty, coverage and their bootstrap intervals.

    compute_metrics(samples, train_images, target, *, config, novel_mass, rng, validity=None)
        -> MetricsReport(metrics, intervals, extra)
"""

from .bootstrap import bootstrap_intervals
from .copies import min_hamming, nearest_ratio
from .report import FRACTIONS, METRIC_NAMES, MetricsReport, compute_metrics
from .reference import TargetReference, build_reference

__all__ = ["FRACTIONS", "METRIC_NAMES", "TargetReference", "build_reference", "MetricsReport", "bootstrap_intervals", "compute_metrics", "min_hamming",
           "nearest_ratio"]
