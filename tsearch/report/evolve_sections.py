"""Report sections of ``tsearch evolve``, read from pareto.json (tsearch.analysis.summary, written
by the driver), logbook.jsonl and best/; the view draws

    answer.png       fitness against n, three curves (tsearch.report.answer_sections)
    pareto.png       every evaluated training set, the front, the baseline (mean, sd, best)
    progress.png     best and mean fitness per generation
"""

from __future__ import annotations

from pathlib import Path

from ..store import layout
from ..store.folder import RunFolder
from .answer_sections import answer_section, teaching_section
from .plots import figure, save
from .screening_sections import screening_section
from .sections import Figure, Section, Table, fmt


def best_stem(size: int, genome_hash: str) -> str:
    """Where the driver writes a front member's files (best/STEM-train.png, -samples.png)."""
    return layout.front_member(size, genome_hash)


def pareto_plot(path: Path, summary: dict) -> None:
    fig, [ax] = figure(1, width=6.0, height=4.2)
    pts = summary["points"]
    ax.plot([p["size"] for p in pts], [p["value"] for p in pts], ".", color="0.7",
            label="evaluated by the search")
    front = sorted(summary["front"], key=lambda p: p["size"])
    ax.step([p["size"] for p in front], [p["value"] for p in front], "o-", where="post",
            color="tab:red", label="search: Pareto front")
    fresh = [p for p in front if p.get("fresh") and p["fresh"]["mean"] is not None]
    if fresh:
        ax.errorbar([p["size"] for p in fresh], [p["fresh"]["mean"] for p in fresh],
                    [p["fresh"]["sd"] or 0.0 for p in fresh], fmt="o", mfc="none", color="tab:red",
                    capsize=3, label=f"search front, {summary['reevaluate_seeds']} fresh seeds (mean, sd)")
    control_plot(ax, summary)
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


def control_plot(ax, summary: dict) -> None:
    """The control arm's evaluations, front and fresh values, beside the search's."""
    pts, front = summary.get("control_points") or [], sorted(summary.get("control_front") or [],
                                                             key=lambda p: p["size"])
    if not front:
        return
    ax.plot([p["size"] for p in pts], [p["value"] for p in pts], "+", color="tab:green", alpha=0.4,
            label="evaluated by the control")
    ax.step([p["size"] for p in front], [p["value"] for p in front], "^-", where="post",
            color="tab:green", label="control front")
    fresh = [p for p in front if p.get("fresh") and p["fresh"]["mean"] is not None]
    if fresh:
        ax.errorbar([p["size"] + 0.1 for p in fresh], [p["fresh"]["mean"] for p in fresh],
                    [p["fresh"]["sd"] or 0.0 for p in fresh], fmt="^", mfc="none", color="tab:green",
                    capsize=3, label="control front, fresh seeds (mean, sd)")


def progress_plot(path: Path, logbook: list[dict], metric: str) -> None:
    fig, [ax] = figure(1, width=6.0, height=3.6)
    for phase, style in (("search", "-"), ("baseline", ":"), ("control", "--")):
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
    if not (run_dir / layout.PARETO).is_file():
        return [Section("What was observed", ["The search has not finished (no pareto.json yet)."])]
    summary = folder.read_json(layout.PARETO)
    logbook = folder.records(layout.LOGBOOK, key=lambda e: e["step"])
    metric = summary["metric"]
    pareto_plot(run_dir / layout.PARETO_PLOT, summary)
    progress_plot(run_dir / layout.PROGRESS_PLOT, logbook, metric)
    answer = [s for s in (answer_section(run_dir, summary), teaching_section(run_dir, summary)) if s]
    return answer[:1] + [Section("Search against control, on fresh seeds", headline_paragraphs(summary),
                    tables=[arms_table(summary)] if summary.get("headline") and summary["comparison"] else []),
            Section("What was observed", observations(summary, logbook)),
            Section("Pareto front: training-set size against " + metric,
                    figures=[Figure(layout.PARETO_PLOT, f"{metric} of every training set the search and "
                                    "the control evaluated, their Pareto fronts and the random baseline")],
                    tables=[front_table(summary)] + ([front_table(summary, "control_front")]
                                                     if summary.get("control_front") else [])),
            Section("Against the typical random set at equal sizes", tables=[comparison_table(summary)]),
            Section("What the search found", found_paragraphs(summary),
                    tables=[found_table(summary)] if summary.get("found") else [],
                    figures=best_figures(run_dir, summary) + best_figures(run_dir, summary, "control_front")),
            Section("Search progress", figures=[Figure(layout.PROGRESS_PLOT, f"{metric} and hypervolume "
                                                     "of the front per generation")],
                    tables=[logbook_table(logbook)])] + [s for s in (screening_section(summary),) if s] + answer[1:]


def live_sections(folder: RunFolder, out: Path) -> list[Section]:
    """A running search, from what is recorded so far (the logbook), its figure drawn in
    ``out``: the folder is only read, so the writer goes on undisturbed."""
    logbook = folder.records(layout.LOGBOOK, key=lambda e: e["step"])
    metric, planned = folder.config.search.fitness_metric, folder.config.search
    done = sum(e["phase"] == "search" for e in logbook)
    last = logbook[-1] if logbook else None
    where = (f"IN PROGRESS, search generation {done} of {planned.generations}"
             + (f" (last logged: {last['phase']} generation {last['generation'] + 1})" if last else "")
             + ". Nothing here is a result yet: pareto.json, the comparison on fresh seeds and this "
             "report's final form come at the end. `tsearch status DIR` says where it stands; "
             "`tsearch export DIR` tables every evaluation so far.")
    figures = []
    if logbook:
        progress_plot(out / layout.PROGRESS_PLOT, logbook, metric)
        figures = [Figure(layout.PROGRESS_PLOT, f"{metric} and hypervolume of the front per generation so far")]
    return [Section("A running search", [where]),
            Section("Search progress", figures=figures, tables=[logbook_table(logbook)] if logbook else [])]


def headline_paragraphs(summary: dict) -> list[str]:
    """The answer (pareto.json's headline, fresh values only), the budgets and the training."""
    lines = list(summary.get("headline") or [])
    budget = summary.get("budget")
    if budget:
        sizes = ", ".join(f"{c} at n = {n}" for n, c in budget["sizes"].items())
        lines.append(f"Equal budget: the search trained {budget['search']} models (one training of one "
                     f"set with one seed each; cached sets not counted), the control {budget['control']}: "
                     f"{sizes}.")
    if summary.get("training"):
        lines.append(training_line(summary["training"]))
    return lines


def training_line(t: dict) -> str:
    steps = f"ceil({t['epochs']:g} n / {t['batch_size']})" if t["budget"] == "epochs" else ""
    steps = f"max({t['min_steps']}, {steps})" if t.get("min_steps") else steps
    budget = (f"train.epochs = {t['epochs']:g} per training image (a set of n images trains "
              f"{steps} steps)" if t["budget"] == "epochs"
              else f"train.steps = {t['steps']} for every training set, whatever its size")
    return (f"Training budget: {budget}; scored at {t['n_checkpoints']} {t['schedule']}-spaced steps, "
            f"the fitness at the best of them. The best was the last scored step in "
            f"{t['best_at_last_step']} of {t['evaluations']} evaluations"
            + (" (most: longer training would likely raise the values)."
               if t["evaluations"] and t["best_at_last_step"] > t["evaluations"] / 2 else "."))


def arms_table(summary: dict) -> Table:
    """Per size: each arm's proposal for <= n images, fresh values only, and the test."""
    def arm(row):
        return (["-"] * 3 if row is None else
                [row["size"], f"{fmt(row['mean'])} ± {fmt(row['sd'])} ({row['k']})",
                 "-" if row["ci"] is None else f"[{fmt(row['ci'][0])}, {fmt(row['ci'][1])}]"])
    rows = [[r["size"], *arm(r["search"]), *arm(r["control"]), difference(r["test"]),
             r["test"] and r["test"]["p"], r["p_holm"], r["winner"]] for r in summary["comparison"]]
    return Table(["n <=", "search: set size", "search: fresh mean ± sd (k)", "search: 95% CI",
                  "control: set size", "control: fresh mean ± sd (k)", "control: 95% CI",
                  "difference [95% CI]", "Welch p", "Holm p", "wins"], rows,
                 caption=f"{summary['metric']} on fresh seeds only; Welch's t test, Holm's correction "
                         f"over sizes, alpha = {summary.get('alpha', 0.05):g}")


def difference(test: dict | None) -> str:
    """search - control, with its Welch interval (how large a difference the seeds can rule out)."""
    if test is None:
        return "-"
    low, high = test["difference_ci"]
    return f"{fmt(test['difference'])} [{fmt(low)}, {fmt(high)}]"


def found_paragraphs(summary: dict) -> list[str]:
    return ["The training sets on each arm's front and the samples of their best scored step; the "
            "table compares the fronts' mean features: size, white fraction of the images, vertices "
            "per polygon, spread of the shapes' centroids (fraction of the side), mean pairwise "
            "Hamming distance between the images, and valid images: the share of the set's images "
            "in the target's support (below 1 only for an images genome, search.genome) "
            "(tsearch.search.features)."]


def found_table(summary: dict) -> Table:
    found = summary["found"]
    arms = [arm for arm in ("search", "control") if arm in found]  # pareto.json's keys are sorted
    names = ("size", "white", "vertices", "spread", "hamming", "valid")
    label = {"valid": "valid images (share)"}
    return Table(["feature", *(f"{arm} front (mean)" for arm in arms)],
                 [[label.get(name, name), *(found[arm].get(name) for arm in arms)] for name in names])


def observations(summary: dict, logbook: list[dict]) -> list[str]:
    metric, thr, small = summary["metric"], summary["threshold"], summary["smallest_size"]
    n_evals = sum(e["evaluations"] for e in logbook)
    search = [e for e in logbook if e["phase"] == "search"]
    baseline = [e for e in logbook if e["phase"] == "baseline"]
    control = [e for e in logbook if e["phase"] == "control"]
    lines = [f"The search ran {len(search)} generation(s) (strategy {summary['strategy']})"
             + (f", after the random baseline's {len(baseline)}" if baseline else "")
             + (f", then the control arm's {len(control)}" if control else "")
             + f": {n_evals} evaluations ({sum(e['failures'] for e in logbook)} failed); the Pareto "
             f"front has {len(summary['front'])} training sets"
             + (f", the control's {len(summary['control_front'])}." if summary.get("control_front") else ".")]
    if search and search[-1].get("hypervolume") is not None:
        lines.append(f"Hypervolume of the (size, {metric}) front: {fmt(search[-1]['hypervolume'])} "
                     "for the search" + (f", {fmt(baseline[-1]['hypervolume'])} for the random "
                     "baseline" if baseline and baseline[-1].get("hypervolume") is not None else "")
                     + " (reference point: size n_max + 1, metric 0; 1 = a set of the smallest "
                     "size with metric 1; see the glossary).")
    lines += rung_observations(logbook)
    lines += fresh_observations(summary)
    lines += fresh_observations(summary, "control_front")
    for row in summary.get("typical", []):
        if row["baseline_mean"] is not None:
            lines.append(f"n = {row['size']}: typical random set (each evaluated once, not selected) "
                         f"{metric} = {fmt(row['baseline_mean'])} ± {fmt(row['baseline_sd'])} "
                         f"({row['baseline_n']} sets); search's set of <= n, fresh: "
                         f"{fmt_fresh(row.get('search_fresh'))}; control's, fresh: "
                         f"{fmt_fresh(row.get('control_fresh'))}.")
    lines.append(f"Smallest training-set size whose fresh {metric} reaches {thr}: search "
                 f"{fmt(small.get('search'))}, control {fmt(small.get('control'))}; typical random "
                 f"set (mean) {fmt(small.get('typical_mean'))} ('-': not reached).")
    return lines


def fresh_observations(summary: dict, key: str = "front") -> list[str]:
    """The fresh-seed figure of every front member, and plainly which search values fell."""
    metric, k = summary["metric"], summary.get("reevaluate_seeds", 0)
    arm = "control" if key == "control_front" else "search"
    if not summary.get(key):
        return []
    if not k:
        return [] if arm == "control" else [
                f"No re-evaluation with fresh seeds in this run (search.reevaluate_seeds = 0): each "
                f"search {metric} here is the best of many noisy evaluations, so biased upward."]
    lines = [f"The {arm}'s front re-evaluated with {k} fresh training seeds each (its in-search "
             f"{metric} is the best of many noisy evaluations, so biased upward; fresh = mean ± sd):"]
    for p in summary[key]:
        why = shortfall(p, summary)
        verdict = f"did NOT hold up ({why})" if why else "held up"
        lines.append(f"{arm} front n = {p['size']}: in-search {metric} = {fmt(p['value'])}, fresh "
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
        reasons.append(f"{fmt(point['value'] - fresh['mean'])} below its in-search value, "
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


# those the engine reported are shown (near copies, precision/recall)
FRONT_METRICS = ("valid", "copy", "copy_shift", "novel", "g", "g_shift", "g_rel", "precision", "recall",
                 "chance_valid", "g_shift_above_chance")


def front_table(summary: dict, key: str = "front") -> Table:
    cols = [c for c in FRONT_METRICS if c != summary["metric"]
            and any(c in p["metrics"] for p in summary[key])]
    arm = "control" if key == "control_front" else "search"
    return Table(["n", f"in-search {summary['metric']}", "fresh mean ± sd (seeds)", "held up", *cols,
                  "best step", "hash"],
                 [[p["size"], p["value"], fmt_fresh(p.get("fresh")), held_up(p, summary),
                   *(p["metrics"].get(c) for c in cols), p["best_step"], p["hash"][:12]]
                  for p in summary[key]], caption=f"the {arm}'s Pareto front")


def held_up(point: dict, summary: dict) -> str:
    if not point.get("fresh") or point["fresh"]["mean"] is None:
        return "-"
    return "no" if shortfall(point, summary) else "yes"


def comparison_table(summary: dict) -> Table:
    """The typical random set of each size of size_grid against each arm's set of <= n images."""
    rows = [[row["size"], fmt_fresh(row.get("search_fresh")), fmt_fresh(row.get("control_fresh")),
             row["baseline_mean"], row["baseline_sd"], fmt_fresh(row.get("baseline_best_fresh")),
             row["baseline_n"]] for row in summary.get("typical", [])]
    return Table(["n", "search (<= n), fresh", "control (<= n), fresh", "random mean", "random sd",
                  "best random set, fresh", "random sets"], rows,
                 caption="random sets evaluated once each, not selected: their mean is the typical set")


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


def best_figures(run_dir: Path, summary: dict, key: str = "front") -> list[Figure]:
    arm, figures = "control" if key == "control_front" else "search", []
    for p in summary.get(key) or []:
        stem = best_stem(p["size"], p["hash"])
        figures.append(Figure(f"{stem}-train.png", f"{arm}: training set n = {p['size']}, in-search "
                              f"{summary['metric']} = {fmt(p['value'])}, fresh {fmt_fresh(p.get('fresh'))}"))
        if (run_dir / f"{stem}-samples.png").is_file():
            figures.append(Figure(f"{stem}-samples.png", f"its samples at step {p['best_step']}"))
    return figures
