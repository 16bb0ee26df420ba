"""Executors: where chunks of evaluation tasks run (``local``: this process; ``ray``: actors).

    executor = build_executor(cfg.executor, cfg.engine)
    with executor:
        for result in executor.map(tasks): ...   # completion order, matched by task_id
"""

from __future__ import annotations

from ..config import EXECUTORS, EngineConfig, ExecutorConfig
from .base import EvaluateFn, Executor, chunked, engine_evaluate

__all__ = ["Executor", "build_executor", "chunked", "engine_evaluate"]


def build_executor(cfg: ExecutorConfig, engine: EngineConfig, *,
                   evaluate_fn: EvaluateFn | None = None) -> Executor:
    """``evaluate_fn(chunk, engine) -> results`` defaults to :func:`tsearch.engine.evaluate`;
    for Ray and for local workers (``workers != 1``) it must be picklable (a module-level
    function or a picklable object)."""
    return EXECUTORS.build(cfg, engine=engine, evaluate_fn=evaluate_fn or engine_evaluate)
