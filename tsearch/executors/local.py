"""The default executor: chunks evaluated one after another in this process, on its device."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..config import EngineConfig
from .base import EvaluateFn, Executor, chunked, engine_evaluate, matched

if TYPE_CHECKING:
    from ..engine.tasks import EvalResult, EvalTask


class LocalExecutor(Executor):
    def __init__(self, *, engine: EngineConfig, tasks_per_chunk: int = 4,
                 evaluate_fn: EvaluateFn = engine_evaluate):
        self.engine = engine
        self.tasks_per_chunk = tasks_per_chunk
        self.evaluate_fn = evaluate_fn

    def map(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        # An exception escaping evaluate_fn is a bug (the engine reports a task's own failure
        # as a result), so it propagates as a traceback.
        for chunk in chunked(tasks, self.tasks_per_chunk):
            yield from matched(chunk, self.evaluate_fn(chunk, self.engine))
