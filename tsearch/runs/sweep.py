"""Driver of ``tsearch sweep``: a Cartesian grid of configs (tsearch.config.grid), streamed to
evaluations.jsonl through the shared loop (tsearch.runs.pipeline).

Every grid point is one training set (``run.n`` images drawn with ``run.seed``) and one
evaluation. Run folder (besides run.json / config.json):

    evaluations.jsonl   one line per finished evaluation (appended as soon as it finishes):
                        task_id, index, overrides, seed, n_train, per-scored-step metrics
                        (field "checkpoints"), timings
    errors.jsonl        evaluations that failed (retried by --resume)
    samples/pNNNNN_{best,last}.{npz,png}, samples/pNNNNN_train.npz
    samples/pNNNNN_steps.npz   every scored step's samples, packed bits (tsearch score DIR)
    analysis.json       n*(d), fits, timescales (tsearch.analysis.sweep), for scripts
    report.html / .md   the sweep's report (tsearch.report.sweep_sections)

``--resume DIR`` evaluates only the grid points whose task_id is not in evaluations.jsonl.

With ``sweep.search = "bisect"`` the grid without ``run.n`` names the searches (one per
target, d and seed) and n is found by tsearch.search.bisect: each round asks every unfinished
search for its next size, evaluates those probes in parallel, tells each its outcome. A probe
is an ordinary evaluation (same record, same task_id as the grid point it would be), so
``--resume`` replays the recorded probes and repeats none.
"""

from __future__ import annotations

import functools
import itertools
import json
import sys
from contextlib import ExitStack
from pathlib import Path

from ..analysis.sweep import analyse, analysis_summary, group_by, peak, verdict_lines
from ..config import Config, replace_path, smoke_config
from ..config.grid import N_KEY, GridPoint, expand_grid, metric_of, point_id
from ..report.render import write_report
from ..report.sweep_sections import load_evaluations
from ..search.bisect import NStarSearch
from ..store import layout
from ..store.folder import RunFolder, as_folder
from ..tasks import EvalResult, EvalTask
from .estimate import dry_run_text, estimate_sweep
from .pipeline import drive, open_executor, resume_executor, with_executor
from .supports import bisect_bases, n_max_of, support_of

__all__ = ["run_sweep", "dry_run", "expand_grid", "load_evaluations", "write_analysis"]


def run_sweep(config: Config | None, *, source: str = "<config>", out: str | Path | None = None,
              resume: str | Path | None = None, smoke: bool = False, show_progress: bool | str = True,
              executor_kind: str | None = None, address: str | None = None, repair: bool = False) -> Path:
    """Evaluate every grid point not yet in evaluations.jsonl, then write analysis.json and
    the report. ``config`` may be None with ``resume``: the folder's config rules."""
    with ExitStack() as held:  # the folder's lock, released when the sweep ends
        folder = None
        if resume is not None:
            folder = held.enter_context(RunFolder.resume(resume, "sweep", repair=repair))
            config = resumed_config(folder, config)
            source = str(folder.path / layout.CONFIG)
            config = resume_executor(config, executor_kind, address)
        else:
            config = smoke_config(config, source=source) if smoke else config
            config = with_executor(config, executor_kind, address)
        points = sweep_points(config, source)  # validates everything before any folder exists
        with open_executor(config) as executor:
            if folder is None:
                folder = held.enter_context(RunFolder.create(
                    "sweep", config.run.name or Path(source).stem, config, out, smoke=smoke, n_points=len(points)))
            if config.sweep.search == "bisect":
                bisect_sweep(executor, folder, config, points, show_progress)
            else:
                done = {r.get("task_id") for r in folder.records(layout.EVALUATIONS)}
                todo = {p.task_id: p for p in points if p.task_id not in done}
                drive(executor, [task_of(p) for p in todo.values()],
                      lambda result: record(folder, todo[result.task_id], result),
                      desc="sweep", show_progress=show_progress)
        write_analysis(folder)
        write_report(folder)
        return folder.path


def bisect_sweep(executor, folder: RunFolder, config: Config, bases: list[GridPoint],
                 show_progress: bool | str) -> None:
    """The loop of a bisection sweep: rounds of probes until every search is over."""
    searches = {b.task_id: (b, NStarSearch(n_max_of(b.config))) for b in bases}
    for r in folder.records(layout.EVALUATIONS):  # resume: replay what was measured
        key = point_id({k: v for k, v in r["overrides"].items() if k != N_KEY})
        if key in searches:
            searches[key][1].tell(r["n_train"], passed(r["checkpoints"], searches[key][0].config))
    stalled: set[str] = set()
    for round_ in itertools.count(1):
        probes = {p.task_id: (key, p) for key, (b, s) in searches.items() if key not in stalled
                  for p in [probe_point(b, s.next_probe(), config.sweep.n_max)] if p is not None}
        if not probes:
            return

        def told(result: EvalResult) -> None:
            key, point = probes[result.task_id]
            record(folder, point, result)
            if not result.ok:
                stalled.add(key)  # a failing evaluation would fail again: --resume retries it
                return
            checkpoints = [{"step": st.step, **st.metrics} for st in result.scored]
            searches[key][1].tell(point.config.run.n, passed(checkpoints, point.config))

        drive(executor, [task_of(p) for _, p in probes.values()], told,
              desc=f"bisect round {round_}", show_progress=show_progress)


def probe_point(base: GridPoint, n: int | None, n_max: int) -> GridPoint | None:
    """The grid point a probe at size n is: the base's overrides plus run.n, in the grid's
    sorted order, so that its task_id is the one a grid sweep would give it."""
    if n is None:
        return None
    overrides = dict(sorted({**base.overrides, N_KEY: n}.items()))
    return GridPoint(base.index * (n_max + 1) + n, point_id(overrides), overrides,
                     replace_path(base.config, N_KEY, n))


def passed(checkpoints: list[dict], config: Config) -> bool:
    """Some checkpoint's generalization metric reached the threshold."""
    return (peak({"checkpoints": checkpoints}, metric_of(config)) or 0.0) >= config.sweep.threshold


def dry_run(config: Config, *, source: str = "<config>", smoke: bool = False,
            executor_kind: str | None = None, address: str | None = None) -> str:
    """``tsearch sweep --dry-run``: the resolved config (smoke applied) and its plan; every grid
    point is validated, nothing is written."""
    if smoke:
        config = smoke_config(config, source=source)
    config = with_executor(config, executor_kind, address)
    return dry_run_text("sweep", config, estimate_sweep(config, source))


def sweep_points(config: Config, source: str) -> list[GridPoint]:
    """The grid's points; a bisection's searches (the grid without run.n)."""
    points = expand_grid(config, source=source)
    return bisect_bases(points, source=source) if config.sweep.search == "bisect" else points


def resumed_config(folder: RunFolder, given: Config | None) -> Config:
    """The resumed sweep's config; a given CONFIG must agree with it."""
    if given is not None:
        folder.check_resumable(smoke_config(given) if folder.meta.get("smoke") else given)
    return folder.config


def task_of(point: GridPoint) -> EvalTask:
    c = point.config
    return EvalTask.from_config(c, task_id=point.task_id, seed=c.run.seed, n_train=c.run.n,
                                keep_samples=True)


def record(folder: RunFolder, point: GridPoint, result: EvalResult) -> None:
    """The samples of the best (by g) and last scored steps, the training set, the line."""
    c = point.config
    header = {"task_id": point.task_id, "index": point.index, "overrides": point.overrides,
              "seed": c.run.seed, "n_train": c.run.n, "target_kind": c.target.kind,
              "d": c.target.side ** 2, "support_size": support_of(c), "model_kind": c.model.kind}
    last = result.scored[-1] if result.scored else None
    stem = functools.partial(layout.sweep_point, point.index)
    if not folder.record(header, result, train=stem("train"),
                         samples={stem("best"): result.best("g") or last, stem("last"): last},
                         all_steps=(stem("steps"), c.run.seed)):
        print(f"tsearch: evaluation {point.task_id!r} failed: {result.error}", file=sys.stderr)


def write_analysis(run: str | Path | RunFolder) -> None:
    """analysis.json, the sweep's data product (the report shows the same numbers)."""
    folder = as_folder(run, "sweep")
    records = load_evaluations(folder)
    if records:
        a = analyse(records, folder.config)
        folder.write_json(layout.ANALYSIS, analysis_summary(a, group_by(records, a.group_axes)))


def sweep_verdicts(run: str | Path | RunFolder) -> list[str]:
    """A bisection sweep's verdict lines (analysis.sweep.verdict_lines); none for a grid."""
    folder = as_folder(run, "sweep")
    path = folder.path / layout.ANALYSIS
    if folder.config.sweep.search != "bisect" or not path.exists():
        return []
    return verdict_lines(json.loads(path.read_text()))
