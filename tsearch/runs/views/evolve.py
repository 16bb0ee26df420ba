"""Report sections of ``tsearch evolve``, read from pareto.json (tsearch.search.summary, written
by the driver), logbook.jsonl and best/; the view draws

    pareto.png       every evaluated training set, the front, the baseline (mean, sd, best)
    progress.png     best and mean fitness per generation
"""

from __future__ import annotations

from pathlib import Path

from ..folder import RunFolder
from .plots import figure, save
from .sections import Figure, Section, Table, fmt


def best_stem(size: int, genome_hash: str) -> str:
    """Where the driver writes a front member's files (best/STEM-train.png, -samples.png)."""
    return f"best/n{size:03d}-{genome_hash[:12]}"


def pareto_plot(path: Path, summary: dict) -> None:
    fig, [ax] = figure(1, width=6.0, height=4.2)
    pts = summary["points"]
    ax.plot([p["size"] for p in pts], [p["value"] for p in pts], ".", color="0.7",
            label="evaluated by the search")
    front = sorted(summary["front"], key=lambda p: p["size"])
    ax.step([p["size"] for p in front], [p["value"] for p in front], "o-", where="post",
            color="tab:red", label="Pareto front")
    fresh = [p for p in front if p.get("fresh") and p["fresh"]["mean"] is not None]
    if fresh:
        ax.errorbar([p["size"] for p in fresh], [p["fresh"]["mean"] for p in fresh],
                    [p["fresh"]["sd"] or 0.0 for p in fresh], fmt="o", mfc="none", color="tab:red",
                    capsize=3, label=f"front, {summary['reevaluate_seeds']} fresh seeds (mean, sd)")
    base = summary["baseline"]
    if base:
        sizes = [int(n) for n in base]
        ax.errorbar(sizes, [b["mean"] for b in base.values()], [b["sd"] for b in base.values()],
                    fmt="s--", color="tab:blue", capsize=3, label="random baseline (mean, sd)")
        ax.plot(sizes, [b["max"] for b in base.values()], "x", color="tab:blue", label="random: best")
    ax.axhline(summary["threshold"], ls=":", color="k", lw=1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("training-set size n")
    ax.set_ylabel(summary["metric"])
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    save(fig, path)


def progress_plot(path: Path, logbook: list[dict], metric: str) -> None:
    fig, [ax] = figure(1, width=6.0, height=3.6)
    for phase, style in (("search", "-"), ("baseline", ":")):
        rows = [e for e in logbook if e["phase"] == phase and e["fitness"]]
        if rows:
            x = [e["generation"] for e in rows]
            ax.plot(x, [e["best"]["value"] for e in rows], "o" + style, label=f"{phase}: best so far")
            ax.plot(x, [e["fitness"]["mean"] for e in rows], "." + style, label=f"{phase}: population mean")
            if all(e.get("hypervolume") is not None for e in rows):
                ax.plot(x, [e["hypervolume"] for e in rows], "s" + style, ms=3, color="0.3",
                        label=f"{phase}: hypervolume of the front")
    ax.set_xlabel("generation")
    ax.set_ylabel(f"{metric} / hypervolume")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    save(fig, path)


# ----------------------------------------------------------------------------- report
def report_sections(folder: RunFolder) -> list[Section]:
    run_dir = folder.path
    if not (run_dir / "pareto.json").is_file():
        return [Section("What was observed", ["The search has not finished (no pareto.json yet)."])]
    summary = folder.read_json("pareto.json")
    logbook = folder.records("logbook.jsonl", key=lambda e: e["step"])
    metric = summary["metric"]
    pareto_plot(run_dir / "pareto.png", summary)
    progress_plot(run_dir / "progress.png", logbook, metric)
    return [Section("What was observed", observations(summary, logbook)),
            Section("Pareto front: training-set size against " + metric,
                    figures=[Figure("pareto.png", f"{metric} of every training set the search "
                                    "evaluated, its Pareto front and the random baseline")],
                    tables=[front_table(summary)]),
            Section("Against the random baseline at equal sizes", tables=[comparison_table(summary)]),
            Section("Search progress", figures=[Figure("progress.png", f"{metric} and hypervolume "
                                                     "of the front per generation")],
                    tables=[logbook_table(logbook)]),
            Section("Best training sets and their samples", figures=best_figures(run_dir, summary))]


def observations(summary: dict, logbook: list[dict]) -> list[str]:
    metric = summary["metric"]
    n_evals = sum(e["evaluations"] for e in logbook)
    search = [e for e in logbook if e["phase"] == "search"]
    baseline = [e for e in logbook if e["phase"] == "baseline"]
    lines = [f"The search ran {len(search)} generation(s) (strategy {summary['strategy']})"
             + (f", after the random baseline's {len(baseline)}" if baseline else "")
             + f": {n_evals} evaluations ({sum(e['failures'] for e in logbook)} failed); the Pareto "
             f"front has {len(summary['front'])} training sets."]
    if search and search[-1].get("hypervolume") is not None:
        lines.append(f"Hypervolume of the (size, {metric}) front: {fmt(search[-1]['hypervolume'])} "
                     "for the search" + (f", {fmt(baseline[-1]['hypervolume'])} for the random "
                     "baseline" if baseline and baseline[-1].get("hypervolume") is not None else "")
                     + " (reference point: size n_max + 1, metric 0; 1 = a set of the smallest "
                     "size with metric 1; see the glossary).")
    lines += rung_observations(logbook)
    lines += fresh_observations(summary)
    for row in summary["comparison"]:
        if row["baseline_mean"] is not None:
            lines.append(f"n = {row['size']}: search best {metric} = {fmt(row['search_best'])}; "
                         f"random baseline mean {fmt(row['baseline_mean'])} (sd {fmt(row['baseline_sd'])}, "
                         f"best {fmt(row['baseline_max'])} (fresh {fmt_fresh(row.get('baseline_best_fresh'))}); "
                         f"{row['baseline_n']} sets).")
    lines.append(smallest_sentence(summary))
    return lines


def smallest_sentence(summary: dict) -> str:
    """The headline, comparing the search and the baseline only at sizes both evaluated."""
    metric, thr = summary["metric"], summary["threshold"]
    both = [r for r in summary["comparison"] if r["search_best"] is not None and r["baseline_n"]]
    if not both:
        return (f"The search and the random baseline evaluated no size in common, so their "
                f"smallest sizes with {metric} >= {thr} are not compared.")

    def smallest(key: str):
        return min((r["size"] for r in both if r[key] is not None and r[key] >= thr), default=None)

    sizes = ", ".join(str(r["size"]) for r in both)
    line = (f"Among the sizes both evaluated ({sizes}), the smallest with {metric} >= {thr}: search "
            f"{fmt(smallest('search_best'))}, random baseline (mean) {fmt(smallest('baseline_mean'))}, "
            f"random baseline (any set) {fmt(smallest('baseline_max'))} ('-': not reached).")
    alone = summary["smallest_size"]["search"]
    if alone is not None and alone not in {r["size"] for r in both}:
        line += (f" The search alone reached it at n = {alone}, a size the baseline did not try "
                 "(search.size_grid).")
    return line


def fresh_observations(summary: dict) -> list[str]:
    """The fresh-seed figure of every front member, and plainly which search values fell."""
    metric, k = summary["metric"], summary.get("reevaluate_seeds", 0)
    if not k:
        return [f"No re-evaluation with fresh seeds in this run (search.reevaluate_seeds = 0): each "
                f"search {metric} here is the best of many noisy evaluations, so biased upward."]
    lines = [f"Re-evaluated with {k} fresh training seeds each (the search's {metric} is the best of "
             "many noisy evaluations, so biased upward; fresh = mean ± sd):"]
    for p in summary["front"]:
        why = shortfall(p, summary)
        verdict = f"did NOT hold up ({why})" if why else "held up"
        lines.append(f"front n = {p['size']}: search {metric} = {fmt(p['value'])}, fresh "
                     f"{fmt_fresh(p.get('fresh'))}: {verdict}.")
    return lines


def shortfall(point: dict, summary: dict) -> str | None:
    """Why a front member's search value did not hold up under fresh seeds (None: it did, or
    nothing to judge): its fresh mean fell more than 2 sd of the fresh values below it, or
    below the random baseline's mean at its size."""
    fresh, base = point.get("fresh"), summary["baseline"].get(str(point["size"]))
    if not fresh or fresh["mean"] is None:
        return None
    reasons = []
    if fresh["sd"] is not None and fresh["mean"] < point["value"] - 2 * fresh["sd"]:
        reasons.append(f"{fmt(point['value'] - fresh['mean'])} below the search value, "
                       "more than 2 sd")
    if base is not None and fresh["mean"] < base["mean"]:
        reasons.append(f"below the random-baseline mean {fmt(base['mean'])}")
    return "; ".join(reasons) or None


def fmt_fresh(fresh: dict | None) -> str:
    """'mean ± sd (k)' of fresh values, k the number that did not fail; '-' when none."""
    if not fresh or fresh["mean"] is None:
        return "-"
    ok = sum(v is not None for v in fresh["values"])
    return f"{fmt(fresh['mean'])} ± {fmt(fresh['sd'])} ({ok})"


def front_table(summary: dict) -> Table:
    cols = [c for c in ("valid", "copy", "novel", "g", "g_rel") if c != summary["metric"]]
    return Table(["n", summary["metric"], "fresh mean ± sd (seeds)", "held up", *cols, "best step",
                  "hash"],
                 [[p["size"], p["value"], fmt_fresh(p.get("fresh")), held_up(p, summary),
                   *(p["metrics"].get(c) for c in cols), p["best_step"], p["hash"][:12]]
                  for p in summary["front"]])


def held_up(point: dict, summary: dict) -> str:
    if not point.get("fresh") or point["fresh"]["mean"] is None:
        return "-"
    return "no" if shortfall(point, summary) else "yes"


def comparison_table(summary: dict) -> Table:
    rows = [[row["size"], row["search_best"], row["search_best_upto"],
             fmt_fresh(row.get("search_best_upto_fresh")), row["baseline_mean"], row["baseline_sd"],
             row["baseline_max"], fmt_fresh(row.get("baseline_best_fresh")), row["baseline_n"]]
            for row in summary["comparison"]]
    return Table(["n", "search best at n", "search best at <= n", "fresh (search <= n)",
                  "random mean", "random sd", "random best", "fresh (random best)", "random sets"],
                 rows)


def rung_observations(logbook: list[dict]) -> list[str]:
    """Multi-fidelity (search.rungs): evaluations at each fraction of train.steps."""
    per_rung: dict[float, int] = {}
    for entry in logbook:
        for rung in entry.get("rungs", ()):
            per_rung[rung["fraction"]] = per_rung.get(rung["fraction"], 0) + rung["evaluations"]
    if not per_rung:
        return []
    counts = ", ".join(f"{f:g} of train.steps: {n}" for f, n in sorted(per_rung.items()))
    return [f"Multi-fidelity offspring evaluations per rung: {counts} (the initial population and "
            "the baseline: full budget)."]


def rung_cell(entry: dict) -> str:
    return " / ".join(str(r["evaluations"]) for r in entry.get("rungs", ())) or "-"


def logbook_table(logbook: list[dict]) -> Table:
    return Table(["phase", "gen", "evaluations", "per rung", "cached", "failed", "best", "mean",
                  "front", "hypervolume", "s"],
                 [[e["phase"], e["generation"], e["evaluations"], rung_cell(e), e["cached"],
                   e["failures"], e["best"] and e["best"]["value"], e["fitness"] and e["fitness"]["mean"],
                   e["front_size"], e.get("hypervolume"), e["timing"]["seconds"]] for e in logbook])


def best_figures(run_dir: Path, summary: dict) -> list[Figure]:
    figures = []
    for p in summary["front"]:
        stem = best_stem(p["size"], p["hash"])
        figures.append(Figure(f"{stem}-train.png", f"training set n = {p['size']}, "
                              f"{summary['metric']} = {fmt(p['value'])}"))
        if (run_dir / f"{stem}-samples.png").is_file():
            figures.append(Figure(f"{stem}-samples.png", f"its samples at step {p['best_step']}"))
    return figures
