"""Metrics on hand-built sample sets whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsearch.config import MetricsConfig
from tsearch.metrics import bootstrap_intervals, compute_metrics, min_hamming, nearest_ratio
from tsearch.targets.base import Validity
from tsearch.targets.bernoulli import BernoulliTarget
from tsearch.targets.dots import DotsTarget

SIDE = 4
DOTS = DotsTarget(side=SIDE, k=1)  # support: the 16 one-dot images
SUPPORT = torch.tensor(DOTS.enumerate_support())  # (16, 4, 4), image i has its dot at pixel i


def score(samples, train, target=DOTS, n_bootstrap=200, **kwargs):
    novel_mass = target.novel_mass(train.numpy(), np.random.default_rng(0))
    return compute_metrics(samples, train, target, config=MetricsConfig(n_bootstrap=n_bootstrap),
                           novel_mass=novel_mass, rng=np.random.default_rng(1), **kwargs)


def two_dots() -> torch.Tensor:
    im = torch.full((1, SIDE, SIDE), -1.0)
    im[0, 0, 0] = im[0, 3, 3] = 1.0
    return im


def test_known_fractions_and_coverage():
    train = SUPPORT[[0, 1, 1]]  # 2 distinct training images: 14 unseen support images
    samples = torch.cat([SUPPORT[[0, 0, 1]],  # 3 exact copies
                         SUPPORT[[5, 5, 6, 9]],  # 4 novel, 3 distinct
                         two_dots().repeat(3, 1, 1)])  # 3 invalid
    report = score(samples, train)
    m = report.metrics
    assert m["valid"] == pytest.approx(0.7)
    assert m["copy"] == pytest.approx(0.3)
    assert m["novel"] == m["g"] == pytest.approx(0.4)
    assert m["g_rel"] == pytest.approx(0.4 / (14 / 16))
    assert m["distinct_novel"] == pytest.approx(0.3)
    assert m["coverage_unseen"] == pytest.approx(3 / 14)
    assert report.extra["white_count_hist"] == {"1": 7, "2": 3}
    assert report.extra["invalid_reasons"] == {"wrong_count": 3}


def test_raw_floats_are_binarized_and_near_copies_use_raw_distances():
    train = SUPPORT[[0, 5]]
    # shrunk towards 0: binarizes to train[0], at L2 0.1 * 4 from it and sqrt(7.36) from train[1]
    exact = SUPPORT[[0]] * 0.9
    # a blend of two training images: binarizes to train[0] but sits half-way (ratio ~ 1)
    blend = (0.45 * SUPPORT[[5]] + 0.55 * SUPPORT[[0]])
    report = score(torch.cat([exact, blend]), train)
    assert report.metrics["copy"] == 1.0
    assert report.metrics["copy_ratio"] == 0.5
    ratios = nearest_ratio(torch.cat([exact, blend]).flatten(1), train.flatten(1))
    assert ratios[0] == pytest.approx(0.4 / math.sqrt(7.36), abs=1e-3)
    assert ratios[1] == pytest.approx(0.45 / 0.55, abs=1e-3)  # distances 0.45 and 0.55 x ||y0 - y1||


def test_copy_ratio_is_nan_with_one_distinct_training_image():
    report = score(SUPPORT[[0, 2]], SUPPORT[[0, 0]])
    assert math.isnan(report.metrics["copy_ratio"])
    assert all(math.isnan(v) for v in report.intervals["copy_ratio"])
    assert report.metrics["copy"] == 0.5


def test_hamming_distances():
    y = SUPPORT[[0, 3]].flatten(1)
    s = torch.cat([SUPPORT[[3]], two_dots()]).flatten(1)  # two_dots = pixel 0 and pixel 15
    assert min_hamming(s, y).tolist() == [0, 1]


def test_precomputed_validity_is_used():
    samples = SUPPORT[[2, 3]]
    told = Validity(valid=np.array([False, True]), reason=np.array(["adjacent", "ok"]))
    report = score(samples, SUPPORT[[0]], validity=told)
    assert report.metrics["valid"] == 0.5
    assert report.extra["invalid_reasons"] == {"adjacent": 1}


def test_g_rel_is_nan_when_nothing_is_novel():
    report = score(SUPPORT[[0]], SUPPORT, n_bootstrap=0)  # the whole support is the training set
    assert math.isnan(report.metrics["g_rel"]) and math.isnan(report.metrics["coverage_unseen"])
    assert report.intervals == {}


def test_bootstrap_contains_the_estimate_and_shrinks_with_m():
    # fraction 0.3 of ones; 95% percentile interval width ~ 2 * 1.96 sqrt(0.21 / M):
    # 0.16 at M = 128, 0.04 at M = 2048. Fixed seeds; compared at a factor 2 margin.
    rng = np.random.default_rng(0)
    widths = []
    for m in (128, 2048):
        v = (np.arange(m) < 0.3 * m).astype(float)
        lo, hi = bootstrap_intervals({"f": v}, n_resamples=500, confidence=0.95, rng=rng)["f"]
        assert lo <= v.mean() <= hi
        widths.append(hi - lo)
    assert widths[0] == pytest.approx(0.16, rel=0.3) and widths[1] < widths[0] / 2


def test_bootstrap_is_reproducible_from_its_rng():
    v = {"a": np.arange(50) % 3 == 0, "b": np.arange(50) % 2 == 0}
    def run():
        return bootstrap_intervals(v, n_resamples=100, confidence=0.9, rng=np.random.default_rng(7))

    assert run() == run()


def test_bernoulli_extra_and_large_support():
    target = BernoulliTarget(side=SIDE, p=0.2)
    rng = np.random.default_rng(0)
    train = torch.tensor(target.sample(8, rng).images)
    samples = torch.tensor(target.sample(64, rng).images) * 0.7  # floats, not ±1
    report = score(samples, train, target=target)
    assert set(report.extra) >= {"white_fraction", "corr_horizontal", "corr_vertical"}
    # <= 64 distinct novel images out of >= support_size - 8 unseen ones
    assert 0 < report.metrics["coverage_unseen"] <= 64 / (target.support_size - 8)
    for name in ("valid", "copy", "novel", "g", "g_rel"):
        lo, hi = report.intervals[name]
        assert lo <= report.metrics[name] <= hi
