"""Targets: a contract suite every kind inherits, then the maths of dots and bernoulli.

Linear codes have their own file (tests/test_linear_code.py) for the GF(2) membership test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tsearch.targets
from tsearch.config import BernoulliConfig, DotsConfig, LinearCodeConfig, PolygonsConfig
from tsearch.errors import UserError
from tsearch.targets import build_target, image_keys
from tsearch.targets.bernoulli import BernoulliTarget
from tsearch.targets.dots import DotsTarget, count_dot_images, randbelow, touching


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

    def test_describe_summarizes_the_images_it_is_given(self, target):
        """Each target states statistics of its samples (the base class's ``{}`` does not
        count): plain JSON values that change when the images do (all black here)."""
        images = target.sample(8, np.random.default_rng(7)).images
        stats, black = target.describe(images), target.describe(-np.ones_like(images))
        assert stats and set(stats) == set(black)
        assert json.dumps(stats, sort_keys=True) != json.dumps(black, sort_keys=True)


class TestDots(TargetContract):
    # side 5: exact row-by-row sampler; side 13 (> MAX_COUNTED_SIDE): rejection sampler
    @pytest.fixture(params=[(5, 1), (5, (2, 3)), (13, (2, 3))], ids=["k1", "k2-3", "side13-k2-3"])
    def target(self, request):
        side, k = request.param
        return build_target(DotsConfig(side=side, k=k))

    @pytest.fixture
    def invalid_cases(self, target):
        far, side = [(0, 0), (0, 2), (0, 4), (4, 0)], target.side
        if target.k_range == (1, 1):
            return [(image(side), "wrong_count"), (image(side, far[:2]), "wrong_count")]
        return [(image(side), "wrong_count"), (image(side, far[:1]), "wrong_count"),
                (image(side, far), "wrong_count"),
                (image(side, [(1, 1), (2, 2)]), "adjacent"),  # diagonal
                (image(side, [(0, 1), (1, 0)]), "adjacent"),  # anti-diagonal
                (image(side, [(4, 4), (3, 4)]), "adjacent"),  # vertical
                (image(side, [(0, 0), (3, 3), (3, 4)]), "adjacent")]  # horizontal


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


def assert_uniform(images, n_support: int):
    """Every support image drawn, and chi-square (df = N - 1, sd sqrt(2 df)) < df + 5 sd: a
    uniform sampler fails this with probability < 1e-4 (the tests fix their seeds anyway)."""
    _, freq = np.unique(image_keys(images), return_counts=True)
    assert len(freq) == n_support
    expected, df = freq.sum() / n_support, n_support - 1
    assert ((freq - expected) ** 2 / expected).sum() < df + 5 * math.sqrt(2 * df)


def test_dots_range_is_uniform_over_the_support():
    # side 4, k in {1, 2}: N_1 = 16, N_2 = 78. Fixed seed; n = 4000 gives sd(P(k=1)) = 0.006,
    # tolerance 0.03 (5 sd); the 78 two-dot images pass assert_uniform.
    target = DotsTarget(side=4, k=(1, 2))
    samples = target.sample(4000, np.random.default_rng(0))
    k = np.array([len(p) for p in samples.params])
    assert np.mean(k == 1) == pytest.approx(16 / 94, abs=0.03)
    assert_uniform(samples.images[k == 2], 78)


def test_densest_dots_are_uniform():
    # side 4, k = 4 (the densest packing, where rejection keeps 79 of C(16, 4) = 1820):
    # 79 images, 100 draws each on average; fixed seed, tolerance of assert_uniform.
    assert_uniform(DotsTarget(side=4, k=4).sample(7900, np.random.default_rng(1)).images, 79)


def test_rejection_path_is_uniform(monkeypatch):
    # the sampler used above MAX_COUNTED_SIDE, forced on side 4: 78 two-dot images, 50 draws
    # each on average; fixed seed, tolerance of assert_uniform.
    monkeypatch.setattr("tsearch.targets.dots.MAX_COUNTED_SIDE", 0)
    target = DotsTarget(side=4, k=2)
    assert target.transfer is None
    assert_uniform(target.sample(3900, np.random.default_rng(2)).images, 78)


def test_dense_dots_on_side_12_are_valid():
    # k = 36 is the densest packing of 12 x 12 (rejection sampling never reaches it)
    for k, n_support in [(16, 490478057528985379), (36, 5109144543)]:
        target = DotsTarget(side=12, k=k)
        assert target.support_size == n_support
        assert target.is_valid(target.sample(20, np.random.default_rng(k)).images).valid.all()


def test_side_12_counts_are_exact_past_int64():
    # N_21 ... N_24 exceed 2^63. The total (all k) against an independent float64 transfer
    # matrix, relative tolerance 1e-12 (float rounding ~1e-15; an overflow is off by > 1e-1).
    counts = count_dot_images(12, 36)
    assert max(counts) > 2**63 and min(counts) > 0
    rows = np.array([m for m in range(1 << 12) if m & (m >> 1) == 0])
    a, b = rows[:, None], rows[None, :]
    transfer = (((a & b) | (a & (b << 1)) | (a & (b >> 1))) == 0).astype(float)
    total = np.ones(len(rows)) @ np.linalg.matrix_power(transfer, 11) @ np.ones(len(rows))
    assert float(sum(counts)) == pytest.approx(total, rel=1e-12)


def test_randbelow_is_uniform_past_64_bits():
    # n = 3 * 2^64 needs two 64-bit words; the top part u // 2^64 is uniform on {0, 1, 2}.
    # 3000 draws, fixed seed: each count is 1000 +- 26 (sd); tolerance 130 (5 sd).
    rng = np.random.default_rng(3)
    draws = [randbelow(3 * 2**64, rng) for _ in range(3000)]
    assert max(draws) < 3 * 2**64
    np.testing.assert_allclose(np.bincount([u >> 64 for u in draws]), 1000, atol=130)


def test_too_many_dots_is_a_user_error():
    # the config rejects k > ceil(side/2)^2; a target built directly says so when sampled
    with pytest.raises(UserError, match="no image"):
        DotsTarget(side=6, k=10).sample(1, np.random.default_rng(0))


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
