"""Percentile bootstrap of sample fractions (Efron & Tibshirani 1993, ch. 13).

A fraction is the mean of a per-sample value v_i over M samples. A bootstrap resample draws
M samples with replacement; all it changes is how often each distinct row of values
(v_i over all fractions: a handful of 0/1 patterns) is drawn, so we draw those counts
directly: c ~ Multinomial(M, frequencies of the distinct rows), an exact shortcut that costs
O(B x patterns) instead of O(B x M). Resamples are shared across fractions (g and g_rel move
together). The interval is the ((1 - confidence)/2, (1 + confidence)/2) quantiles of the B
resampled means.
"""

from __future__ import annotations

import numpy as np


def bootstrap_intervals(values: dict[str, np.ndarray], *, n_resamples: int, confidence: float,
                        rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """{name: (M,) per-sample values} -> {name: (lo, hi)}; {} when n_resamples == 0.
    A column holding NaN (a metric undefined for this set) gets (nan, nan)."""
    if n_resamples == 0 or not values:
        return {}
    rows = np.stack([np.asarray(v, dtype=np.float64) for v in values.values()], axis=1)  # (M, k)
    # NaN never equals itself: compare rows with NaN replaced, keep the rows themselves
    _, first, freq = np.unique(np.nan_to_num(rows, nan=np.inf), axis=0, return_index=True,
                               return_counts=True)
    counts = rng.multinomial(len(rows), freq / len(rows), size=n_resamples)  # (B, patterns)
    means = counts @ rows[first] / len(rows)  # (B, k)
    tail = (1.0 - confidence) / 2
    lo, hi = np.quantile(means, [tail, 1.0 - tail], axis=0)  # (k,) each
    return {name: (float(a), float(b)) for name, a, b in zip(values, lo, hi)}


def bootstrap_quantiles(values: np.ndarray, quantiles: dict[str, float], *, n_resamples: int,
                        confidence: float, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap of quantiles of ``values`` (N,): {name: (lo, hi)} for each
    {name: q}; (nan, nan) when there are no values, {} when n_resamples == 0."""
    if n_resamples == 0:
        return {}
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return {name: (float("nan"), float("nan")) for name in quantiles}
    resampled = values[rng.integers(0, len(values), (n_resamples, len(values)))]  # (B, N)
    per = np.quantile(resampled, list(quantiles.values()), axis=1)  # (Q, B)
    tail = (1.0 - confidence) / 2
    lo, hi = np.quantile(per, [tail, 1.0 - tail], axis=1)  # (Q,) each
    return {name: (float(a), float(b)) for name, a, b in zip(quantiles, lo, hi)}
