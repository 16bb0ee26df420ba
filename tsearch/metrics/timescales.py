"""Timescales of metric curves over training (Bonnaire et al. 2025's tau_gen and tau_mem), on
metrics that separate generalization from memorization.

Records are dicts with ``step`` and metric names (metrics.jsonl lines). With batch size B and
n training images, one epoch is n / B steps: epochs(s) = s B / n.

    tau_gen = first scored step s with m_gen(s) >= fraction x max_s m_gen(s)
              (m_gen = g_shift by default: valid samples that are not copies up to translation,
              so memorized samples, which are valid, cannot make tau_gen)
    tau_mem = first scored step s with m_mem(s) > threshold       (m_mem = copy_shift by default)
Bonnaire et al.'s picture is tau_gen roughly constant in n and tau_mem growing with n: a window
[tau_gen, tau_mem] in which the model generalizes before it memorizes.
"""

from __future__ import annotations

from collections.abc import Sequence

GEN_METRIC, GEN_FRACTION = "g_shift", 0.9
MEM_METRIC, MEM_THRESHOLD = "copy_shift", 0.05


def curve(records: Sequence[dict], metric: str) -> list[tuple[int, float]]:
    """(step, value) sorted by step, records lacking the metric (or holding None / NaN) left out."""
    return sorted((r["step"], r[metric]) for r in records
                  if r.get(metric) is not None and r[metric] == r[metric])


def tau_gen(records: Sequence[dict], metric: str = GEN_METRIC,
            fraction: float = GEN_FRACTION) -> int | None:
    """First step reaching ``fraction`` of the curve's maximum; None when the maximum is 0."""
    points = curve(records, metric)
    peak = max((v for _, v in points), default=0.0)
    if peak <= 0:
        return None
    return next(s for s, v in points if v >= fraction * peak)


def tau_mem(records: Sequence[dict], metric: str = MEM_METRIC,
            threshold: float = MEM_THRESHOLD) -> int | None:
    """First step where the copy metric exceeds ``threshold``; None if it never does."""
    return next((s for s, v in curve(records, metric) if v > threshold), None)


def epochs(step: int | None, *, batch_size: int, n_train: int) -> float | None:
    """Training steps as passes over the training set: step x batch_size / n_train."""
    return None if step is None else step * batch_size / n_train


def timescales(records: Sequence[dict], *, batch_size: int, n_train: int,
               gen_metric: str = GEN_METRIC, mem_metric: str = MEM_METRIC) -> dict:
    """tau_gen and tau_mem in steps and epochs, with the metrics and rules that define them."""
    gen, mem = tau_gen(records, gen_metric), tau_mem(records, mem_metric)
    return {"tau_gen": gen, "tau_mem": mem,
            "tau_gen_epochs": epochs(gen, batch_size=batch_size, n_train=n_train),
            "tau_mem_epochs": epochs(mem, batch_size=batch_size, n_train=n_train),
            "definitions": {
                "tau_gen": f"first scored step where {gen_metric} >= {GEN_FRACTION} x its maximum",
                "tau_mem": f"first scored step where {mem_metric} > {MEM_THRESHOLD}",
                "epochs": "steps x batch_size / n_train"}}
