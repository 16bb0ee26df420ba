"""Is there something for a search to find? The fitness landscape of random training sets.

    python benchmarks/fitness_landscape.py [--config evolve] [--n 2] [--sets 6] [--seeds 3]
        [--set KEY=VALUE ...] [--out DIR]

Trains ``--sets`` random n-image training sets drawn from the target (seeded per set) x ``--seeds``
task seeds each, in the config's regime as the search would (same scoring, stopping, precision),
one evaluation at a time in one process, and prints:

- one JSON line per evaluation: the set, the seed, and at the reported step the search's fitness
  beside the other metrics a reader needs to see what it rewards (learned, coverage and its
  chance level, g_shift_above_chance (the former fitness), precision, recall, near_copy, g_far, valid);
- a summary line: the one-way random-effects intraclass correlation ICC(1) of the fitness
  (Shrout & Fleiss 1979) with its exact F-based 95% interval, the between-set and seed sds,
  the set means, the typical set (median and mean of all values), and Spearman correlations of
  the set means of the fitness with those of the other metrics.

``--out DIR``: the per-evaluation lines (landscape.jsonl), the summary (summary.json), and one
PNG per set: its training images on the first row, 32 samples of its first seed's reported step
below (what the set makes the model draw).

Check that it runs, at a tiny size:
    python benchmarks/fitness_landscape.py --sets 2 --seeds 2 --set train.epochs=0 --set train.steps=30 \\
        --set sampler.n_samples=16 --set sampler.n_select=8 --set sampler.n_steps=10
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from tsearch import configs, seeding
from tsearch.config import load_config
from tsearch.engine import EvalTask, evaluate
from tsearch.engine.score import shared_target
from tsearch.store.images import save_grid

SHOWN = ("learned", "coverage", "coverage_chance", "g_shift_above_chance", "precision", "recall",
         "near_copy", "g_far", "valid")


def icc1(values: np.ndarray, confidence: float = 0.95) -> dict:
    """ICC(1) of a (sets, seeds) table and its F-based interval (Shrout & Fleiss 1979, case 1)."""
    k, m = values.shape
    grand = values.mean()
    msb = m * ((values.mean(axis=1) - grand) ** 2).sum() / (k - 1)
    msw = ((values - values.mean(axis=1, keepdims=True)) ** 2).sum() / (k * (m - 1))
    f = msb / msw if msw > 0 else np.inf
    tail = (1 - confidence) / 2
    f_lo, f_hi = f / stats.f.ppf(1 - tail, k - 1, k * (m - 1)), f / stats.f.ppf(tail, k - 1, k * (m - 1))
    to_icc = lambda x: (x - 1) / (x + m - 1)  # noqa: E731
    return {"icc": to_icc(f), "interval": [to_icc(f_lo), to_icc(f_hi)], "F": f,
            "between_sd": max(0.0, (msb - msw) / m) ** 0.5, "seed_sd": msw ** 0.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="evolve")
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--sets", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-set", type=int, default=1000, help="seed of the first set (sets use the next ones)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = load_config(configs.path(args.config) if not Path(args.config).exists() else args.config,
                         args.overrides)
    metric = config.search.fitness_metric
    target = shared_target(config.target)
    sets = [target.sample(args.n, seeding.numpy_rng(args.first_set + i, "landscape_set")).images
            for i in range(args.sets)]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    rows, t0 = [], time.perf_counter()
    for i, images in enumerate(sets):
        for seed in range(args.seeds):
            task = EvalTask.from_config(config, task_id=f"set{i}_seed{seed}", seed=seed, train_images=images,
                                        keep_samples=seed == 0)
            result = evaluate([task], config.engine)[0]
            best = result.best(metric)
            row = {"n": args.n, "set": i, "seed": seed, "step": best and best.step,
                   **{k: None if best is None else round(best.metrics.get(k, np.nan), 4) for k in SHOWN}}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out and seed == 0 and best is not None and best.samples is not None:
                save_grid(args.out / f"n{args.n}_set{i}.png", np.concatenate([images, best.samples[:32]]),
                          n_cols=max(args.n, 8))
    summary = summarize(rows, metric, args.sets, args.seeds)
    summary.update(n=args.n, config=args.config, overrides=args.overrides,
                   wall_s=round(time.perf_counter() - t0, 1))
    print(json.dumps(summary))
    if args.out:
        (args.out / f"landscape_n{args.n}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (args.out / f"summary_n{args.n}.json").write_text(json.dumps(summary, indent=1))


def summarize(rows: list[dict], metric: str, n_sets: int, n_seeds: int) -> dict:
    table = {k: np.array([np.nan if r[k] is None else r[k] for r in rows], float).reshape(n_sets, n_seeds)
             for k in SHOWN}
    fitness = table[metric]
    means = {k: np.nanmean(v, axis=1) for k, v in table.items()}
    out = {"metric": metric, "sets": n_sets, "seeds": n_seeds,
           "set_means": means[metric].round(4).tolist(),
           "typical_median": float(np.nanmedian(fitness)), "typical_mean": float(np.nanmean(fitness)),
           "mean_of_each_metric": {k: round(float(np.nanmean(v)), 4) if np.isfinite(v).any() else None
                                   for k, v in table.items()},
           "spearman_of_set_means": {k: round(float(stats.spearmanr(means[metric], v).statistic), 3)
                                     for k, v in means.items() if k != metric and np.ptp(v) > 0}}
    if n_seeds >= 2 and n_sets >= 2:
        out["landscape"] = {k: round(float(v), 4) if not isinstance(v, list) else [round(x, 4) for x in v]
                            for k, v in icc1(fitness).items()}
    return out


if __name__ == "__main__":
    main()
