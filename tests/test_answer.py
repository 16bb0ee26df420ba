"""What a search reports: the answer per size (tsearch.analysis.answer), the feature regression
(tsearch.analysis.regression) and the features it regresses on (tsearch.search.features)."""

import numpy as np
import pytest
from scipy import stats

from tsearch.analysis.answer import curves, n_star, quantile_interval
from tsearch.analysis.regression import cv_r2, design, feature_regression
from tsearch.search.features import FEATURES, set_features


def planted(m=120, effect=0.3, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{name: float(rng.normal()) for name in FEATURES} for _ in range(m)]
    for r in rows[::7]:
        r["hamming"] = None  # a pairwise feature missing for one-image sets
    y = [effect * r["compactness"] + rng.normal(0, noise) for r in rows]
    return rows, y


def test_the_regression_recovers_a_planted_feature():
    rows, y = planted()
    fit = feature_regression(rows, y, FEATURES)
    assert fit["top"][0]["feature"] == "compactness"
    per_sd = 0.3 * np.std([r["compactness"] for r in rows])  # a standardized coefficient
    assert fit["top"][0]["coefficient"] == pytest.approx(per_sd, abs=0.02)
    lo, hi = fit["top"][0]["ci"]
    assert per_sd - 0.05 < lo < per_sd < hi < per_sd + 0.05
    assert all(abs(t["coefficient"]) < 0.03 for t in fit["top"][1:])
    assert fit["r2_cv"] > 0.9
    assert "hamming missing" in fit["features"]


def test_the_regression_on_noise_predicts_nothing_out_of_sample():
    rows, _ = planted()
    y = list(np.random.default_rng(1).normal(size=len(rows)))
    fit = feature_regression(rows, y, FEATURES)
    assert fit["r2_cv"] < 0.05 and fit["r2_in_sample"] > fit["r2_cv"]  # in sample: overfit
    assert feature_regression(rows[:9], y[:9], FEATURES) is None  # too few sets


def test_cv_r2_is_one_minus_sse_over_sst_by_hand():
    X = np.arange(12, dtype=float)[:, None]
    y = 2 * X[:, 0] + 1
    assert cv_r2(X, y, penalty=0.0, folds=3, seed=0) == pytest.approx(1.0)
    X2, labels = design([{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 2.0}], ["a", "b"])
    assert labels == ["a"] and X2.tolist() == [[1.0], [3.0]]  # a constant column is dropped


def test_quantile_intervals_are_order_statistics_with_their_binomial_coverage():
    values = list(range(20, 0, -1))  # 1..20, unsorted
    med = quantile_interval(values, 0.5)
    # B ~ Binomial(20, 1/2): P(6 <= B < 15) = 0.959 -> [x_(6), x_(15)]
    assert med["ci"] == [6.0, 15.0] and med["value"] == 10.5
    assert med["coverage"] == pytest.approx(stats.binom.cdf(14, 20, .5) - stats.binom.cdf(5, 20, .5), abs=1e-3)
    small = quantile_interval([0.1, 0.2, 0.3], 0.9)  # three sets cannot bound a 90th percentile
    assert small["ci"] == [0.1, 0.3] and small["coverage"] < 0.95


def test_curves_and_n_star():
    front = [{"hash": "a", "size": 1, "value": 0.2, "fresh": {"values": [0.1, 0.2, 0.15]}},
             {"hash": "b", "size": 3, "value": 0.7, "fresh": {"values": [0.6, 0.55, 0.65]}}]
    rows = curves((1, 2, 4), {1: [0.0, 0.1, 0.05], 4: [0.4, 0.6, 0.5, 0.7]}, {"search": front, "control": []})
    assert [r["search"]["hash"] for r in rows] == ["a", "a", "b"]
    assert rows[1]["typical"] is None and rows[0]["control"] is None
    assert rows[2]["typical"]["median"]["value"] == pytest.approx(0.55)
    stars = n_star(rows, 0.5)
    assert stars["search"] == {"n_star": 4, "largest": pytest.approx(0.6)}
    assert stars["typical"]["n_star"] == 4 and stars["control"] == {"n_star": None, "largest": None}


def test_features_of_shapes_by_hand():
    square = np.array([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]])
    notch = np.array([[0.2, 0.2], [0.8, 0.2], [0.5, 0.5], [0.8, 0.8], [0.2, 0.8]])
    images = -np.ones((2, 10, 10))
    images[0, 2:8, 2:8] = 1
    images[1, 2:8, 2:5] = 1
    f = set_features(images, [square, notch])
    area_notch = 0.36 - 0.5 * 0.6 * 0.3
    assert f["convexity"] == pytest.approx((1 + area_notch / 0.36) / 2)
    assert f["vertices"] == 4.5
    assert f["overlap"] == pytest.approx(18 / 36) and f["hamming"] == pytest.approx(18 / 100)
    assert f["white"] == pytest.approx((36 + 18) / 200) and f["white_sd"] == pytest.approx(9 / 100)
    one = set_features(images[:1], [square])
    assert one["compactness"] == pytest.approx(np.pi / 4) and one["overlap"] is None


def test_landscape_separates_set_variance_from_seed_noise():
    from tsearch.analysis.answer import landscape

    rng = np.random.default_rng(3)
    means = rng.normal(0, 0.3, size=400)  # sets: sd 0.3; seeds: sd 0.1 -> ICC 0.9
    baseline = list(means + rng.normal(0, 0.1, size=400))
    resampled = [list(m + rng.normal(0, 0.1, size=4)) for m in means[:100]]
    land = landscape(baseline, resampled)
    assert land["seed_sd"] == pytest.approx(0.1, abs=0.01) and land["between_sd"] == pytest.approx(0.3, abs=0.03)
    assert land["icc"] == pytest.approx(0.9, abs=0.03)
    assert landscape(baseline, [[0.1]]) is None  # no set trained twice: no seed noise
