"""Outputs of ``tsearch evolve`` and its report sections.

    pareto.json      the search's Pareto front (size vs metric), the random baseline per size,
                     their comparison at equal sizes, the smallest sizes reaching the threshold;
                     "fresh" = {values, mean, sd}: a front member's (or a size's best random
                     set's) values under search.reevaluate_seeds fresh seeds, None if disabled
    pareto.png       every evaluated training set, the front, the baseline (mean, sd, best)
    progress.png     best and mean fitness per generation
    best/            per front member: training set grid + .npz of its parameters, sample grid
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .files import read_json, read_jsonl, write_atomic, write_json
from .grids import save_grid
from .report import Figure, Section, Table, fmt


# ----------------------------------------------------------------------------- numbers
def summarize(config, state, fresh: dict[str, list] | None = None) -> dict:
    """pareto.json: front, baseline and their comparison, from the search state and the
    fresh-seed values (genome hash -> values, see evolve.reevaluate)."""
    s, fresh = config.search, fresh or {}
    search, baseline = evaluated_points(config, state)
    by_size = _baseline_by_size(baseline, fresh)
    front = [{**_point(g, v), "fresh": fresh_summary(fresh.get(g.hash)),
              "best_step": state.cache.get(g.hash)["best_step"],
              "metrics": state.cache.get(g.hash)["metrics"]}
             for g, v in state.strategies["search"].archive.entries]
    return {"metric": s.fitness_metric, "threshold": s.threshold, "strategy": s.strategy,
            "reevaluate_seeds": s.reevaluate_seeds,
            "front": front, "baseline": by_size, "points": search,
            "comparison": [_compare(n, search, by_size.get(str(n)), front) for n in s.size_grid],
            "smallest_size": {
                "search": _smallest(search, s.threshold),
                "baseline_mean": min((int(n) for n, b in by_size.items() if b["mean"] >= s.threshold),
                                     default=None),
                "baseline_any": _smallest(baseline, s.threshold)}}


def evaluated_points(config, state) -> tuple[list[dict], list[dict]]:
    """(search points, baseline points): {hash, size, value} of each phase's cached evaluations,
    by size then hash. A ``random`` search is its own baseline."""
    phases = [e["phase"] for e in state.logbook]
    points = {"baseline": [], "search": []}
    for h, entry in sorted(state.cache.items(), key=lambda item: (item[1]["size"], item[0])):
        if entry["value"] is not None and entry["step"] < len(phases):
            points[phases[entry["step"]]].append({"hash": h, "size": entry["size"], "value": entry["value"]})
    random_search = config.search.strategy == "random"
    return points["search"], points["baseline"] or (points["search"] if random_search else [])


def best_per_size(points: list[dict]) -> dict[int, dict]:
    """The highest-valued point at each size; a tie goes to the smaller hash (points come
    sorted by size then hash), so the choice is deterministic."""
    best = {}
    for p in points:
        if p["size"] not in best or p["value"] > best[p["size"]]["value"]:
            best[p["size"]] = p
    return best


def reevaluated_genomes(config, state) -> list:
    """What the fresh seeds re-evaluate: the Pareto front, then the best random set at each size
    (its winner's curse is the fair comparison), each once. A ``random`` search holds only its
    last generation's genomes, so a best set it no longer holds is skipped."""
    held = {g.hash: g for g in state.genomes()}
    bests = [held[p["hash"]] for p in best_per_size(evaluated_points(config, state)[1]).values()
             if p["hash"] in held]
    return list({g.hash: g for g in state.strategies["search"].archive.genomes + bests}.values())


def fresh_summary(values: list | None) -> dict | None:
    """{values, mean, sd} of one set's fresh values (failures are None and left out of mean and
    sd); sd is the sample sd (ddof 1: a handful of seeds), None below two values."""
    if values is None:
        return None
    ok = np.array([v for v in values if v is not None], dtype=float)
    return {"values": list(values), "mean": float(ok.mean()) if len(ok) else None,
            "sd": float(ok.std(ddof=1)) if len(ok) >= 2 else None}


def _point(genome, value) -> dict:
    return {"hash": genome.hash, "size": genome.size, "value": value}


def _baseline_by_size(points: list[dict], fresh: dict[str, list]) -> dict[str, dict]:
    out = {}
    for n, best in best_per_size(points).items():
        v = np.array([p["value"] for p in points if p["size"] == n])
        out[str(n)] = {"n": len(v), "mean": float(v.mean()), "sd": float(v.std()),
                       "max": float(v.max()), "values": v.tolist(),
                       "best": {**best, "fresh": fresh_summary(fresh.get(best["hash"]))}}
    return out


def _compare(n: int, search: list[dict], baseline: dict | None, front: list[dict]) -> dict:
    at = [p["value"] for p in search if p["size"] == n]
    upto = [p["value"] for p in search if p["size"] <= n]
    # the best search set of size <= n is a front member: the one with fresh values
    member = max((p for p in front if p["size"] <= n), key=lambda p: (p["value"], -p["size"]),
                 default=None)
    return {"size": n, "search_best": max(at, default=None), "search_best_upto": max(upto, default=None),
            "search_best_upto_fresh": member and member["fresh"],
            "baseline_mean": baseline and baseline["mean"], "baseline_sd": baseline and baseline["sd"],
            "baseline_max": baseline and baseline["max"], "baseline_n": baseline and baseline["n"],
            "baseline_best_fresh": baseline and baseline["best"]["fresh"]}


def _smallest(points: list[dict], threshold: float) -> int | None:
    return min((p["size"] for p in points if p["value"] >= threshold), default=None)


# ----------------------------------------------------------------------------- files
def write_outputs(run_dir: Path, config, target, state, fresh: dict[str, list] | None = None) -> None:
    summary = summarize(config, state, fresh)
    write_json(run_dir / "pareto.json", summary)
    pareto_plot(run_dir / "pareto.png", summary)
    progress_plot(run_dir / "progress.png", state.logbook, summary["metric"])
    front = state.strategies["search"].archive.genomes
    for genome in front:
        write_best(run_dir, target, genome)
    keep = {g.hash[:16] for s in state.strategies.values() for g in s.archive.genomes}
    for path in (run_dir / "samples").glob("*.npz"):  # the front's samples are all we show
        if path.stem not in keep:
            path.unlink()


def best_stem(size: int, genome_hash: str) -> str:
    return f"best/n{size:03d}-{genome_hash[:12]}"


def write_best(run_dir: Path, target, genome) -> None:
    """The training set as a grid and as .npz (its parameters, one array each, and images),
    and the samples of its best checkpoint."""
    (run_dir / "best").mkdir(exist_ok=True)
    stem = run_dir / best_stem(genome.size, genome.hash)
    images = genome.render(target)
    save_grid(f"{stem}-train.png", images)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=images.astype(np.int8),
                        **{f"element_{i}": e for i, e in enumerate(genome.elements)})
    write_atomic(f"{stem}-train.npz", buffer.getvalue())
    samples = run_dir / "samples" / f"{genome.hash[:16]}.npz"
    if samples.is_file():
        with np.load(samples) as data:
            save_grid(f"{stem}-samples.png", data["images"])


def pareto_plot(path: Path, summary: dict) -> None:
    from .plots import _figure, _save

    fig, [ax] = _figure(1, width=6.0, height=4.2)
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
    _save(fig, path)


def progress_plot(path: Path, logbook: list[dict], metric: str) -> None:
    from .plots import _figure, _save

    fig, [ax] = _figure(1, width=6.0, height=3.6)
    for phase, style in (("search", "-"), ("baseline", ":")):
        rows = [e for e in logbook if e["phase"] == phase and e["fitness"]]
        if rows:
            x = [e["generation"] for e in rows]
            ax.plot(x, [e["best"]["value"] for e in rows], "o" + style, label=f"{phase}: best so far")
            ax.plot(x, [e["fitness"]["mean"] for e in rows], "." + style, label=f"{phase}: population mean")
    ax.set_xlabel("generation")
    ax.set_ylabel(metric)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    _save(fig, path)


# ----------------------------------------------------------------------------- report
def report_sections(run_dir: Path) -> list[Section]:
    if not (run_dir / "pareto.json").is_file():
        return [Section("What was observed", ["The search has not finished (no pareto.json yet)."])]
    summary = read_json(run_dir / "pareto.json")
    logbook = list(read_jsonl(run_dir / "logbook.jsonl"))
    metric = summary["metric"]
    return [Section("What was observed", observations(summary, logbook)),
            Section("Pareto front: training-set size against " + metric,
                    figures=[Figure("pareto.png", f"{metric} of every training set the search "
                                    "evaluated, its Pareto front and the random baseline")],
                    tables=[front_table(summary)]),
            Section("Against the random baseline at equal sizes", tables=[comparison_table(summary)]),
            Section("Search progress", figures=[Figure("progress.png", f"{metric} per generation")],
                    tables=[logbook_table(logbook)]),
            Section("Best training sets and their samples", figures=best_figures(run_dir, summary))]


def observations(summary: dict, logbook: list[dict]) -> list[str]:
    metric, thr, small = summary["metric"], summary["threshold"], summary["smallest_size"]
    n_evals = sum(e["evaluations"] for e in logbook)
    lines = [f"{len(logbook)} generations, {n_evals} evaluations "
             f"({sum(e['failures'] for e in logbook)} failed); strategy {summary['strategy']}; "
             f"the Pareto front has {len(summary['front'])} training sets."]
    lines += fresh_observations(summary)
    for row in summary["comparison"]:
        if row["baseline_mean"] is not None:
            lines.append(f"n = {row['size']}: search best {metric} = {fmt(row['search_best'])}; "
                         f"random baseline mean {fmt(row['baseline_mean'])} (sd {fmt(row['baseline_sd'])}, "
                         f"best {fmt(row['baseline_max'])} (fresh {fmt_fresh(row.get('baseline_best_fresh'))}); "
                         f"{row['baseline_n']} sets).")
    lines.append(f"Smallest training-set size with {metric} >= {thr}: search {fmt(small['search'])}, "
                 f"random baseline (mean) {fmt(small['baseline_mean'])}, "
                 f"random baseline (any set) {fmt(small['baseline_any'])} ('-': not reached).")
    return lines


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


def logbook_table(logbook: list[dict]) -> Table:
    return Table(["phase", "gen", "evaluations", "cached", "failed", "best", "mean", "front", "s"],
                 [[e["phase"], e["generation"], e["evaluations"], e["cached"], e["failures"],
                   e["best"] and e["best"]["value"], e["fitness"] and e["fitness"]["mean"],
                   e["front_size"], e["timing"]["seconds"]] for e in logbook])


def best_figures(run_dir: Path, summary: dict) -> list[Figure]:
    figures = []
    for p in summary["front"]:
        stem = best_stem(p["size"], p["hash"])
        figures.append(Figure(f"{stem}-train.png", f"training set n = {p['size']}, "
                              f"{summary['metric']} = {fmt(p['value'])}"))
        if (run_dir / f"{stem}-samples.png").is_file():
            figures.append(Figure(f"{stem}-samples.png", f"its samples at step {p['best_step']}"))
    return figures
