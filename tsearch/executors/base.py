"""The executor seam: evaluate tasks in deterministic chunks, yield results in completion order.

An executor never decides what a result is: ``evaluate_fn(chunk, engine)`` does (by default
:func:`tsearch.engine.evaluate`). Executors only decide *where* a chunk runs, so the same
tasks give the same results whichever executor, actor or node ran them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from ..config import EngineConfig

if TYPE_CHECKING:  # importing the engine loads torch: the evaluating process does it
    from ..engine.tasks import EvalResult, EvalTask

Chunk = tuple["EvalTask", ...]
EvaluateFn = Callable[[Sequence["EvalTask"], EngineConfig], list["EvalResult"]]


def engine_evaluate(tasks: Sequence[EvalTask], engine: EngineConfig) -> list[EvalResult]:
    """The default ``evaluate_fn``; a module-level function so Ray pickles it by reference."""
    from ..engine import evaluate  # torch loads in the process that evaluates, not before
    return evaluate(tasks, engine)


def chunked(tasks: Sequence[EvalTask], size: int) -> list[Chunk]:
    """Consecutive chunks of ``size`` tasks (the last may be shorter): same tasks, same chunks."""
    return [tuple(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def failed(chunk: Chunk, reason: str) -> list[EvalResult]:
    """A failed result per task of ``chunk``: the search records it and goes on."""
    from ..engine.tasks import EvalResult
    return [EvalResult(task_id=task.task_id, ok=False, error=reason) for task in chunk]


def matched(chunk: Chunk, results: Sequence[EvalResult]) -> list[EvalResult]:
    """``results`` checked to answer each task of ``chunk`` exactly once (a bug otherwise)."""
    expected = sorted(task.task_id for task in chunk)
    got = sorted(result.task_id for result in results)
    if got != expected:
        raise RuntimeError(f"evaluate_fn answered task ids {got}, expected {expected}")
    return list(results)


class Executor:
    """``map(tasks)`` yields one :class:`EvalResult` per task, in completion order."""

    def map(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
