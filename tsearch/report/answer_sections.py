"""The first sections of an evolve report: the answer per size (pareto.json ``answer``), what
makes a set teach (``regression``, ``extremes``); the view draws

    answer.png       fitness against n: the typical random set (median, its interval, the 90th
                     percentile), the control's best and the search's best on fresh seeds
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.answer import NEAR_COPY_SHARE, SIDE_METRICS
from ..store import layout
from .plots import figure, save
from .sections import Figure, Section, Table, fmt


def answer_plot(path: Path, summary: dict) -> None:
    rows, metric = summary["answer"]["curves"], summary["metric"]
    fig, [ax] = figure(1, width=6.0, height=4.0)
    typical = [r for r in rows if r["typical"]]
    if typical:
        x = [r["size"] for r in typical]
        med = [r["typical"]["median"] for r in typical]
        ax.fill_between(x, [m["ci"][0] for m in med], [m["ci"][1] for m in med], color="tab:blue",
                        alpha=0.15, label="typical random set: median's interval")
        ax.plot(x, [m["value"] for m in med], "s-", color="tab:blue", label="typical random set (median)")
        ax.plot(x, [r["typical"]["p90"]["value"] for r in typical], "v:", color="tab:blue",
                label="random sets: 90th percentile")
    for arm, style, shift in (("control", "^--", 0.06), ("search", "o-", -0.06)):
        pts = [r for r in rows if r[arm] and r[arm]["mean"] is not None]
        if pts:
            x = [r["size"] + shift for r in pts]
            y = [r[arm]["mean"] for r in pts]
            err = [[m - (r[arm]["ci"] or [m, m])[0] for r, m in zip(pts, y)],
                   [(r[arm]["ci"] or [m, m])[1] - m for r, m in zip(pts, y)]]
            ax.errorbar(x, y, err, fmt=style, capsize=3, color="tab:red" if arm == "search" else "tab:green",
                        label=f"{arm}: best set of <= n images, fresh seeds (95% CI)")
    ax.axhline(summary["threshold"], ls=":", color="k", lw=1, label=f"threshold {summary['threshold']:g}")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("training-set size n")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    save(fig, path)


def answer_section(run_dir: Path, summary: dict) -> Section | None:
    """"How small can a teaching set be": the three curves, n* per arm, the figure."""
    if not summary.get("answer"):
        return None
    answer_plot(run_dir / layout.ANSWER_PLOT, summary)
    return Section("The answer: " + summary["metric"] + " against the training-set size",
                   list(summary["answer"]["lines"]) + landscape_lines(summary.get("landscape"))
                   + near_copy_lines(summary),
                   figures=[Figure(layout.ANSWER_PLOT, "the typical random set, the control's best and the "
                                   "search's best, on fresh seeds, with 95% intervals")],
                   tables=[answer_table(summary), drawn_table(summary)])


def near_copy_lines(summary: dict) -> list[str]:
    """A warning per front set whose samples are mostly near copies of its training images."""
    flagged = summary.get("near_copy_sets") or []
    return [f"Mostly near copies: the {p['arm']} front's set of {p['size']} image(s) {p['hash'][:8]} "
            f"draws near copies of its training images in {p['near_copy']:.0%} of its samples "
            f"(more than {NEAR_COPY_SHARE:.0%}): its model reproduces its set more than it learned the target."
            for p in flagged]


def drawn_table(summary: dict) -> Table:
    """For the answer's sets and each size's best and worst evaluated set: what the model draws."""
    rows = []
    for r in summary["answer"]["curves"]:
        for arm in ("search", "control"):
            if r.get(arm):
                rows.append([r["size"], f"{arm}'s best", r[arm]["size"], fmt(r[arm]["mean"]),
                             *[fmt(r[arm].get("metrics", {}).get(k)) for k in SIDE_METRICS]])
        for which, p in (summary.get("extremes") or {}).get(str(r["size"]), {}).items():
            rows.append([r["size"], f"{which} evaluated ({p['phase']})", p["size"], "-",
                         *[fmt((p.get("metrics") or {}).get(k)) for k in SIDE_METRICS]])
    return Table(["n", "set", "images", f"fresh {summary['metric']}", *SIDE_METRICS], rows,
                 caption="what each set makes the model draw: metrics at the reported step, mean over the "
                         "set's trainings in the search (coverage: of the target by the samples beyond the "
                         "near-copy band; near_copy: samples within 10% of a training image's pixels; "
                         "docs/metrics.md)")


def landscape_lines(land: dict | None) -> list[str]:
    if not land:
        return ["Between-set share of the fitness variance: not estimated (fewer than 3 random sets "
                "or too few sets trained more than once)."]
    icc = land["icc"]
    return [f"Is there something to find? Over the {land['baseline_sets']} random sets, sd "
            f"{land['baseline_sd']:.3f}; seed noise (sd within the {land['resampled_sets']} sets trained "
            f"more than once, {land['seed_dof']} df) {land['seed_sd']:.3f}; between sets "
            f"{land['between_sd']:.3f}: intraclass correlation "
            + ("n/a" if icc is None else f"{icc:.2f}")
            + (" (which set a model trains on matters)" if icc is not None and icc >= 0.5 else
               " (most of the spread is seed noise: little for a search to find)" if icc is not None else "")
            + "."]


def answer_table(summary: dict) -> Table:
    def ci(c):
        return "-" if not c else f"[{fmt(c[0])}, {fmt(c[1])}]"

    def arm(a):
        return ["-"] * 4 if a is None else [a["size"], fmt(a["mean"]), ci(a["ci"]),
                                            f"{a['k']} fresh / {fmt(a.get('trainings_in_search'))} in search"]

    rows = []
    for r in summary["answer"]["curves"]:
        t = r["typical"]
        typical = (["-"] * 5 if t is None else
                   [t["sets"], fmt(t["median"]["value"]), f"{ci(t['median']['ci'])} ({t['median']['coverage']:.0%})",
                    fmt(t["p90"]["value"]), f"{ci(t['p90']['ci'])} ({t['p90']['coverage']:.0%})"])
        rows.append([r["size"], *typical, *arm(r["control"]), *arm(r["search"])])
    return Table(["n", "random sets", "median", "median CI (coverage)", "90th pct", "90th pct CI (coverage)",
                  "control: set size", "control: fresh mean", "control: 95% CI", "control: seeds",
                  "search: set size", "search: fresh mean", "search: 95% CI", "search: seeds"], rows,
                 caption="random sets: not selected, so their values are unbiased; the arms' sets: "
                         "judged on fresh seeds only")


def teaching_section(run_dir: Path, summary: dict) -> Section | None:
    """What makes a set teach: the regression over every evaluated set, best and worst sets."""
    reg = summary.get("regression")
    if not reg:
        return None
    fit = reg["fit"]
    tables = [] if fit is None else [Table(
        ["feature", "coefficient (per sd)", "95% bootstrap CI"],
        [[t["feature"], fmt(t["coefficient"]), "-" if not t["ci"] else f"[{fmt(t['ci'][0])}, {fmt(t['ci'][1])}]"]
         for t in fit["top"]],
        caption=f"ridge regression (penalty {fit['penalty']:g}) on standardized features of "
                f"{fit['sets']} sets; cross-validated R² = {fmt(fit['r2_cv'])} ({fit['folds']} folds), "
                f"in sample {fmt(fit['r2_in_sample'])}")]
    figures = [figure
               for n, pair in (summary.get("extremes") or {}).items() for which, p in pair.items()
               for figure in (Figure(layout.set_grid(int(n), which),
                                     f"n = {n}: the {which} evaluated set ({p['phase']}), {summary['metric']} = "
                                     f"{fmt(p['value'])} over {p.get('trainings', 1)} training(s)"),
                              Figure(layout.set_grid(int(n), which, samples=True),
                                     f"n = {n}: what the {which} set's model draws (its first training, "
                                     "reported step)"))
               if (run_dir / figure.path).is_file()]
    return Section("What makes a set teach", [reg["sentence"]], figures=figures, tables=tables)
