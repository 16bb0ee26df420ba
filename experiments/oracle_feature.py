"""Issue 28, item 2: is the local (ELS) oracle's train-free fitness a useful screening feature?

For N random training sets of the packaged evolve regime (polygons at 10x10, sizes
n_min..n_max of the packaged search, as many at each), each set is

    trained   once, as tsearch evolve trains it (the UNet, its training seed from (run seed,
              set hash): the value an evolve run records for that set), its fitness
              (search.fitness_metric) read at its fitness record
    oracle    sampled from the local (ELS) machine on the same set (model.kind = "local",
              patch 3, black padding: tsearch.oracles.local), no training, scored the same way:
              the oracle's "predicted fitness"

and timed (wall clock, one process, torch threads as configured). Then:

    Spearman(oracle, trained)                  with its p value; within each size, and partial
                                               on size (both grow with the set's size)
    out-of-sample R^2 of the screening surrogate (tsearch.search.screening.Surrogate, a
    Gaussian process, and its "linear" kind, Bayesian ridge) on the set features, with and
    without the oracle's value as a feature, by 5-fold cross-validation repeated over 20 fold
    draws (mean and sd over draws); the same
    for the feature regression's ridge (tsearch.analysis.regression, one fold draw), and the
    ridge on the oracle's value alone
    cost: the oracle's seconds per set against a training's

Each set's line goes to OUT.jsonl as it finishes (a killed run goes on where it stopped);
``--analyze`` prints the analysis of what OUT.jsonl holds.

    nice -n 10 python experiments/oracle_feature.py --sets 36 --out results/oracle_feature
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tsearch import configs
from tsearch.config import load_config
from tsearch.runs.screen_oracle import oracle_config
from tsearch.search.features import FEATURES, set_features
from tsearch.search.genomes import random_genome
from tsearch.seeding import training_seed
from tsearch.targets import build_target
from tsearch.tasks import EvalTask


def measure(config, genome, *, oracle: bool) -> tuple[dict, float]:
    from tsearch.engine.evaluator import evaluate

    cfg = oracle_config(config) if oracle else config
    task = EvalTask.from_config(cfg, task_id=genome.hash, seed=training_seed(config.run.seed, genome.hash),
                                train_params=genome.elements)
    started = time.perf_counter()
    [result] = evaluate([task], config.engine)
    seconds = time.perf_counter() - started
    best = result.best(config.search.fitness_metric) if result.ok else None
    return ({} if best is None else dict(best.metrics)), seconds


def collect(config, n_sets: int, out: Path, seed: int) -> None:
    target, rng = build_target(config.target), np.random.default_rng(seed)
    sizes = list(range(config.search.n_min, config.search.n_max + 1))
    genomes = [random_genome(target, sizes[i % len(sizes)], rng, allow_duplicates=False) for i in range(n_sets)]
    done = {json.loads(line)["hash"] for line in out.read_text().splitlines()} if out.exists() else set()
    for genome in genomes:
        if genome.hash in done:
            continue
        oracle, oracle_s = measure(config, genome, oracle=True)
        trained, trained_s = measure(config, genome, oracle=False)
        line = {"hash": genome.hash, "size": genome.size,
                "features": set_features(genome.render(target), genome.elements),
                "oracle": oracle, "oracle_s": oracle_s, "trained": trained, "trained_s": trained_s}
        with out.open("a") as f:
            f.write(json.dumps(line) + "\n")
        print(f"n={genome.size} oracle {oracle.get(config.search.fitness_metric)} ({oracle_s:.1f} s) "
              f"trained {trained.get(config.search.fitness_metric)} ({trained_s:.1f} s)", flush=True)


def cv_r2(rows, y, *, kind: str = "gp", folds: int = 5, draws: int = 20) -> np.ndarray:
    """Out-of-fold R^2 of the screening surrogate, one per fold draw (draw d: folds from seed d)."""
    from tsearch.search.screening import Surrogate

    names = list(rows[0])
    scores = []
    for draw in range(draws):
        fold_of = np.random.default_rng(draw).permutation(len(y)) % folds
        predicted = np.empty(len(y))
        for k in range(folds):
            train, test = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
            model = Surrogate([rows[i] for i in train], y[train], names, kind)
            predicted[test] = model.predict([rows[i] for i in test])[0]
        scores.append(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    return np.array(scores)


def _ridge_r2(rows, y) -> float | None:
    """The feature regression's out-of-fold R^2 (tsearch.analysis.regression: ridge, 5 folds)."""
    from tsearch.analysis.regression import cv_r2 as ridge_cv_r2
    from tsearch.analysis.regression import design

    X, _ = design(rows, list(rows[0]))
    return ridge_cv_r2(X, y, penalty=1.0, folds=5, seed=0)


def _spread(scores: np.ndarray) -> dict:
    """Mean, sd and range over the fold draws."""
    return {"mean": float(scores.mean()), "sd": float(scores.std()), "min": float(scores.min()),
            "max": float(scores.max())}


def _residual(y: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """y minus its mean at each size (ranks regressed on size as a factor)."""
    return y - np.array([y[sizes == n].mean() for n in sizes])


def analyze(out: Path, metric: str) -> dict:
    from scipy import stats

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    lines = [x for x in lines if x["trained"].get(metric) is not None and x["oracle"].get(metric) is not None]
    trained = np.array([x["trained"][metric] for x in lines])
    oracle = np.array([x["oracle"][metric] for x in lines])
    rho = stats.spearmanr(oracle, trained)
    sizes = np.array([x["size"] for x in lines])
    # both grow with the set's size: within each size, and on the ranks with size regressed out
    within = {int(n): float(stats.spearmanr(oracle[sizes == n], trained[sizes == n]).statistic)
              for n in np.unique(sizes) if (sizes == n).sum() >= 4}
    partial = stats.pearsonr(*(_residual(stats.rankdata(v), sizes) for v in (oracle, trained)))
    base = [{k: x["features"].get(k) for k in FEATURES} for x in lines]
    with_oracle = [{**b, "oracle": o} for b, o in zip(base, oracle)]
    surrogate = {}
    for kind in ("gp", "linear"):  # the same fold draws with and without: the gain is paired
        without, with_ = cv_r2(base, trained, kind=kind), cv_r2(with_oracle, trained, kind=kind)
        surrogate[kind] = {"features": _spread(without), "features_and_oracle": _spread(with_),
                           "gain": _spread(with_ - without)}
    ridge = {name: _ridge_r2(rows, trained)
             for name, rows in (("features", base), ("features_and_oracle", with_oracle))}
    cost = np.array([x["oracle_s"] for x in lines]) / np.array([x["trained_s"] for x in lines])
    return {"metric": metric, "sets": len(lines), "spearman": float(rho.statistic), "p": float(rho.pvalue),
            "spearman_within_size": within, "spearman_partial_on_size": float(partial.statistic),
            "partial_p": float(partial.pvalue), "per_size": {int(n): int((sizes == n).sum()) for n in np.unique(sizes)},
            "surrogate_r2": surrogate, "ridge_r2": ridge,
            "oracle_alone_r2": _ridge_r2([{"oracle": o} for o in oracle], trained),
            "oracle_s_median": float(np.median([x["oracle_s"] for x in lines])),
            "trained_s_median": float(np.median([x["trained_s"] for x in lines])),
            "cost_ratio_median": float(np.median(cost)),
            "trained_mean": float(trained.mean()), "trained_sd": float(trained.std(ddof=1)),
            "oracle_mean": float(oracle.mean()), "oracle_sd": float(oracle.std(ddof=1))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=36)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--out", default="results/oracle_feature")
    parser.add_argument("--metric", default=None, help="default: the packaged search.fitness_metric")
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    config = load_config(configs.path("evolve"))
    out = Path(args.out).with_suffix(".jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.analyze:
        collect(config, args.sets, out, args.seed)
    print(json.dumps(analyze(out, args.metric or config.search.fitness_metric), indent=1))
