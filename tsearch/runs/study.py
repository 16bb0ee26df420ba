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

from ..analysis.study import pool, sentences
from ..atomic import write_atomic
from ..errors import UserError
from ..report.plots import figure, save
from ..report.render import render_html, render_markdown
from ..report.sections import Figure, Section, Table, fmt
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
    return write_study(new_run_dir("study", "study", out), folders, problems)


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


def study_plot(path: Path, result: dict, metric: str) -> None:
    fig, [ax] = figure(1, width=6.0, height=4.0)
    rows = result["rows"]
    typical = [r for r in rows if r["typical"]]
    if typical:
        ax.plot([r["size"] for r in typical], [r["typical"]["median"]["value"] for r in typical], "s-",
                color="tab:blue", label="typical random set (median, runs pooled)")
    for arm, style, color, shift in (("control", "^--", "tab:green", 0.06), ("search", "o-", "tab:red", -0.06)):
        for r in rows:  # each run's value, faint
            ax.plot([r["size"] + shift] * len([v for v in r["per_run"][arm] if v is not None]),
                    [v for v in r["per_run"][arm] if v is not None], ".", color=color, alpha=0.35)
        pts = [r for r in rows if r[arm] and r[arm]["ci"]]
        if pts:
            y = [r[arm]["mean"] for r in pts]
            ax.errorbar([r["size"] + shift for r in pts], y,
                        [[m - r[arm]["ci"][0] for r, m in zip(pts, y)], [r[arm]["ci"][1] - m for r, m in zip(pts, y)]],
                        fmt=style, capsize=3, color=color, label=f"{arm}: mean over runs (95% CI), runs as dots")
    ax.axhline(result["threshold"], ls=":", color="k", lw=1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("training-set size n")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    save(fig, path)


def study_sections(result: dict, metric: str) -> list[Section]:
    def ci(c):
        return "-" if not c else f"[{fmt(c[0])}, {fmt(c[1])}]"

    rows = [[r["size"], *(x for arm in ("search", "control") for x in
                          ((fmt(r[arm]["mean"]), ci(r[arm]["ci"])) if r[arm] else ("-", "-"))),
             r["typical"] and r["typical"]["median"]["value"],
             "-" if not r["test"] else f"{fmt(r['test']['difference'])} {ci(r['test']['difference_ci'])}",
             r["test"] and r["test"]["p"], r["p_holm"], r["winner"]] for r in result["rows"]]
    table = Table(["n <=", "search: mean over runs", "search: 95% CI", "control: mean over runs",
                   "control: 95% CI", "typical median", "difference [95% CI]", "p", "Holm p", "wins"],
                  rows, caption=f"fresh {metric}; runs: {result['runs']} (seeds {result['seeds']})")
    return [Section("Replicated searches, pooled", sentences(result, metric),
                    figures=[Figure(layout.STUDY_PLOT, "each arm's best set of at most n images, fresh "
                                    "seeds, per run (dots) and over runs (95% CI)")], tables=[table]),
            Section("Runs", [f"`{d}`" for d in result["runs_dirs"]]
                    + [f"NOT COMPARABLE, pooled with --allow-mixed: {m}" for m in result.get("mixed", ())])]
