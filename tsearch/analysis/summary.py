"""What a finished search found, as numbers (no files, no torch): pareto.json's content.

    front          the search's Pareto front (size vs in-search value), each member with its
                   fresh values and the features of its training set (tsearch.search.features)
    control_front  the same for the control arm (tsearch.search.control; [] when off)
    budget         evaluations of the search and of the control, the control's sizes
    comparison     search against control per size, on fresh values only (tsearch.analysis.compare)
    headline       the answer in words, from ``comparison``
    found          per arm: the mean features of its front (what distinguishes the sets)
    baseline       the "typical set" reference: random sets per size of size_grid, each
                   evaluated once and not selected (so unbiased): n, mean, sd, max, best set
    typical        per size of size_grid: each arm's proposal (fresh) against that reference
    answer         the research question (tsearch.analysis.answer): per size of size_grid the typical
                   random set (median, 90th percentile, mean, with intervals), the control's and
                   the search's best (fresh, with intervals); n* per arm; in words
    regression     which features of a set predict its fitness, over every evaluated set of
                   every phase (tsearch.analysis.regression): cross-validated R^2, top terms
    extremes       per size of size_grid: the best and the worst evaluated set (any phase), with
                   the mean over its trainings of answer.SIDE_METRICS (what the set makes the model draw)
    near_copy_sets the front sets (either arm) whose samples are mostly near copies: mean
                   near_copy over their trainings above NEAR_COPY_SHARE
    landscape      the share of fitness variance between sets (tsearch.analysis.answer.landscape)
    smallest_size  per arm, the smallest size whose fresh mean reaches the threshold
    training       the training budget (steps or epochs), its schedule, how often the best
                   scored step was the last one
    screening      only when search.screen_factor > 1 (tsearch.search.screening): per
                   generation the candidates screened and trained, how they were picked, the
                   surrogate's out-of-sample rank correlation and the features it leaned on
    fresh          {values, mean, sd}: a set's values under search.reevaluate_seeds fresh seeds;
                   sd is the sample sd (ddof 1), None below two values

In-search values (``value``, ``points``) are kept for the plots and labelled as such: they
are maxima over noisy evaluations and enter no comparison. ``state`` is a
:class:`tsearch.search.state.SearchState`; :func:`reevaluated_genomes` chooses what the fresh
seeds re-evaluate.
"""

from __future__ import annotations

import numpy as np

from ..config import SearchConfig, TrainConfig
from ..search.features import FEATURES, mean_features
from ..search.screening import summary as screening_summary
from ..search.state import PHASES
from .answer import NEAR_COPY_SHARE, curves, landscape, n_star, sentences, side_metrics
from .compare import compare_arms, headline, proposal, smallest_fresh
from .regression import feature_regression, sentence


def summarize(cfg: SearchConfig, state, fresh: dict[str, list] | None = None,
              features: dict[str, dict] | None = None, train: TrainConfig | None = None) -> dict:
    """pareto.json, from the search state, the fresh-seed values (genome hash -> values, see
    tsearch.runs.evolve.reevaluate) and the features of the evaluated sets (hash -> features)."""
    s, fresh, features = cfg, fresh or {}, features or {}
    points = evaluated_points(cfg, state)
    answer = answer_of(cfg, points, fronts := {arm: front_entries(state, arm, fresh, features)
                                               for arm in ("search", "control")})
    by_size = _baseline_by_size(points["baseline"], fresh)
    control = "control" in state.strategies
    budget = evaluation_budget(state) if control else None
    rows = compare_arms(fronts, alpha=s.alpha) if control and s.reevaluate_seeds else []
    smallest = {arm: smallest_fresh(fronts[arm], s.threshold) for arm in fronts}
    return {"metric": s.fitness_metric, "threshold": s.threshold, "strategy": s.strategy,
            "genome": s.genome,
            "reevaluate_seeds": s.reevaluate_seeds, "control": s.control if control else "none",
            "alpha": s.alpha, "budget": budget,
            "front": fronts["search"], "control_front": fronts["control"],
            "comparison": rows,
            "headline": headline(rows, metric=s.fitness_metric, k=s.reevaluate_seeds, alpha=s.alpha,
                                 budget=budget and budget["search"], smallest=smallest,
                                 threshold=s.threshold, control_budget=budget and budget["control"]),
            "found": {arm: mean_features([p["features"] for p in fronts[arm] if p["features"]])
                      for arm in fronts if fronts[arm]},
            "baseline": by_size, "points": points["search"], "control_points": points["control"],
            "typical": [_typical(n, fronts, by_size.get(str(n))) for n in s.size_grid],
            "smallest_size": {**smallest, "typical_mean": min(
                (int(n) for n, b in by_size.items() if b["mean"] >= s.threshold), default=None)},
            "training": None if train is None else training_summary(train, state, cfg.fitness_metric),
            "answer": answer, "regression": regression_of(cfg, points, features),
            "landscape": landscape([p["value"] for p in points["baseline"]],
                                   [[t["value"] for t in e["trainings"].values() if t["value"] is not None]
                                    for _, e in state.cache.items()]),
            "extremes": extremes(cfg, points, state.cache),
            "near_copy_sets": [{"arm": arm, "hash": p["hash"], "size": p["size"],
                                "near_copy": p["metrics"]["near_copy"]}
                               for arm in ("search", "control") for p in fronts[arm]
                               if (p["metrics"].get("near_copy") or 0) > NEAR_COPY_SHARE],
            # a screened search only (search.screen_factor > 1): what its surrogate did
            **({"screening": screened} if (screened := screening_summary(state.logbook)) else {})}


def answer_of(cfg: SearchConfig, points: dict[str, list[dict]], fronts: dict[str, list[dict]]) -> dict:
    """pareto.json's ``answer`` (tsearch.analysis.answer)."""
    baseline = {}
    for p in points["baseline"]:
        baseline.setdefault(p["size"], []).append(p["value"])
    rows = curves(cfg.size_grid, baseline, fronts)
    stars = n_star(rows, cfg.threshold)
    return {"curves": rows, "n_star": stars, "lines": sentences(rows, stars, cfg.fitness_metric, cfg.threshold)}


def regression_of(cfg: SearchConfig, points: dict[str, list[dict]], features: dict[str, dict]) -> dict:
    """pareto.json's ``regression``: every evaluated set with features (tsearch.analysis.regression)."""
    rows = [p for phase in PHASES for p in points[phase] if p["hash"] in features]
    fit = feature_regression([features[p["hash"]] for p in rows], [p["value"] for p in rows], FEATURES)
    return {"fit": fit, "sentence": sentence(fit, cfg.fitness_metric)}


def extremes(cfg: SearchConfig, points: dict[str, list[dict]], cache) -> dict[str, dict]:
    """Per size of size_grid: the best and the worst evaluated set (mean over its trainings)."""
    out = {}
    for n in cfg.size_grid:
        at_n = [{**p, "phase": phase, "metrics": side_metrics(cache.get(p["hash"])["metrics"])}
                for phase in PHASES for p in points[phase] if p["size"] == n]
        if at_n:
            out[str(n)] = {"best": max(at_n, key=lambda p: (p["value"], p["hash"])),
                           "worst": min(at_n, key=lambda p: (p["value"], p["hash"]))}
    return out


def evaluated_points(cfg: SearchConfig, state) -> dict[str, list[dict]]:
    """Phase -> {hash, size, value} of its cached evaluations, by size then hash. A ``random``
    search is its own baseline."""
    phases = [e["phase"] for e in state.logbook]
    points = {phase: [] for phase in PHASES}
    for h, entry in sorted(state.cache.items(), key=lambda item: (item[1]["size"], item[0])):
        if entry["value"] is not None and entry["step"] < len(phases):
            points[phases[entry["step"]]].append({"hash": h, "size": entry["size"], "value": entry["value"],
                                                  "trainings": entry.get("n", 1)})
    if cfg.strategy == "random" and not points["baseline"]:
        points["baseline"] = points["search"]
    return points


def evaluation_budget(state) -> dict:
    """Evaluations run by the search and by the control, in full-budget equivalents (the
    logbook's ``evaluations``: cached sets excluded; a multi-fidelity rung's count times its
    fraction), and the control's sizes (tsearch.search.control)."""
    count = {phase: sum(full_equivalents(e) for e in state.logbook if e["phase"] == phase)
             for phase in ("search", "control")}
    plan = state.strategies["control"].plan or []
    return {**count, "sizes": {str(n): plan.count(n) for n in sorted(set(plan))}}


def full_equivalents(entry: dict) -> float | int:
    """A logbook entry's evaluations, each rung's counted at its fraction of the budget."""
    if "rungs" not in entry:
        return entry["evaluations"]
    return sum(r["fraction"] * r["evaluations"] for r in entry["rungs"])


def front_entries(state, arm: str, fresh: dict, features: dict) -> list[dict]:
    """An arm's Pareto front: in-search value, fresh values, best step, metrics, features."""
    if arm not in state.strategies:
        return []
    return [{**_point(g, v), "fresh": fresh_summary(fresh.get(g.hash)),
             "trainings": state.cache.get(g.hash).get("n"), "se": state.cache.get(g.hash).get("se"),
             "best_step": state.cache.get(g.hash)["best_step"],
             "metrics": state.cache.get(g.hash)["metrics"], "features": features.get(g.hash)}
            for g, v in state.strategies[arm].archive.entries]


def best_per_size(points: list[dict]) -> dict[int, dict]:
    """The highest-valued point at each size; a tie goes to the smaller hash (points come
    sorted by size then hash), so the choice is deterministic."""
    best = {}
    for p in points:
        if p["size"] not in best or p["value"] > best[p["size"]]["value"]:
            best[p["size"]] = p
    return best


def reevaluated_genomes(cfg: SearchConfig, state) -> list:
    """What the fresh seeds re-evaluate: the search's Pareto front, the control's, then the
    best random baseline set at each size, each once. A ``random`` search holds only its last
    generation's genomes, so a best set it no longer holds is skipped."""
    held = {g.hash: g for g in state.genomes()}
    bests = [held[p["hash"]] for p in best_per_size(evaluated_points(cfg, state)["baseline"]).values()
             if p["hash"] in held]
    fronts = [g for arm in ("search", "control") if arm in state.strategies
              for g in state.strategies[arm].archive.genomes]
    return list({g.hash: g for g in fronts + bests}.values())


def fresh_summary(values: list | None) -> dict | None:
    """{values, mean, sd} of one set's fresh values (failures are None and left out of mean and
    sd); sd is the sample sd (ddof 1: a handful of seeds), None below two values."""
    if values is None:
        return None
    ok = np.array([v for v in values if v is not None], dtype=float)
    return {"values": list(values), "mean": float(ok.mean()) if len(ok) else None,
            "sd": float(ok.std(ddof=1)) if len(ok) >= 2 else None}


def training_summary(train: TrainConfig, state, metric: str) -> dict:
    """The training budget, and how many evaluations had their best scored step at the last
    step (most of them: training was too short for the best to be inside the schedule)."""
    entries = [(e["size"], t) for _, e in state.cache.items() for t in e["trainings"].values()
               if t["best_step"] is not None]
    at_last = sum(t["best_step"] == train.steps_for(n) for n, t in entries)
    return {"budget": "epochs" if train.epochs > 0 else "steps", "epochs": train.epochs or None,
            "steps": train.steps or None, "batch_size": train.batch_size, "schedule": train.schedule,
            "n_checkpoints": train.n_checkpoints, "evaluations": len(entries), "best_at_last_step": at_last,
            **({"min_steps": train.min_steps} if train.min_steps else {})}  # absent: no floor


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


def _typical(n: int, fronts: dict[str, list[dict]], baseline: dict | None) -> dict:
    """At one size of size_grid: each arm's proposal for <= n images (fresh values) and the
    typical random set of n images (unselected single evaluations)."""
    arms = {arm: proposal(front, n) for arm, front in fronts.items()}
    return {"size": n, **{f"{arm}_fresh": p and p["fresh"] for arm, p in arms.items()},
            **{f"{arm}_size": p and p["size"] for arm, p in arms.items()},
            "baseline_mean": baseline and baseline["mean"], "baseline_sd": baseline and baseline["sd"],
            "baseline_n": baseline and baseline["n"],
            "baseline_best_fresh": baseline and baseline["best"]["fresh"]}
