"""Timescales of metric curves over training (Bonnaire et al. 2025's tau_gen and tau_mem), on
metrics that separate generalization from memorization (docs/metrics.md, "Timescales").

Records are dicts with ``step`` and metric names (metrics.jsonl lines), one per scored step.
With batch size B and n training images, one epoch is n / B steps: epochs(s) = s B / n.

    tau_gen       first scored step s with g_shift(s) >= 0.9 x max_s g_shift(s): valid samples
                  that are not copies up to translation, so memorized samples (valid too)
                  cannot make it
    tau_mem       first scored step s with copy_shift(s) > 0.05
    tau_gen_valid, tau_mem_copy   the former definitions, on valid and exact copy: tau_gen_valid
                  counts copies as generalization, so it can never fall below tau_mem
    best          the scored step with the largest g (earliest on ties): tsearch.tasks.best_index
Bonnaire et al.'s picture: tau_gen roughly constant in n, tau_mem growing with n, so a window
[tau_gen, tau_mem] in which the model generalizes before it memorizes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..tasks import best_record

GEN_METRIC, GEN_FRACTION = "g_shift", 0.9
MEM_METRIC, MEM_THRESHOLD = "copy_shift", 0.05
DEFINITIONS = {
    "tau_gen": f"first scored step where {GEN_METRIC} >= {GEN_FRACTION} x its maximum over scored "
               f"steps (null if {GEN_METRIC} is 0 throughout)",
    "tau_mem": f"first scored step where {MEM_METRIC} > {MEM_THRESHOLD} (null if never)",
    "tau_gen_valid": f"former tau_gen: first scored step where valid >= {GEN_FRACTION} x its maximum",
    "tau_mem_copy": f"former tau_mem: first scored step where copy (exact) > {MEM_THRESHOLD}",
    "epochs": "a step count times batch_size / n_train",
    "best": "scored step with the largest g (earliest on ties)",
}


def curve(records: Sequence[dict], metric: str) -> list[tuple[int, float]]:
    """(step, value) sorted by step; records lacking the metric (None, NaN) are left out."""
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


def epochs(step: float | None, *, batch_size: int, n_train: int) -> float | None:
    """Training steps as passes over the training set: step x batch_size / n_train."""
    return None if step is None else step * batch_size / n_train


def timescales(records: Sequence[dict], *, batch_size: int | None = None,
               n_train: int | None = None) -> dict:
    """tau_gen, tau_mem (steps; epochs given batch_size and n_train), the former definitions,
    the best step, and the definitions."""
    best = best_record(records)
    out = {"tau_gen": tau_gen(records), "tau_mem": tau_mem(records),
           "tau_gen_valid": tau_gen(records, "valid"), "tau_mem_copy": tau_mem(records, "copy"),
           "best_step": best["step"] if best else None, "definitions": DEFINITIONS}
    if batch_size and n_train:
        for key in ("tau_gen", "tau_mem"):
            out[f"{key}_epochs"] = epochs(out[key], batch_size=batch_size, n_train=n_train)
    return out
