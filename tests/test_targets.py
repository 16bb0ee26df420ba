"""Targets: a contract suite every kind inherits, then the maths of dots and bernoulli.

Linear codes have their own file (tests/test_linear_code.py) for the GF(2) membership test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import tsearch.targets
from tsearch.config import BernoulliConfig, DotsConfig, LinearCodeConfig, PolygonsConfig
from tsearch.errors import UserError
from tsearch.targets import build_target, image_keys
from tsearch.targets.bernoulli import BernoulliTarget
from tsearch.targets.dots import DotsTarget, count_dot_images, touching


def image(side: int, whites=()) -> np.ndarray:
    """(side, side) ±1 image with the given (row, col) pixels white."""
    out = np.full((side, side), -1.0, np.float32)
    for r, c in whites:
        out[r, c] = 1.0
    return out


def all_images(side: int) -> np.ndarray:
    """All 2^(side^2) binary images, (2^d, side, side) bool (side <= 4)."""
    d = side * side
    return ((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(bool).reshape(-1, side, side)


class TargetContract:
    """Tests every Target must pass. Subclasses provide ``target`` and ``invalid_cases``:
    (image (H, W) ±1, expected reason, or None for any reason but "ok")."""

    n = 24
    min_valid = 1.0  # fraction of the target's own samples that must be valid

    @pytest.fixture
    def invalid_cases(self, target) -> list[tuple[np.ndarray, str | None]]:
        return []

    def test_own_samples_are_valid(self, target):
        samples = target.sample(self.n, np.random.default_rng(0))
        assert samples.images.shape == (self.n, *target.shape)
        assert samples.images.dtype == np.float32
        assert set(np.unique(samples.images)) <= {-1.0, 1.0}
        validity = target.is_valid(samples.images)
        assert validity.valid.mean() >= self.min_valid, set(validity.reason)
        assert ((validity.reason == "ok") == validity.valid).all()

    def test_is_valid_is_vectorized(self, target, invalid_cases):
        images = np.concatenate([target.sample(5, np.random.default_rng(1)).images,
                                 np.stack([im for im, _ in invalid_cases] or [image(target.side)])])
        validity = target.is_valid(images)
        assert validity.valid.shape == validity.reason.shape == (len(images),)
        assert validity.valid.dtype == bool
        one_by_one = [target.is_valid(im[None]).valid[0] for im in images]
        assert validity.valid.tolist() == one_by_one

    def test_render_reproduces_samples(self, target):
        samples = target.sample(self.n, np.random.default_rng(2))
        assert len(samples.params) == self.n
        np.testing.assert_array_equal(target.render(samples.params), samples.images)

    def test_same_seed_same_samples(self, target):
        a = target.sample(self.n, np.random.default_rng(3)).images
        b = target.sample(self.n, np.random.default_rng(3)).images
        c = target.sample(self.n, np.random.default_rng(4)).images
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_crafted_invalid_images_are_rejected(self, target, invalid_cases):
        for im, reason in invalid_cases:
            validity = target.is_valid(im[None])
            assert not validity.valid[0]
            assert validity.reason[0] == reason if reason else validity.reason[0] != "ok"

    def test_floats_in_unit_interval_are_binarized_at_zero(self, target, invalid_cases):
        rng = np.random.default_rng(5)
        images = np.concatenate([target.sample(8, rng).images,
                                 np.stack([im for im, _ in invalid_cases] or [image(target.side)])])
        noisy = images * rng.uniform(0.01, 1.0, size=images.shape)  # same signs, not ±1
        np.testing.assert_array_equal(target.is_valid(noisy).valid, target.is_valid(images).valid)

    def test_wrong_shape_is_a_user_error(self, target):
        with pytest.raises(UserError):
            target.is_valid(np.ones((2, target.side + 1, target.side)))

    def test_novel_mass_is_a_probability(self, target):
        rng = np.random.default_rng(6)
        train = target.sample(4, rng).images
        assert 0.0 <= target.novel_mass(train, rng, n_reference=256) <= 1.0

    def test_enumerated_support_is_the_support(self, target):
        support = target.enumerate_support()
        if support is None:
            pytest.skip("no enumerable support")
        assert len(support) == target.support_size == len(set(image_keys(support)))
        assert target.is_valid(support).valid.all()

    def test_describe_is_a_dict(self, target):
        assert isinstance(target.describe(target.sample(4, np.random.default_rng(7)).images), dict)


class TestDots(TargetContract):
    @pytest.fixture(params=[1, (2, 3)], ids=["k1", "k2-3"])
    def target(self, request):
        return build_target(DotsConfig(side=5, k=request.param))

    @pytest.fixture
    def invalid_cases(self, target):
        far = [(0, 0), (0, 2), (0, 4), (4, 0)]
        if target.k_range == (1, 1):
            return [(image(5), "wrong_count"), (image(5, far[:2]), "wrong_count")]
        return [(image(5), "wrong_count"), (image(5, far[:1]), "wrong_count"),
                (image(5, far), "wrong_count"),
                (image(5, [(1, 1), (2, 2)]), "adjacent"),  # diagonal
                (image(5, [(0, 1), (1, 0)]), "adjacent"),  # anti-diagonal
                (image(5, [(4, 4), (3, 4)]), "adjacent"),  # vertical
                (image(5, [(0, 0), (3, 3), (3, 4)]), "adjacent")]  # horizontal


class TestLinearCode(TargetContract):
    @pytest.fixture
    def target(self):
        return build_target(LinearCodeConfig(side=4, rate=0.25, code_seed=1))

    @pytest.fixture
    def invalid_cases(self, target):
        flipped = target.sample(1, np.random.default_rng(8)).images[0].copy()
        flipped[0, 0] *= -1  # one bit away from a codeword: a code of rank 4 in d = 16
        return [(flipped, "not_in_code")]


class TestBernoulli(TargetContract):
    # the valid set is the central 99% of the white count: 24 samples, seed 0, need >= 22
    min_valid = 0.9

    @pytest.fixture
    def target(self):
        return build_target(BernoulliConfig(side=5, p=0.2))

    @pytest.fixture
    def invalid_cases(self, target):
        return [(np.ones((5, 5), np.float32), "count_out_of_range")]


class TestPolygons(TargetContract):
    @pytest.fixture
    def target(self):
        if not (Path(tsearch.targets.__file__).parent / "polygons.py").exists():
            pytest.skip("tsearch/targets/polygons.py is not written yet")
        return build_target(PolygonsConfig(side=12))

    @pytest.fixture
    def invalid_cases(self, target):
        checker = np.where(np.indices((12, 12)).sum(0) % 2 == 0, 1.0, -1.0).astype(np.float32)
        return [(image(12), None), (checker, None)]


# ----------------------------------------------------------------------------- registry
def test_build_target_passes_every_config_field():
    target = build_target(DotsConfig(side=6, k=(1, 2)))
    assert isinstance(target, DotsTarget) and target.side == 6 and target.k_range == (1, 2)
    assert isinstance(build_target(BernoulliConfig(p=0.3)), BernoulliTarget)


# ----------------------------------------------------------------------------- dots
@pytest.mark.parametrize("side", [2, 3, 4])
def test_dot_counts_match_brute_force(side):
    images = all_images(side)
    ok = ~touching(images)
    brute = np.bincount(images.sum(axis=(1, 2))[ok], minlength=side * side + 1)
    k_max = ((side + 1) // 2) ** 2
    np.testing.assert_array_equal(count_dot_images(side, k_max), brute[:k_max + 1])


def test_dot_counts_closed_forms():
    side = 12  # N_2 = C(d, 2) - (pairs 8-adjacent) = C(144, 2) - (2*12*11 + 2*11*11)
    counts = count_dot_images(side, 2)
    assert counts.tolist() == [1, 144, math.comb(144, 2) - 2 * 12 * 11 - 2 * 11 * 11]
    assert DotsTarget(side=40, k=1).support_size == 1600
    assert DotsTarget(side=40, k=2).support_size is None


def test_dots_k1_support_and_exact_novel_mass():
    target = DotsTarget(side=4, k=1)
    assert target.support_size == 16
    support = target.enumerate_support()
    train = np.concatenate([support[[0, 3, 3]], image(4, [(0, 0), (0, 1)])[None]])  # 2 distinct valid
    assert target.novel_mass(train, np.random.default_rng(0)) == pytest.approx(1 - 2 / 16)


def test_dots_range_is_uniform_over_the_support():
    # side 4, k in {1, 2}: N_1 = 16, N_2 = 78. Fixed seed; n = 4000 gives sd(P(k=1)) = 0.006,
    # tolerance 0.03 (5 sd); the chi-square of the 78 two-dot images (df 77, sd 12.4) < 77 + 5 sd.
    target = DotsTarget(side=4, k=(1, 2))
    samples = target.sample(4000, np.random.default_rng(0))
    k = np.array([len(p) for p in samples.params])
    assert np.mean(k == 1) == pytest.approx(16 / 94, abs=0.03)
    _, freq = np.unique(image_keys(samples.images[k == 2]), return_counts=True)
    assert len(freq) == 78
    expected = freq.sum() / 78
    assert ((freq - expected) ** 2 / expected).sum() < 77 + 5 * 12.4


def test_dots_describe_histogram():
    target = DotsTarget(side=4, k=1)
    images = np.stack([image(4, [(0, 0)]), image(4, [(0, 0)]), image(4, [(0, 0), (2, 2)])])
    assert target.describe(images)["white_count_hist"] == {"1": 2, "2": 1}


def test_dots_too_dense_is_a_user_error(monkeypatch):
    monkeypatch.setattr("tsearch.targets.dots.MAX_REJECTED_PIXELS", 2**16)
    with pytest.raises(UserError, match="too dense"):
        DotsTarget(side=15, k=64).sample(1, np.random.default_rng(0))


# ----------------------------------------------------------------------------- bernoulli
def test_bernoulli_interval_is_the_central_99_percent():
    target = BernoulliTarget(side=4, p=0.3)
    pmf = [math.comb(16, w) * 0.3**w * 0.7 ** (16 - w) for w in range(17)]
    lo, hi = target.count_range
    assert sum(pmf[:lo]) <= 0.005 < sum(pmf[:lo + 1])
    assert sum(pmf[hi + 1:]) <= 0.005 < sum(pmf[hi:])
    assert target.support_size == sum(math.comb(16, w) for w in range(lo, hi + 1))


def test_bernoulli_novel_mass_matches_monte_carlo():
    # exact P(valid, not in T) vs 200k fresh samples: sd <= 0.5 / sqrt(2e5) = 0.0011, tol 0.006
    target = BernoulliTarget(side=3, p=0.3)
    rng = np.random.default_rng(0)
    train = target.sample(30, rng).images
    fresh = target.sample(200_000, rng).images
    seen = set(image_keys(train))
    unseen = np.array([k not in seen for k in image_keys(fresh)])
    mc = np.mean(target.is_valid(fresh).valid & unseen)
    assert target.novel_mass(train, rng) == pytest.approx(mc, abs=0.006)


def test_bernoulli_describe_marginal_and_correlations():
    # 4000 images of 36 pixels: white fraction sd = 0.001, correlations sd ~ 0.003; tol 0.02
    target = BernoulliTarget(side=6, p=0.2)
    stats = target.describe(target.sample(4000, np.random.default_rng(0)).images)
    assert stats["white_fraction"] == pytest.approx(0.2, abs=0.02)
    assert abs(stats["corr_horizontal"]) < 0.02 and abs(stats["corr_vertical"]) < 0.02
    stripes = np.repeat(np.where(np.arange(6) % 2 == 0, 1.0, -1.0)[None, None, :], 6, axis=1)
    assert target.describe(stripes)["corr_vertical"] == pytest.approx(1.0)
