"""Executors: where chunks of evaluation tasks run (``local``: this process; ``ray``: actors).

    executor = build_executor(cfg.executor, cfg.engine)
    with executor:
        for result in executor.map(tasks): ...   # completion order, matched by task_id
"""

from __future__ import annotations

from ..config import EngineConfig, ExecutorConfig
from .base import EvaluateFn, Executor, chunked, engine_evaluate

__all__ = ["Executor", "build_executor", "chunked", "engine_evaluate"]


def build_executor(cfg: ExecutorConfig, engine: EngineConfig, *,
                   evaluate_fn: EvaluateFn | None = None) -> Executor:
    """``evaluate_fn(chunk, engine) -> results`` defaults to :func:`tsearch.engine.evaluate`;
    for Ray and for local workers (``workers != 1``) it must be picklable (a module-level
    function or a picklable object)."""
    evaluate_fn = evaluate_fn or engine_evaluate
    if cfg.kind == "local":
        from .local import LocalExecutor
        return LocalExecutor(engine=engine, tasks_per_chunk=cfg.tasks_per_chunk, workers=cfg.workers,
                             max_retries=cfg.max_retries, evaluate_fn=evaluate_fn)
    from .ray_executor import RayExecutor
    return RayExecutor(engine=engine, address=cfg.address, num_actors=cfg.num_actors,
                       num_gpus=cfg.num_gpus, num_cpus=cfg.num_cpus,
                       tasks_per_chunk=cfg.tasks_per_chunk, max_retries=cfg.max_retries,
                       start_timeout_s=cfg.start_timeout_s, evaluate_fn=evaluate_fn)
