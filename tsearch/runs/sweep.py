"""Driver of ``tsearch sweep``: a Cartesian grid of configs (tsearch.runs.grid), streamed to
evaluations.jsonl through the shared loop (tsearch.runs.pipeline).

Every grid point is one training set (``run.n`` images drawn with ``run.seed``) and one
evaluation. Run folder (besides run.json / config.json):

    evaluations.jsonl   one line per finished evaluation (appended as soon as it finishes):
                        task_id, index, overrides, seed, n_train, per-scored-step metrics
                        (field "checkpoints"), timings
    errors.jsonl        evaluations that failed (retried by --resume)
    samples/pNNNNN_{best,last}.{npz,png}, samples/pNNNNN_train.npz
    samples/pNNNNN_steps.npz   every scored step's samples, packed bits (tsearch score DIR)
    analysis.json       n*(d), fits, timescales (tsearch.runs.views.analysis), for scripts
    report.html / .md   the sweep's report (tsearch.runs.views.sweep)

``--resume DIR`` evaluates only the grid points whose task_id is not in evaluations.jsonl.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import Config, smoke_config
from ..tasks import EvalResult, EvalTask
from . import lock
from .folder import RunFolder
from .grid import GridPoint, expand_grid
from .pipeline import drive, open_executor, resume_executor, with_executor
from .plan import dry_run_text, plan_sweep
from .views.analysis import analyse, analysis_summary, group_by
from .views.report import write_report
from .views.sweep import load_evaluations

__all__ = ["run_sweep", "dry_run", "expand_grid", "load_evaluations", "write_analysis"]


@lock.releasing
def run_sweep(config: Config | None, *, source: str = "<config>", out: str | Path | None = None,
              resume: str | Path | None = None, smoke: bool = False, show_progress: bool | str = True,
              executor_kind: str | None = None, address: str | None = None, repair: bool = False) -> Path:
    """Evaluate every grid point not yet in evaluations.jsonl, then write analysis.json and
    the report. ``config`` may be None with ``resume``: the folder's config rules."""
    folder = None
    if resume is not None:
        folder, config = resumed(resume, config, repair=repair)
        source = str(folder.path / "config.json")
        config = resume_executor(config, executor_kind, address)
    else:
        config = smoke_config(config, source=source) if smoke else config
        config = with_executor(config, executor_kind, address)
    points = expand_grid(config, source=source)  # validates everything before any folder exists
    with open_executor(config) as executor:
        if folder is None:
            folder = RunFolder.create("sweep", config.run.name or Path(source).stem, config, out,
                                      smoke=smoke, n_points=len(points))
        done = {r.get("task_id") for r in folder.records("evaluations.jsonl")}
        todo = {p.task_id: p for p in points if p.task_id not in done}
        drive(executor, [task_of(p) for p in todo.values()],
              lambda result: record(folder, todo[result.task_id], result),
              desc="sweep", show_progress=show_progress)
    write_analysis(folder.path)
    write_report(folder.path)
    return folder.path


def dry_run(config: Config, *, source: str = "<config>", smoke: bool = False,
            executor_kind: str | None = None, address: str | None = None) -> str:
    """``tsearch sweep --dry-run``: the resolved config (smoke applied) and its plan; every grid
    point is validated, nothing is written."""
    if smoke:
        config = smoke_config(config, source=source)
    config = with_executor(config, executor_kind, address)
    return dry_run_text("sweep", config, plan_sweep(config, source))


def resumed(resume: str | Path, given: Config | None, *, repair: bool = False) -> tuple[RunFolder, Config]:
    """The sweep folder to resume and its config; a given CONFIG must agree with it."""
    folder = RunFolder.resume(resume, "sweep", repair=repair)
    if given is not None:
        folder.check_resumable(smoke_config(given) if folder.meta.get("smoke") else given)
    return folder, folder.config


def task_of(point: GridPoint) -> EvalTask:
    c = point.config
    return EvalTask.from_config(c, task_id=point.task_id, seed=c.run.seed, n_train=c.run.n,
                                keep_samples=True)


def record(folder: RunFolder, point: GridPoint, result: EvalResult) -> None:
    """The samples of the best (by g) and last scored steps, the training set, the line."""
    c = point.config
    header = {"task_id": point.task_id, "index": point.index, "overrides": point.overrides,
              "seed": c.run.seed, "n_train": c.run.n, "target_kind": c.target.kind,
              "d": c.target.side ** 2, "model_kind": c.model.kind}
    last = result.scored[-1] if result.scored else None
    stem = f"samples/p{point.index:05d}"
    if not folder.record(header, result, train=f"{stem}_train",
                         samples={f"{stem}_best": result.best("g") or last, f"{stem}_last": last},
                         all_steps=(f"{stem}_steps", c.run.seed)):
        print(f"tsearch: evaluation {point.task_id!r} failed: {result.error}", file=sys.stderr)


def write_analysis(run_dir: str | Path) -> None:
    """analysis.json, the sweep's data product (the report shows the same numbers)."""
    folder = RunFolder.open(run_dir, "sweep")
    records = load_evaluations(folder)
    if records:
        a = analyse(records, folder.config)
        folder.write_json("analysis.json", analysis_summary(a, group_by(records, a.group_axes)))
