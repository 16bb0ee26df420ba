"""The default executor: chunks evaluated one after another in this process, on its device."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..config import EngineConfig
from ..tasks import EvalResult, EvalTask
from .base import EvaluateFn, Executor, Progress, chunked, engine_evaluate, matched


class LocalExecutor(Executor):
    def __init__(self, *, engine: EngineConfig, tasks_per_chunk: int = 4,
                 evaluate_fn: EvaluateFn = engine_evaluate):
        self.engine = engine
        self.tasks_per_chunk = tasks_per_chunk
        self.evaluate_fn = evaluate_fn
        # only the engine itself reports training steps as they run
        self.reports_progress = evaluate_fn is engine_evaluate

    def map(self, tasks: Sequence[EvalTask], progress: Progress | None = None) -> Iterator[EvalResult]:
        # An exception escaping evaluate_fn is a bug (the engine reports a task's own failure
        # as a result), so it propagates as a traceback.
        fine = {"progress": progress} if progress is not None and self.reports_progress else {}
        for chunk in chunked(tasks, self.tasks_per_chunk):
            yield from matched(chunk, self.evaluate_fn(chunk, self.engine, **fine))
