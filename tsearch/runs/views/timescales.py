"""Timescales of a metric curve over training steps (Bonnaire et al. 2025's tau_gen, tau_mem).

    tau_gen = first checkpoint step s with valid(s) >= 0.9 * max_s valid(s)
    tau_mem = first checkpoint step s with copy(s) > 0.05
    best    = the scored step with the largest g (earliest on ties): tsearch.tasks.best_index

Records are dicts with ``step`` and the metric names (metrics.jsonl lines), one per scored step.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...tasks import best_record

GEN_FRACTION = 0.9
MEM_THRESHOLD = 0.05
DEFINITIONS = {
    "tau_gen": f"first checkpoint step where valid >= {GEN_FRACTION} x its maximum over checkpoints "
               "(null if valid is 0 throughout)",
    "tau_mem": f"first checkpoint step where copy > {MEM_THRESHOLD} (null if never)",
    "best": "checkpoint with the largest g (earliest on ties)",
}


def _curve(records: Sequence[dict], metric: str) -> list[tuple[int, float]]:
    return sorted((r["step"], r[metric]) for r in records if r.get(metric) is not None)


def tau_gen(records: Sequence[dict], fraction: float = GEN_FRACTION) -> int | None:
    curve = _curve(records, "valid")
    peak = max((v for _, v in curve), default=0.0)
    if peak <= 0:
        return None
    return next(s for s, v in curve if v >= fraction * peak)


def tau_mem(records: Sequence[dict], threshold: float = MEM_THRESHOLD) -> int | None:
    return next((s for s, v in _curve(records, "copy") if v > threshold), None)


def timescales(records: Sequence[dict]) -> dict:
    best = best_record(records)
    return {"tau_gen": tau_gen(records), "tau_mem": tau_mem(records),
            "best_step": best["step"] if best else None, "definitions": DEFINITIONS}
