"""Known answers for the metrics beyond exact copies: copies up to translation, near-copy
distances, chance level of random blobs, precision / recall against the target, timescales."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tsearch import seeding
from tsearch.analysis.timescales import epochs, tau_gen, tau_mem, timescales
from tsearch.config import Config, EmpiricalConfig, MetricsConfig, PolygonsConfig, SamplerConfig
from tsearch.engine import evaluate
from tsearch.engine.score import shared_target, target_reference
from tsearch.metrics import build_reference, compute_metrics
from tsearch.metrics.chance import ChanceTable, chance_level, chance_report, grow_blobs
from tsearch.metrics.fidelity import wasserstein1
from tsearch.metrics.shifts import copy_shift, min_shift_hamming, shift_keys
from tsearch.registry import METRICS
from tsearch.targets.bernoulli import BernoulliTarget
from tsearch.targets.dots import DotsTarget
from tsearch.targets.linear_code import LinearCodeTarget
from tsearch.targets.polygons import PolygonsTarget
from tsearch.targets.raster import is_connected
from tsearch.tasks import EvalTask

POLYGONS = PolygonsTarget(side=10, max_vertices=6, min_area=6.0)
CONFIG = MetricsConfig(n_bootstrap=200, pr_reference_size=512, chance_blobs=16)


def score(target, samples, train, config=CONFIG, reference=None):
    return compute_metrics(torch.as_tensor(samples), torch.as_tensor(train), target, config=config,
                           novel_mass=0.5, rng=np.random.default_rng(0), reference=reference)


def shifted_by_one(images: np.ndarray) -> np.ndarray:
    """Each image moved by one pixel in the first direction that keeps its whites on the canvas."""
    out = []
    for image in images > 0:
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            moved = np.roll(image, (dy, dx), axis=(0, 1))
            if moved.sum() == image.sum() and not (dy == 1 and image[-1].any() or dy == -1 and image[0].any()
                                                   or dx == 1 and image[:, -1].any()
                                                   or dx == -1 and image[:, 0].any()):
                out.append(moved)
                break
    return np.where(np.array(out), 1.0, -1.0).astype(np.float32)


def brute_shift_hamming(s: np.ndarray, y: np.ndarray) -> list[int]:
    """Min over training images and every translation keeping their whites on the canvas."""
    side = s.shape[-1]
    best = []
    for a in s:
        d = []
        for b in y:
            r, c = np.nonzero(b)
            for dy, dx in itertools.product(range(-side + 1, side), repeat=2):
                if r.size and (min(r) + dy < 0 or max(r) + dy >= side or min(c) + dx < 0 or max(c) + dx >= side):
                    continue
                moved = np.zeros_like(b)
                moved[r + dy, c + dx] = True
                d.append(int((a ^ moved).sum()))
        best.append(min(d))
    return best


# ----------------------------------------------------------------------------- shifts
def test_shifted_copies_of_the_training_set_are_copies_up_to_translation_not_novel():
    train = POLYGONS.sample(12, np.random.default_rng(1)).images
    samples = shifted_by_one(train)
    assert len(samples) == len(train)
    m = score(POLYGONS, samples, train).metrics
    assert m["copy"] == 0 and m["g"] > 0.9  # every shifted polygon is valid and "novel"
    assert m["copy_shift"] == 1.0
    assert m["g_shift"] == m["novel_shift"] == 0.0
    assert m["distinct_novel_shift"] == 0.0
    assert m["hamming_q90"] == 0.0 and m["near_copy"] == pytest.approx(m["valid"])


def test_a_rotated_copy_is_a_copy_only_under_the_d4_symmetries():
    train = np.zeros((1, 6, 6), bool)
    train[0, 1:3, 1:4] = True  # a 2 x 3 bar
    rotated = np.zeros((1, 6, 6), bool)
    rotated[0, 2:5, 3:5] = True  # a 3 x 2 bar elsewhere
    assert not copy_shift(rotated, train, "none")[0]
    assert copy_shift(rotated, train, "d4")[0]
    assert shift_keys(rotated, "d4") == shift_keys(train, "d4")


def test_shift_hamming_equals_brute_force():
    rng = np.random.default_rng(3)
    s = rng.random((15, 6, 6)) < 0.2
    y = rng.random((4, 6, 6)) < 0.15
    y[0] = False  # an empty training image: only its zero shift is allowed
    fast = min_shift_hamming(torch.as_tensor(s, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32))
    assert fast.long().tolist() == brute_shift_hamming(s, y)


def test_near_copy_band_counts_one_extra_pixel_of_a_shifted_image():
    dots = DotsTarget(side=8, k=(1, 4))
    train = np.full((1, 8, 8), -1.0, np.float32)
    train[0, [1, 1, 4], [1, 5, 3]] = 1.0  # three dots
    sample = np.roll(train, (2, 1), axis=(1, 2))
    sample[0, 7, 7] = 1.0  # a fourth dot: Hamming 1 up to translation, area 4
    tight = score(dots, sample, train, MetricsConfig(n_bootstrap=0, near_copy_hamming=0.2))
    loose = score(dots, sample, train, MetricsConfig(n_bootstrap=0, near_copy_hamming=0.3))
    assert tight.metrics["hamming_q50"] == pytest.approx(0.25)
    assert (tight.metrics["near_copy"], tight.metrics["g_far"]) == (0.0, 1.0)
    assert (loose.metrics["near_copy"], loose.metrics["g_far"]) == (1.0, 0.0)
    assert tight.metrics["g_shift"] == 1.0  # not equal up to translation


# ----------------------------------------------------------------------------- chance
def test_blobs_are_connected_with_the_asked_area():
    blobs = grow_blobs(9, 50, (8, 8), np.random.default_rng(0))
    assert (blobs.sum(axis=(1, 2)) == 9).all()
    assert is_connected(blobs).all()
    assert len({b.tobytes() for b in blobs}) > 25  # random, not one shape


def test_chance_of_single_dots_is_one_and_of_pairs_zero():
    dots = DotsTarget(side=6, k=(1, 2))
    table = ChanceTable(lambda im: dots.is_valid(im).valid, dots.shape, per_area=20, seed=0)
    assert table(np.array([1, 1, 2, 0])).tolist() == [1.0, 1.0, 0.0, 0.0]  # a 2-blob touches itself


def test_chance_level_of_polygons_is_between_zero_and_one_and_g_above_chance_subtracts_it():
    target = PolygonsTarget(side=8, max_vertices=5, min_area=4.0)
    areas = (target.sample(60, np.random.default_rng(0)).images > 0).sum(axis=(1, 2))
    level, valid = chance_level(lambda im: target.is_valid(im).valid, areas, target.shape,
                                np.random.default_rng(1))
    assert 0.1 < level < 0.95 and valid.shape == (60,)
    train = target.sample(4, np.random.default_rng(2)).images
    samples = target.sample(40, np.random.default_rng(3)).images
    reference = build_reference(target, CONFIG)
    m = score(target, samples, train, reference=reference).metrics
    assert 0 < m["chance_valid"] < 1
    assert m["g_above_chance"] == pytest.approx(m["g"] - m["chance_valid"])
    assert m["g_shift_above_chance"] == pytest.approx(m["g_shift"] - m["chance_valid"])


def test_shifted_copies_score_minus_their_chance_level_above_chance():
    # every sample a translate of a training image: g counts them, g_shift does not, so
    # g_shift_above_chance is minus the chance level of blobs of their areas
    target = PolygonsTarget(side=12, max_vertices=4, min_area=4.0)
    train = target.sample(3, np.random.default_rng(2)).images
    samples = np.concatenate([np.roll(train, 1, axis=2), np.roll(train, -1, axis=1)])
    samples = samples[target.is_valid(samples).valid]  # a roll may wrap a shape across the border
    assert len(samples) >= 2
    m = score(target, samples, train, reference=build_reference(target, CONFIG)).metrics
    assert m["g_shift"] == 0.0 and m["g"] > 0
    assert 0 < m["chance_valid"] < 1
    assert m["g_shift_above_chance"] == pytest.approx(-m["chance_valid"])


# ----------------------------------------------------------------------------- precision, recall
@pytest.mark.parametrize("target", [PolygonsTarget(side=16, max_vertices=6), DotsTarget(side=8, k=1),
                                    DotsTarget(side=10, k=(2, 3)), LinearCodeTarget(side=6, rate=0.25),
                                    BernoulliTarget(side=6, p=0.2)],
                         ids=["polygons16", "dot8", "dots10", "linear_code", "bernoulli"])
def test_target_samples_against_the_target_have_high_precision_and_recall(target):
    reference = build_reference(target, CONFIG)
    samples = target.sample(512, np.random.default_rng(7)).images  # not the reference's seed
    train = samples[:2]
    report = score(target, samples, train, reference=reference)
    assert report.metrics["precision"] >= 0.9
    assert report.metrics["recall"] >= 0.9
    lo, hi = report.intervals["recall"]
    assert lo <= report.metrics["recall"] <= hi
    assert set(report.extra["w1"]) == set(target.descriptors(samples[:1])[0])


def test_one_novel_shape_repeated_has_low_recall():
    reference = build_reference(POLYGONS, CONFIG)
    shape = POLYGONS.sample(3, np.random.default_rng(11)).images
    samples = np.repeat(shape[:1], 256, axis=0)
    m = score(POLYGONS, samples, shape[1:], reference=reference).metrics
    assert m["g"] == 1.0  # valid and novel every time
    assert m["recall"] <= 0.2
    assert m["distinct_novel_shift"] == pytest.approx(1 / 256)


def test_wasserstein1_known_values():
    assert wasserstein1(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0
    assert wasserstein1(np.array([0.0]), np.array([3.0])) == 3.0
    assert wasserstein1(np.array([0.0, 0.0, 1.0]), np.array([1.0])) == pytest.approx(2 / 3)


def test_every_metric_name_is_reported():
    dots = DotsTarget(side=6, k=1)
    samples = dots.sample(30, np.random.default_rng(0)).images
    m = score(dots, samples, samples[:3], reference=build_reference(dots, CONFIG)).metrics
    assert set(METRICS) <= set(m)


# ----------------------------------------------------------------------------- timescales
def test_timescales_on_novel_and_copy_curves_in_steps_and_epochs():
    records = [{"step": 100, "g_shift": 0.1, "copy_shift": 0.0},
               {"step": 200, "g_shift": 0.95, "copy_shift": 0.01},
               {"step": 400, "g_shift": 1.0, "copy_shift": 0.2},
               {"step": 800, "g_shift": 0.3, "copy_shift": 0.7}]
    assert tau_gen(records) == 200 and tau_mem(records) == 400
    out = timescales(records, batch_size=64, n_train=32)
    assert (out["tau_gen_epochs"], out["tau_mem_epochs"]) == (400.0, 800.0)
    assert out["tau_gen_valid"] is None and out["tau_mem_copy"] is None  # records without valid, copy
    assert tau_mem(records[:2]) is None and epochs(None, batch_size=1, n_train=1) is None
    assert tau_gen([{"step": 5, "g_shift": 0.0}]) is None


def test_chance_report_of_single_dots():
    dots = DotsTarget(side=6, k=1)
    report = chance_report(lambda im: dots.is_valid(im).valid, np.ones(40, int), dots.shape,
                           np.random.default_rng(0))
    assert report["chance_valid"] == 1.0 and report["blobs"] == 40
    assert report["interval"][0] > 0.9 and report["interval"][1] == pytest.approx(1.0)
    assert report["by_area"] == {"1-12": {"chance_valid": 1.0, "blobs": 40}}


def test_the_engine_reports_the_new_metrics_as_compute_metrics_does():
    """An oracle task through evaluate: its scored step holds every metric name, equal to
    compute_metrics on its kept (binarized) samples with the target's reference."""
    target_cfg = PolygonsConfig(side=8, max_vertices=5, min_area=4.0)
    config = Config(target=target_cfg, model=EmpiricalConfig(),
                    sampler=SamplerConfig(n_steps=10, n_samples=48),
                    metrics=MetricsConfig(n_bootstrap=50, pr_reference_size=256, chance_blobs=8))
    task = EvalTask.from_config(config, task_id="o", seed=3, n_train=4, keep_samples=True)
    [result] = evaluate([task])
    [step] = result.scored
    assert set(METRICS) - {"coverage_unseen"} <= set(step.metrics)
    target = shared_target(target_cfg)
    again = compute_metrics(torch.as_tensor(step.samples, dtype=torch.float32),
                            torch.as_tensor(result.train_images, dtype=torch.float32), target,
                            config=config.metrics, novel_mass=target.novel_mass(
                                result.train_images, seeding.numpy_rng(3, "novel_mass"), 4096),
                            rng=seeding.numpy_rng(3, "metrics", 0),
                            reference=target_reference(target_cfg, target, config.metrics))
    for name, value in step.metrics.items():
        assert again.metrics[name] == pytest.approx(value, nan_ok=True), name
