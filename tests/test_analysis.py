"""Scaling fits, timescales and n*(d) on synthetic numbers with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tsearch.analysis.sweep import (
    analyse,
    compare_fits,
    fit_exponential,
    fit_linear,
    fit_power_law,
    n_star,
    peak,
    scaling_fits,
)
from tsearch.analysis.timescales import tau_gen, tau_mem
from tsearch.config import config_from_dict
from tsearch.seeding import numpy_rng
from tsearch.tasks import best_record

D = np.array([16, 36, 64, 100, 144] * 3, dtype=float)  # 5 sides x 3 seeds


def noisy(values, rng, sigma=0.05):
    return np.asarray(values) * np.exp(rng.normal(0, sigma, len(values)))


def test_power_law_recovers_exponent_and_wins_aic():
    # n* = 0.5 d^1.2 with 5% log-normal noise; CI must contain 1.2, AIC must prefer the power law.
    n = noisy(0.5 * D ** 1.2, numpy_rng(0, "power"))
    best, other = scaling_fits(D, n)
    assert best.name == "power law" and other.aic - best.aic > 10 and best.weight > 0.99
    assert best.ci["b"][0] < 1.2 < best.ci["b"][1]
    assert abs(best.params["b"] - 1.2) < 0.05  # tolerance: ~10 standard errors of b at this noise
    assert abs(np.log(best.params["a"] / 0.5)) < 0.2


def test_exponential_recovers_rate_and_wins_aic():
    # n* = 2 exp(0.03 d) (a linear code with rate ~0.043 would give c = rate ln 2)
    n = noisy(2 * np.exp(0.03 * D), numpy_rng(0, "exp"))
    best, other = scaling_fits(D, n)
    assert best.name == "exponential" and other.aic - best.aic > 10
    assert best.ci["c"][0] < 0.03 < best.ci["c"][1]
    assert abs(best.params["c"] - 0.03) < 0.002


def test_exact_data_fit_exactly():
    fit = fit_power_law([4, 9, 16], [8, 27, 64])  # n* = d^1.5
    assert fit.params["b"] == pytest.approx(1.5) and fit.params["a"] == pytest.approx(1.0)
    fit = fit_exponential([1, 2, 3], np.exp([1.0, 1.5, 2.0]))
    assert fit.params["c"] == pytest.approx(0.5) and fit.params["a"] == pytest.approx(np.exp(0.5))


def test_too_few_points_give_no_fit():
    assert scaling_fits([16, 16, 16], [2, 4, 4]) is None  # one d only
    assert scaling_fits([16, 36], [2, 4]) is None


def test_akaike_weights_sum_to_one():
    fits = compare_fits([fit_power_law(D, D), fit_exponential(D, D + 1)])
    assert sum(f.weight for f in fits) == pytest.approx(1.0)


def test_linear_fit_of_tau_mem_recovers_slope():
    n = np.array([4, 8, 16, 32, 64, 128], dtype=float)
    tau = 100 + 25 * n + numpy_rng(0, "tau").normal(0, 20, len(n))  # noise sd 20 steps
    fit = fit_linear(n, tau)
    assert fit.ci["b"][0] < 25 < fit.ci["b"][1] and abs(fit.params["b"] - 25) < 1.5
    assert fit.r2 > 0.99


def record(seed, n, peaks, metric="g_rel"):
    return {"seed": seed, "n_train": n,
            "checkpoints": [{"step": 10 * (i + 1), metric: p} for i, p in enumerate(peaks)]}


def test_n_star_uses_seed_means_and_per_seed_values():
    by_n = {2: [record(0, 2, [0.1, 0.2]), record(1, 2, [0.6, 0.1])],   # mean peak 0.4
            4: [record(0, 4, [0.3, 0.55]), record(1, 4, [0.5, 0.2])],  # mean peak 0.525
            8: [record(0, 8, [0.9]), record(1, 8, [None])]}
    mean_star, per_seed = n_star(by_n, "g_rel", 0.5)
    assert mean_star == 4 and per_seed == {0: 4, 1: 2}
    assert n_star(by_n, "g_rel", 0.95) == (None, {0: None, 1: None})


def test_timescales_follow_their_definitions():
    """tau_gen on g_shift, tau_mem on copy_shift; the former ones on valid and copy: valid
    counts the copies, so the former tau_gen sits at the end, past tau_mem."""
    records = [{"step": 10, "valid": 0.1, "copy": 0.0, "g": 0.1, "g_shift": 0.1, "copy_shift": 0.0},
               {"step": 20, "valid": 0.86, "copy": 0.02, "g": 0.6, "g_shift": 0.58, "copy_shift": 0.02},
               {"step": 40, "valid": 0.9, "copy": 0.3, "g": 0.6, "g_shift": 0.3, "copy_shift": 0.6},
               {"step": 80, "valid": 0.95, "copy": 0.9, "g": 0.05, "g_shift": 0.0, "copy_shift": 0.95}]
    assert tau_gen(records) == 20 and tau_mem(records) == 40
    assert tau_gen(records, "valid") == 20  # 0.86 >= 0.9 * 0.95 = 0.855
    assert tau_mem(records, "copy") == 40
    assert best_record(records)["step"] == 20  # ties go to the earliest
    assert tau_gen([{"step": 5, "g_shift": 0.0}]) is None
    assert tau_mem(records[:2]) is None
    copies_valid = [{**r, "valid": 1.0 if r["step"] == 80 else 0.5} for r in records]
    assert tau_gen(copies_valid, "valid") == 80 > tau_mem(copies_valid)


def test_undefined_values_are_skipped_by_peak():
    # coverage_unseen is NaN when the training set holds the whole support
    assert peak(record(0, 2, [float("nan"), 0.3, None], "coverage_unseen"), "coverage_unseen") == 0.3
    assert peak(record(0, 2, [float("nan")], "coverage_unseen"), "coverage_unseen") is None


def sweep_record(seed, n, d, peaks, metric, kind="dots", tau_mem_step=10):
    r = record(seed, n, peaks, metric)
    r.update(target_kind=kind, d=d, overrides={"run.seed": seed, "run.n": n})
    for c in r["checkpoints"]:
        c.update(valid=1.0, copy=1.0 if c["step"] >= tau_mem_step else 0.0, g=0.0)
    return r


def test_dots_n_star_counts_only_n_below_d_and_flat_tau_mem_has_no_fit():
    config = config_from_dict({"sweep": {"grid": {"run.n": [4, 8, 16, 32], "run.seed": [0]},
                                         "metric_by_target": {"dots": "coverage_unseen"}}})
    records = [sweep_record(0, 4, 16, [0.1], "coverage_unseen"),
               sweep_record(0, 8, 16, [0.2], "coverage_unseen"),
               sweep_record(0, 16, 16, [1.0], "coverage_unseen"),  # n >= d: a coin toss, ignored
               sweep_record(0, 32, 16, [1.0], "coverage_unseen")]
    a = analyse(records, config)
    assert a.metric_of == {"all": "coverage_unseen"}
    assert a.n_star["all"] == {16: (None, {0: None})}
    assert a.tau_fits["all"] is None  # tau_mem = 10 at every n: no slope to fit
