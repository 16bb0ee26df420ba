"""Report sections of a study (replicated searches pooled: tsearch.analysis.study): the pooled
curves per arm and the paired comparison of search and control per size."""

from __future__ import annotations

from pathlib import Path

from ..analysis.study import sentences
from ..store import layout
from .plots import figure, save
from .sections import Figure, Section, Table, fmt


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
