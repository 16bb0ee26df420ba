"""Known answers of the fitness ``learned`` (coverage of the target by the samples beyond the
near-copy band, above the chance level of blobs; tsearch/metrics/coverage.py, docs/metrics.md).

The target is the packaged evolve's (polygons 10 x 10, 3..6 vertices, min area 8), M = 96 samples
as the packaged evolve reports, against one large training polygon P: what the research note
calls "learned the target" must score high for the target's own samples and near 0 for every
way of looking good without it (variations of P, copies, shifted copies, blobs).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsearch import configs
from tsearch.config import MetricsConfig, load_config
from tsearch.metrics import build_reference, compute_metrics
from tsearch.metrics.chance import as_images, grow_blobs
from tsearch.metrics.coverage import ball_size
from tsearch.targets.polygons import PolygonsTarget
from tsearch.targets.raster import rasterize

TARGET = PolygonsTarget(side=10, max_vertices=6, min_area=8.0)
CONFIG = MetricsConfig(n_bootstrap=200)
M = 96


@pytest.fixture(scope="module")
def reference():
    return build_reference(TARGET, CONFIG)


@pytest.fixture(scope="module")
def big_polygon():
    """A training polygon P of 50-62 white pixels (as the search's favourite, 57), and its vertices."""
    rng = np.random.default_rng(123)
    while True:
        drawn = TARGET.sample(1, rng)
        if 50 <= (drawn.images > 0).sum() <= 62:
            return drawn.images, np.asarray(drawn.params[0])


def metrics(samples, train, reference, config=CONFIG):
    return compute_metrics(torch.as_tensor(samples), torch.as_tensor(train), TARGET, config=config,
                           novel_mass=0.5, rng=np.random.default_rng(0), reference=reference).metrics


def variations(image, vertices, sigma, count, rng):
    """``count`` valid polygons drawn from P's vertices jittered by N(0, sigma) (unit square)."""
    out = []
    while len(out) < count:
        jittered = np.where(rasterize(vertices + rng.normal(0, sigma, vertices.shape), TARGET.side), 1.0, -1.0)
        if TARGET.is_valid(jittered[None]).valid[0] and not np.array_equal(jittered, image[0]):
            out.append(jittered.astype(np.float32))
    return np.array(out)


def test_the_targets_own_samples_score_high_against_one_training_polygon(reference, big_polygon):
    image, _ = big_polygon
    m = metrics(TARGET.sample(M, np.random.default_rng(7)).images, image, reference)
    assert m["learned"] >= 0.5
    assert m["learned"] == pytest.approx(m["coverage"] - m["coverage_chance"])
    assert 0.05 < m["coverage_chance"] < 0.35  # small polygons are valid blobs: chance is not 0


@pytest.mark.parametrize("sigma", [0.02, 0.04])
def test_near_variations_of_one_training_polygon_score_low(reference, big_polygon, sigma):
    image, vertices = big_polygon
    samples = variations(image, vertices, sigma, M, np.random.default_rng(1))
    m = metrics(samples, image, reference)
    assert m["g_shift_above_chance"] >= 0.9  # the old fitness ranks them above the target itself
    assert m["learned"] <= 0.15


def test_copies_and_shifted_copies_score_zero(reference, big_polygon):
    image, _ = big_polygon
    white = image[0] > 0
    rows, cols = np.nonzero(white)
    moved = np.roll(white, (9 - rows.max(), -cols.min()), axis=(0, 1))  # to the bottom-left corner
    assert moved.sum() == white.sum() and not np.array_equal(moved, white)
    for samples in (np.repeat(image, M, 0), np.repeat(as_images(moved[None]), M, 0)):
        m = metrics(samples, image, reference)
        assert m["coverage"] == 0.0
        assert abs(m["learned"]) <= 0.02  # minus the (tiny) chance level of 50-pixel blobs


def test_random_blobs_of_the_samples_areas_score_about_zero(reference, big_polygon):
    image, _ = big_polygon
    areas = (TARGET.sample(M, np.random.default_rng(7)).images > 0).sum(axis=(1, 2))
    rng = np.random.default_rng(3)
    values = []
    for _ in range(3):
        blobs = np.concatenate([as_images(grow_blobs(int(a), 1, TARGET.shape, rng)) for a in areas])
        values.append(metrics(blobs, image, reference)["learned"])
    assert abs(np.mean(values)) <= 0.05


def test_a_model_that_memorizes_two_of_four_scores_below_one_that_covers(reference):
    four = TARGET.sample(4, np.random.default_rng(9)).images
    memorizer = metrics(np.concatenate([four[:2]] * (M // 2)), four, reference)
    covering = metrics(TARGET.sample(M, np.random.default_rng(10)).images, four, reference)
    assert memorizer["learned"] <= 0.01 < 0.5 <= covering["learned"]


@pytest.mark.parametrize("m", [16, 96])
def test_the_targets_own_coverage_is_one_minus_e_to_the_minus_beta_at_any_sample_count(reference, m):
    expected = 1 - (1 - ball_size(CONFIG.pr_reference_size, m, CONFIG.coverage_beta) / CONFIG.pr_reference_size) ** m
    assert expected == pytest.approx(1 - np.exp(-CONFIG.coverage_beta), abs=0.02)
    empty = -np.ones((1, *TARGET.shape), np.float32)  # nothing is a near copy of an empty image
    values = [metrics(TARGET.sample(m, np.random.default_rng(20 + i)).images, empty, reference)["coverage"]
              for i in range(4)]
    assert np.mean(values) == pytest.approx(expected, abs=0.05)


def test_half_the_learned_value_of_the_targets_own_samples_is_the_packaged_threshold(reference):
    """The threshold rule of docs/metrics.md: n* is the smallest size whose set makes the model
    cover half as much of the target as the target's own samples do (same M, same metrics)."""
    config = load_config(configs.path("evolve"))
    assert config.search.fitness_metric == "learned" and config.sampler.select_metric == "learned"
    assert config.target.side == TARGET.side and config.sampler.n_samples == M
    train = TARGET.sample(2, np.random.default_rng(30)).images
    own = np.mean([metrics(TARGET.sample(M, np.random.default_rng(40 + i)).images, train, reference)["learned"]
                   for i in range(4)])
    assert 0.4 * own <= config.search.threshold <= 0.6 * own


def test_learned_needs_the_reference_and_the_blobs():
    from tsearch.errors import UserError
    with pytest.raises(UserError, match="search.fitness_metric"):
        load_config(configs.path("evolve"), ["metrics.chance_blobs=0"])
