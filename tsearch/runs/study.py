"""``tsearch study RUN_DIR... --out DIR``: replicated searches pooled (tsearch.analysis.study).

Run R searches of one config with different ``run.seed`` (each a normal evolve folder, killed and
resumed as any), then pool them:

    for s in 0 1 2; do tsearch evolve --set run.seed=$s --out results/study/run$s; done
    tsearch study results/study/run0 results/study/run1 results/study/run2 --out results/study/pooled

The folders must be finished (pareto.json) and share their config but for ``run.seed``,
``run.name`` and the executor; the study folder gets study.json, study.png (the pooled curves)
and report.html / report.md. It only reads the runs.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.study import pool
from ..atomic import write_atomic
from ..errors import UserError
from ..report.render import render_html, render_markdown
from ..report.study_sections import study_plot, study_sections
from ..store import integrity, layout
from ..store.folder import RunFolder, new_run_dir
from ..store.provenance import first_difference
from ..store.records import dumps
from .evolve_state import complete

MAY_DIFFER = ("run.seed", "run.name", "executor", "engine")  # engine.bf16 aside: see mixed()


def study(run_dirs: list[str], out: str, *, allow_mixed: bool = False) -> Path:
    """Pool the runs into ``out`` (created; must not exist or be empty); returns it. Runs that
    are not comparable (:func:`mixed`) are refused, or with ``allow_mixed`` pooled and said so."""
    folders = [open_finished(d) for d in run_dirs]
    if len(folders) < 2:
        raise UserError("tsearch study: give at least 2 finished evolve folders (replicates)")
    check_replicates(folders)
    problems = mixed(folders, [f.read_json(layout.PARETO) for f in folders])
    if problems and not allow_mixed:  # refused before the study folder exists
        raise UserError(f"tsearch study: not comparable: {problems[0]}"
                        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                        + "; --allow-mixed pools them anyway, recorded in the study")
    path, held = new_run_dir("study", "study", out)
    try:
        return write_study(path, folders, problems)
    finally:
        held.release()


def write_study(path: Path, folders: list[RunFolder], problems: list[str] = ()) -> Path:
    """The pool of finished replicates into the folder ``path`` (also tsearch.runs.replicates');
    ``problems``: what --allow-mixed let through, recorded."""
    summaries = [f.read_json(layout.PARETO) for f in folders]
    search = folders[0].config.search
    result = pool(summaries, search.size_grid, threshold=search.threshold, alpha=search.alpha)
    result["runs_dirs"] = [str(f.path) for f in folders]
    result["seeds"] = [f.config.run.seed for f in folders]
    result["mixed"] = list(problems)  # [] when every run compares
    write_atomic(path / layout.STUDY, dumps(result))
    study_plot(path / layout.STUDY_PLOT, result, search.fitness_metric)
    sections = study_sections(result, search.fitness_metric)
    title = f"tsearch study: {len(folders)} replicated searches"
    write_atomic(path / layout.REPORT_MD, render_markdown(title, sections))
    write_atomic(path / layout.REPORT_HTML, render_html(title, sections, path))
    return path


def open_finished(run_dir: str) -> RunFolder:
    folder = RunFolder.open(run_dir, "evolve")
    outputs = integrity.read_outputs(folder.path)
    if not (folder.path / layout.PARETO).is_file() or (outputs is not None and not complete(folder)):
        raise UserError(f"{folder.path}: not finished (its outputs do not cover its config and record); "
                        f"finish it with: tsearch evolve --resume {folder.path}")
    return folder


def mixed(folders: list[RunFolder], summaries: list[dict]) -> list[str]:
    """What makes runs not comparable though their configs agree: arms of unequal budgets
    within a run (an extended search whose control was not topped up), different arithmetic
    (engine.bf16), different code (git commit: it may change numbers)."""
    problems = []
    for folder, summary in zip(folders, summaries):
        budget = summary.get("budget") or {}
        if budget and round(budget.get("search", 0)) != round(budget.get("control", 0)):
            problems.append(f"{folder.path}: budget: the search trained {budget.get('search')} models, "
                            f"the control {budget.get('control')}")
    first = folders[0]
    for other in folders[1:]:
        for key, a, b in (("engine.bf16", first.config.engine.bf16, other.config.engine.bf16),
                          ("git_commit", first.meta.get("git_commit"), other.meta.get("git_commit"))):
            if a != b:
                problems.append(f"{other.path}: {key}: {b} (in {first.path}: {a})")
    return problems


def check_replicates(folders: list[RunFolder]) -> None:
    """Same config but for MAY_DIFFER; distinct seeds."""
    first = folders[0]
    for other in folders[1:]:
        why = first_difference(first.config, other.config, labels=(f"in {first.path}", f"in {other.path}"),
                               ignore=MAY_DIFFER)
        if why:
            raise UserError(f"tsearch study: not replicates of one config ({why})")
    seeds = [f.config.run.seed for f in folders]
    if len(set(seeds)) < len(seeds):
        raise UserError(f"tsearch study: two folders share run.seed ({seeds}): not independent replicates")
