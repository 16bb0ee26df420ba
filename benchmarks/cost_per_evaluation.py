"""Seconds per evaluation of scoring paths (training budget, two-stage sampling, stopping after
the peak, bf16) against a reference cost, and whether the fitness landscape stays intact.

    python benchmarks/cost_per_evaluation.py [--sets 6] [--seeds 3] [--n 2]
        [--path NAME=CONFIG ...] [--set NAME:KEY=VALUE ...] [--metric g]

The reference every ratio is taken against, then each ``--path NAME=CONFIG`` (a packaged
config or TOML file; default: ``evolve=evolve``, the packaged evolve config as it is), each
with its ``--set NAME:KEY=VALUE`` overrides (``--no-reference``: the first path is the
reference):

    reference  exp2 with train.steps=400, train.n_checkpoints=6, train.first_checkpoint=25,
               train.stop_when_copy=0.95, train.stop_patience=2, metrics.n_bootstrap=0

Every path evaluates the same ``--sets`` random n-image training sets (drawn from the target with
their own seeds) x ``--seeds`` task seeds, one evaluation at a time, one process, one torch
thread, each path from cold process caches (``--warm K``: then K untimed evaluations of other
sets, as a worker in the middle of a search has them warm). A training is the same on every path with the same
budget and precision (its generator derives from the task seed; sampling has its own streams),
so paths compare paired.

Prints one JSON line per path (wall and CPU seconds per evaluation, the wall split, training steps run, the
reported values) and one per path against the reference: the cost ratio, in wall and in CPU
seconds (the process has one thread, so on a machine shared with other jobs the CPU seconds
are the steadier measure; goal for the packaged evolve at n = 2: <= 1/3), the Spearman correlation
of the set means (goal >= 0.7), the
between-set share of variance (goal >= 0.5: sets, not seeds, decide the fitness), and, where
the path chooses its step on a small batch (sampler.n_select) and the reference scores every
step in full with the same scored steps, how often both pick the same step and what choosing
on the small batch costs in the reference's own values.

Check that it runs, at a tiny size:
    python benchmarks/cost_per_evaluation.py --sets 2 --seeds 1 --set reference:train.steps=60 \\
        --set reference:sampler.n_samples=16 --set reference:sampler.n_steps=10 \\
        --path small=exp2 --set small:train.steps=60 --set small:sampler.n_samples=16 \\
        --set small:sampler.n_steps=10 --set small:sampler.n_select=8
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


def training_sets(config, n: int, count: int, first: int = 1000) -> list[np.ndarray]:
    target = shared_target(config.target)
    return [target.sample(n, seeding.numpy_rng(first + i, "cost_set")).images for i in range(count)]


def measure(name: str, config, sets: list[np.ndarray], seeds: int, metric: str, warm: int = 0) -> dict:
    """Evaluate every (set, seed) one at a time; values[set][seed] = the reported fitness.
    ``warm`` untimed evaluations of other sets first: the process caches of a worker in the
    middle of a search (the chance table of the validity test, the validity memo)."""
    clear_process_caches()
    for i, images in enumerate(training_sets(config, len(sets[0]), warm, first=2000)):
        evaluate([EvalTask.from_config(config, task_id=f"warm{i}", seed=99, train_images=images)],
                 config.engine)
    tasks = [EvalTask.from_config(config, task_id=f"s{i}_{k}", seed=k, train_images=images)
             for i, images in enumerate(sets) for k in range(seeds)]
    t0, cpu0 = time.perf_counter(), time.process_time()
    results = [evaluate([t], config.engine)[0] for t in tasks]
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    values = np.array([np.nan if r.best(metric) is None else r.best(metric).metrics[metric]
                       for r in results], dtype=float).reshape(len(sets), seeds)
    split = {key: round(sum(r.timings.get(key, 0.0) for r in results) / len(tasks), 3)
             for key in ("train_s", "sample_s", "metrics_s")}
    return {"path": name, "evaluations": len(tasks), "s_per_evaluation": wall / len(tasks),
            "cpu_s_per_evaluation": cpu / len(tasks), **split,
            "training_steps": sum(max((s.step for s in r.scored), default=0) for r in results),
            "stopped": sum(r.stopped_at is not None for r in results),
            "failed": sum(not r.ok for r in results), "values": values.round(4).tolist(),
            "chosen": [None if r.best(metric) is None else r.best(metric).step for r in results],
            "per_step": [{s.step: s.metrics.get(metric) for s in r.scored} for r in results]}


def between_share(values: np.ndarray) -> float:
    """Share of the variance of the values that lies between set means (one-way ANOVA)."""
    total = np.nanvar(values)
    return float(np.nanvar(np.nanmean(values, axis=1)) / total) if total > 0 else float("nan")


def step_agreement(path: dict, reference: dict) -> dict:
    """Where the reference scored every step in full: does the path choose the reference's best
    step, and how much of the reference's best value is lost at the path's chosen step?"""
    same, lost = [], []
    for chosen, ref_steps, ref_chosen in zip(path["chosen"], reference["per_step"], reference["chosen"]):
        if chosen is None or ref_chosen is None or chosen not in ref_steps:
            continue
        same.append(chosen == ref_chosen)
        lost.append(ref_steps[ref_chosen] - ref_steps[chosen])
    if not same:
        return {}
    return {"same_step": f"{sum(same)}/{len(same)}", "reference_value_lost_mean": round(float(np.mean(lost)), 4),
            "reference_value_lost_max": round(float(np.max(lost)), 4)}


def compare(path: dict, reference: dict) -> dict:
    rv, pv = np.array(reference["values"]), np.array(path["values"])
    rho = spearmanr(np.nanmean(rv, axis=1), np.nanmean(pv, axis=1)).statistic
    return {"path": path["path"], "against": reference["path"],
            "cost_ratio": round(path["s_per_evaluation"] / reference["s_per_evaluation"], 3),
            "cpu_cost_ratio": round(path["cpu_s_per_evaluation"] / reference["cpu_s_per_evaluation"], 3),
            "training_steps_ratio": round(path["training_steps"] / max(reference["training_steps"], 1), 3),
            "spearman_set_means": round(float(rho), 3),
            "between_set_share": round(between_share(pv), 3),
            "between_set_share_reference": round(between_share(rv), 3),
            "mean_difference": round(float(np.nanmean(pv - rv)), 4),
            **step_agreement(path, reference)}


def parse_paths(specs: list[str] | None, sets: list[str],
                reference: bool = True) -> dict[str, tuple[str, list[str]]]:
    """The reference path, then each NAME=CONFIG (default: evolve), each with its --set items."""
    paths = {"reference": ("exp2", REFERENCE)} if reference else {}
    for spec in specs or ["evolve=evolve"]:
        name, _, config = spec.partition("=")
        if not name or not config or name == "reference":
            raise SystemExit(f"--path {spec}: expected NAME=CONFIG with NAME other than reference")
        paths[name] = (config, [])
    for item in sets:
        name, _, override = item.partition(":")
        if name not in paths:
            raise SystemExit(f"--set {item}: no path named {name!r} (paths: {', '.join(paths)})")
        paths[name] = (paths[name][0], [*paths[name][1], override])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--metric", default="g")
    parser.add_argument("--warm", type=int, default=0,
                        help="untimed evaluations per path first (a worker's caches mid-search)")
    parser.add_argument("--path", action="append", help="NAME=CONFIG (repeatable; reference first)")
    parser.add_argument("--set", dest="sets_", action="append", default=[], help="NAME:KEY=VALUE")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the reference path: the first --path is compared against")
    args = parser.parse_args()
    torch.set_num_threads(1)
    common = ["engine.threads=1", "engine.metric_threads=1", f"run.n={args.n}",
              f"sampler.select_metric={args.metric}"]
    paths = parse_paths(args.path, args.sets_, reference=not args.no_reference)
    built = {name: load_config(configs.resolve(config), [*common, *overrides])
             for name, (config, overrides) in paths.items()}
    sets = training_sets(next(iter(built.values())), args.n, args.sets)
    records = []
    for name, config in built.items():
        records.append(measure(name, config, sets, args.seeds, args.metric, args.warm))
        print(json.dumps({**records[-1], "overrides": paths[name][1], "config": paths[name][0]}),
              flush=True)
    for record in records[1:]:
        print(json.dumps(compare(record, records[0])), flush=True)


if __name__ == "__main__":
    main()
