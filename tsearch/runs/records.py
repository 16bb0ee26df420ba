"""The JSON form of engine results, shared by metrics.jsonl (run) and evaluations.jsonl (sweep)."""

from __future__ import annotations

from ..engine.tasks import CheckpointResult, EvalResult


def checkpoint_record(cp: CheckpointResult) -> dict:
    """One checkpoint: ``step``, every metric at top level, its interval, the loss, extras."""
    return {"step": cp.step, **cp.metrics, "intervals": cp.intervals, "loss": cp.loss,
            "extra": cp.extra}


def result_record(result: EvalResult) -> dict:
    """An evaluation without its samples (those go to files) and without wall-clock noise
    mixed into the metrics: timings sit in their own field."""
    return {"task_id": result.task_id, "ok": result.ok, "error": result.error,
            "checkpoints": [checkpoint_record(c) for c in result.checkpoints],
            "n_params": result.n_params, "timings": result.timings,
            "peak_memory_mb": result.peak_memory_mb, "device": result.device, "form": result.form,
            "chunk_size": result.chunk_size}


def pick_checkpoints(result: EvalResult, metric: str = "g") -> dict[str, CheckpointResult]:
    """The checkpoints whose samples are kept: ``best`` (by ``metric``) and ``last``."""
    if not result.checkpoints:
        return {}
    return {"best": result.best(metric) or result.checkpoints[-1], "last": result.checkpoints[-1]}
