"""The executor seam: evaluate tasks in deterministic chunks, yield results in completion order.

An executor never decides what a result is: ``evaluate_fn(chunk, engine)`` does (by default
:func:`tsearch.engine.evaluate`). Executors only decide *where* a chunk runs, so the same
tasks give the same results whichever executor, actor or node ran them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence

from ..config import EngineConfig
from ..tasks import EvalResult, EvalTask

Chunk = tuple[EvalTask, ...]
EvaluateFn = Callable[[Sequence[EvalTask], EngineConfig], list[EvalResult]]
Progress = Callable[[int], None]


def engine_evaluate(tasks: Sequence[EvalTask], engine: EngineConfig,
                    progress: Progress | None = None) -> list[EvalResult]:
    """The default ``evaluate_fn``; a module-level function so Ray pickles it by reference."""
    from ..engine import evaluate  # torch loads in the process that evaluates, not before
    return evaluate(tasks, engine, progress=progress)


def chunked(tasks: Sequence[EvalTask], size: int) -> list[Chunk]:
    """The one chunking rule of every executor: tasks grouped by ``EvalTask.stack_key`` (first
    appearance order; the engine stacks within a chunk), each group cut into consecutive chunks of
    ``size`` (the last may be
    shorter). Same tasks, same chunks, whichever executor runs them."""
    groups: dict[str, list[EvalTask]] = {}
    for task in tasks:
        groups.setdefault(task.stack_key, []).append(task)
    return [tuple(group[i:i + size]) for group in groups.values() for i in range(0, len(group), size)]


def failed(chunk: Chunk, reason: str) -> list[EvalResult]:
    """A failed result per task of ``chunk``: the search records it and goes on."""
    return [EvalResult(task_id=task.task_id, ok=False, error=reason) for task in chunk]


def retry_or_fail(job, reason: str, queue: deque, *, max_retries: int, where: str) -> list[EvalResult]:
    """The one retry policy of every executor: a chunk whose worker died (``reason``; ``job``
    has ``chunk`` and ``failures``) goes back to the front of ``queue`` until it has died
    ``max_retries`` + 1 times; then each of its tasks is a failed result naming the last death."""
    job.failures.append(reason)
    if len(job.failures) <= max_retries:
        queue.appendleft(job)
        return []
    return failed(job.chunk, f"{where}: worker died {len(job.failures)} times "
                             f"(max_retries={max_retries}); last: {reason}")


def matched(chunk: Chunk, results: Sequence[EvalResult]) -> list[EvalResult]:
    """``results`` checked to answer each task of ``chunk`` exactly once (a bug otherwise)."""
    expected = sorted(task.task_id for task in chunk)
    got = sorted(result.task_id for result in results)
    if got != expected:
        raise RuntimeError(f"evaluate_fn answered task ids {got}, expected {expected}")
    return list(results)


class Executor:
    """``map(tasks)`` yields one :class:`EvalResult` per task, in completion order.

    ``reports_progress``: whether ``map(tasks, progress=...)`` reports training steps as they
    run (the local engine does); otherwise a caller counts a task's units when it finishes.
    """

    reports_progress = False

    def map(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        raise NotImplementedError

    def start(self) -> None:
        """Start the workers now instead of at the first ``map`` (optional)."""

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
