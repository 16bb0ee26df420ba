"""What a finished search found, as numbers (no files, no torch): pareto.json's content.

    front       the search's Pareto front (size vs fitness), with each member's fresh values
    baseline    the random baseline per size: n, mean, sd (population), max, its best set
    comparison  search against baseline at each size of search.size_grid
    fresh       {values, mean, sd}: a set's values under search.reevaluate_seeds fresh seeds;
                sd is the sample sd (ddof 1), None below two values

``state`` is a :class:`tsearch.search.state.SearchState` (strategies, fitness cache, logbook).
:func:`reevaluated_genomes` chooses what the fresh seeds re-evaluate.
"""

from __future__ import annotations

import numpy as np

from ..config import SearchConfig


def summarize(cfg: SearchConfig, state, fresh: dict[str, list] | None = None) -> dict:
    """pareto.json: front, baseline and their comparison, from the search state and the
    fresh-seed values (genome hash -> values, see tsearch.runs.evolve.reevaluate)."""
    s, fresh = cfg, fresh or {}
    search, baseline = evaluated_points(cfg, state)
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


def evaluated_points(cfg: SearchConfig, state) -> tuple[list[dict], list[dict]]:
    """(search points, baseline points): {hash, size, value} of each phase's cached evaluations,
    by size then hash. A ``random`` search is its own baseline."""
    phases = [e["phase"] for e in state.logbook]
    points = {"baseline": [], "search": []}
    for h, entry in sorted(state.cache.items(), key=lambda item: (item[1]["size"], item[0])):
        if entry["value"] is not None and entry["step"] < len(phases):
            points[phases[entry["step"]]].append({"hash": h, "size": entry["size"], "value": entry["value"]})
    random_search = cfg.strategy == "random"
    return points["search"], points["baseline"] or (points["search"] if random_search else [])


def best_per_size(points: list[dict]) -> dict[int, dict]:
    """The highest-valued point at each size; a tie goes to the smaller hash (points come
    sorted by size then hash), so the choice is deterministic."""
    best = {}
    for p in points:
        if p["size"] not in best or p["value"] > best[p["size"]]["value"]:
            best[p["size"]] = p
    return best


def reevaluated_genomes(cfg: SearchConfig, state) -> list:
    """What the fresh seeds re-evaluate: the Pareto front, then the best random set at each size
    (its winner's curse is the fair comparison), each once. A ``random`` search holds only its
    last generation's genomes, so a best set it no longer holds is skipped."""
    held = {g.hash: g for g in state.genomes()}
    bests = [held[p["hash"]] for p in best_per_size(evaluated_points(cfg, state)[1]).values()
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
