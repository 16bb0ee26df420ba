"""Seconds per evaluation of a candidate scoring (two-stage sampling, stopping after the peak,
precision) against the reference cost, and whether the fitness landscape stays intact.

    python benchmarks/cost_per_evaluation.py [--sets 6] [--seeds 3] [--n 2]
        [--candidate KEY=VALUE ...] [--reference KEY=VALUE ...] [--metric g]

Reference: ``tsearch configs exp2`` with train.steps=400, train.n_checkpoints=6,
train.first_checkpoint=25, train.stop_when_copy=0.95, train.stop_patience=2,
metrics.n_bootstrap=0. Candidate: the reference plus the ``--candidate`` overrides (default:
sampler.n_select=16, train.stop_after_peak=2). Both evaluate the same ``--sets`` random
n-image training sets (drawn from the target with their own seeds) x ``--seeds`` task seeds,
one process, one torch thread, reference first, each path from cold process caches.

Prints one JSON line per path (seconds per evaluation, training steps run) and a summary:
cost ratio (candidate / reference seconds per evaluation; the goal is <= 1/3), the Spearman
correlation of the set means (goal >= 0.7), and the between-set share of variance of the
candidate's values (goal >= 0.5: sets, not seeds, decide the fitness).

Check that it runs, at a tiny size:
    python benchmarks/cost_per_evaluation.py --sets 3 --seeds 2 --reference train.steps=60 \\
        --reference sampler.n_samples=16 --reference sampler.n_steps=10 --candidate sampler.n_select=8
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from tsearch import configs, seeding
from tsearch.config import load_config
from tsearch.engine import EvalTask, evaluate
from tsearch.engine.score import clear_process_caches, shared_target

REFERENCE = ["train.steps=400", "train.n_checkpoints=6", "train.first_checkpoint=25",
             "train.stop_when_copy=0.95", "train.stop_patience=2", "metrics.n_bootstrap=0"]
CANDIDATE = ["sampler.n_select=16", "train.stop_after_peak=2"]


def training_sets(config, n: int, count: int) -> list[np.ndarray]:
    target = shared_target(config.target)
    return [target.sample(n, seeding.numpy_rng(1000 + i, "cost_set")).images for i in range(count)]


def measure(name: str, config, sets: list[np.ndarray], seeds: int, metric: str) -> dict:
    """Evaluate every (set, seed) one at a time; values[set][seed] = the reported fitness."""
    clear_process_caches()
    tasks = [EvalTask.from_config(config, task_id=f"s{i}_{k}", seed=k, train_images=images)
             for i, images in enumerate(sets) for k in range(seeds)]
    t0 = time.perf_counter()
    results = [evaluate([t], config.engine)[0] for t in tasks]
    wall = time.perf_counter() - t0
    values = np.array([np.nan if r.best(metric) is None else r.best(metric).metrics[metric]
                       for r in results], dtype=float).reshape(len(sets), seeds)
    steps = sum(max(s.step for s in r.scored) if r.scored else 0 for r in results)
    return {"path": name, "evaluations": len(tasks), "s_per_evaluation": wall / len(tasks),
            "training_steps": steps, "failed": sum(not r.ok for r in results),
            "values": values.round(4).tolist()}


def between_share(values: np.ndarray) -> float:
    """Share of the variance of the values that lies between set means (one-way ANOVA)."""
    total = np.nanvar(values)
    return float(np.nanvar(np.nanmean(values, axis=1)) / total) if total > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--metric", default="g")
    parser.add_argument("--reference", action="append", default=[])
    parser.add_argument("--candidate", action="append", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = [*REFERENCE, "engine.threads=1", "engine.metric_threads=1", f"run.n={args.n}",
            f"sampler.select_metric={args.metric}", *args.reference]
    reference = load_config(configs.resolve("exp2"), base)
    candidate = load_config(configs.resolve("exp2"), [*base, *(args.candidate or CANDIDATE)])
    sets = training_sets(reference, args.n, args.sets)
    ref = measure("reference", reference, sets, args.seeds, args.metric)
    new = measure("candidate", candidate, sets, args.seeds, args.metric)
    for record in (ref, new):
        print(json.dumps(record))
    rv, nv = np.array(ref["values"]), np.array(new["values"])
    rho = spearmanr(np.nanmean(rv, axis=1), np.nanmean(nv, axis=1)).statistic
    print(json.dumps({"cost_ratio": round(new["s_per_evaluation"] / ref["s_per_evaluation"], 3),
                      "steps_saved": 1 - new["training_steps"] / max(ref["training_steps"], 1),
                      "spearman_set_means": round(float(rho), 3),
                      "between_set_share_reference": round(between_share(rv), 3),
                      "between_set_share_candidate": round(between_share(nv), 3),
                      "mean_difference": round(float(np.nanmean(nv - rv)), 4)}))


if __name__ == "__main__":
    main()
