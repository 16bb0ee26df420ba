"""The loop every driver shares: tasks -> executor.map -> record each result as it finishes.

    run     one task              ┐
    sweep   the grid's tasks      ├─► executor.map(tasks) ─► on_result(result) ─► RunFolder
    evolve  a strategy's ask      ┘       (local | ray)        (evolve: then strategy.tell)

Every driver goes through an executor, so one config chunks the same way wherever it runs
(tsearch.executors.base.chunked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .. import configs
from ..config import Config, load_config, replace_path
from ..executors import Executor, build_executor
from ..store.records import warn
from ..tasks import EvalResult, EvalTask
from .progress import progress


def command_config(source: str | Path | Config | None, overrides: Sequence[str] = (), *,
                   default: str | None = None, executor_kind: str | None = None,
                   address: str | None = None) -> Config:
    """The one config entry of every command: ``source`` is a Config (taken as it is), or CONFIG
    (a TOML file or a packaged config's name; None: the command's packaged ``default``, or the
    schema's defaults) with ``--set`` overrides applied by the one loader; then where it runs
    (``--executor``, ``--address``). Every error is a one-line UserError, before any work."""
    if not isinstance(source, Config):
        path = configs.resolve(source) if source is not None else configs.path(default) if default else None
        source = load_config(path, overrides)
    return with_executor(source, executor_kind, address)


def with_executor(config: Config, kind: str | None, address: str | None) -> Config:
    """A new run's config: ``--executor`` / ``--address`` (an address alone means Ray), and
    ``engine.bf16 = auto`` pinned to this machine (tsearch.engine.device.pinned_bf16), so the
    run's record says which precision it runs in and a resume keeps it."""
    return _where(pinned_precision(config), kind, address)


def _where(config: Config, kind: str | None, address: str | None) -> Config:
    if address is not None:
        config = replace_path(config, "executor.address", address)
        kind = kind or "ray"
    return replace_path(config, "executor.kind", kind) if kind else config


def pinned_precision(config: Config) -> Config:
    """``engine.bf16 = auto`` replaced by this machine's value (new runs only). A resume never
    pins: its checkpoints are tied to the config as recorded (a folder made before pinning
    keeps ``auto``, which the engine then resolves on the machine it runs on)."""
    if config.engine.bf16 != "auto":
        return config
    from ..engine.device import pinned_bf16  # loads torch
    return replace_path(config, "engine.bf16", pinned_bf16("auto"))


def resume_executor(config: Config, kind: str | None, address: str | None) -> Config:
    """Where a resumed run evaluates: the command line's ``--executor``/``--address``, else
    the local executor. The folder's stored kind and address are never used, so a folder
    cannot point the driver at a cluster (docs/cluster.md); the change is stated."""
    stored = config.executor
    config = replace_path(replace_path(config, "executor.address", ""), "executor.kind", "local")
    if kind is None and address is None and stored.kind != "local":
        where = f" at {stored.address}" if stored.address else ""
        warn(f"the run used executor {stored.kind!r}{where}; this resume runs locally "
             "(give --executor/--address to choose)")
    return _where(config, kind, address)


def open_executor(config: Config) -> Executor:
    """The config's executor; a missing device or an unreachable cluster stops here, before
    any folder exists."""
    from ..engine.device import resolve_device  # loads torch: only once the config is known good

    resolve_device(config.engine.device)
    return build_executor(config.executor, config.engine)


def results(executor: Executor, tasks: Sequence[EvalTask],
            advance: Callable[[int], None]) -> Iterator[EvalResult]:
    """Results in completion order; ``advance(k)``: k more training steps done (as they run
    where the executor reports them, else when a task finishes)."""
    if not tasks:
        return
    if executor.reports_progress:
        yield from executor.map(tasks, progress=advance)
        return
    units = {t.task_id: t.work_units for t in tasks}
    for result in executor.map(tasks):
        advance(units[result.task_id])
        yield result


def drive(executor: Executor, tasks: Sequence[EvalTask], on_result: Callable[[EvalResult], object],
          *, desc: str, show_progress: bool | str = True) -> None:
    """Evaluate ``tasks`` and hand each result to ``on_result`` as soon as it finishes
    (``show_progress``: tsearch.runs.progress.progress_mode)."""
    total = sum(t.work_units for t in tasks)
    with progress(total, len(tasks), desc, show_progress=show_progress) as shown:
        for result in results(executor, tasks, shown.advance):
            on_result(result)
            shown.finished(result.task_id, result.ok)
