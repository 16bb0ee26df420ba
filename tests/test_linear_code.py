"""Linear codes: the parity-check membership test against brute-force enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from tsearch.config import LinearCodeConfig
from tsearch.targets import build_target, image_keys
from tsearch.targets.linear_code import LinearCodeTarget, null_space_gf2, row_reduce_gf2


def codewords(target: LinearCodeTarget) -> np.ndarray:
    """All G u for u in GF(2)^m, as ±1 images (2^m, side, side), duplicates included."""
    u = (np.arange(2**target.m)[:, None] >> np.arange(target.m)) & 1  # (2^m, m)
    return target.render(list(u))


@pytest.fixture
def small_code():
    return build_target(LinearCodeConfig(side=4, rate=0.5, code_seed=3))  # d = 16, m = 8


def test_generator_depends_on_code_seed_alone():
    a, b = LinearCodeTarget(side=4, code_seed=3), LinearCodeTarget(side=4, code_seed=3)
    np.testing.assert_array_equal(a.generator, b.generator)
    assert not np.array_equal(a.generator, LinearCodeTarget(side=4, code_seed=4).generator)
    assert a.generator.shape == (16, 4)


def test_membership_matches_brute_force(small_code):
    code = codewords(small_code)
    members = set(image_keys(code))
    assert len(members) == small_code.support_size == 2**small_code.rank
    assert small_code.is_valid(code).valid.all()
    # every image one bit-flip away from a codeword, and all 2^16 images of the grid
    flips = np.repeat(code[:16], 16, axis=0)
    flips.reshape(-1, 16)[np.arange(len(flips)), np.tile(np.arange(16), 16)] *= -1
    everything = np.where((np.arange(2**16)[:, None] >> np.arange(16)) & 1, 1.0, -1.0).reshape(-1, 4, 4)
    for images in (flips, everything):
        expected = np.array([k in members for k in image_keys(images)])
        validity = small_code.is_valid(images)
        np.testing.assert_array_equal(validity.valid, expected)
        assert set(validity.reason[~expected]) <= {"not_in_code"}


def test_rank_deficient_code():
    # d = 4, m = 4 -> often full rank; force a rank-deficient generator by hand
    target = LinearCodeTarget(side=2, rate=1.0)
    target.generator = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 0, 1]], np.uint8)
    target.parity_check = null_space_gf2(target.generator.T)
    target.rank = 4 - len(target.parity_check)
    assert target.rank == 2 and target.support_size == 4
    code = codewords(target)
    assert len(set(image_keys(code))) == 4 and target.is_valid(code).valid.all()
    assert target.is_valid(np.ones((1, 2, 2))).reason[0] == "not_in_code"


def test_null_space_is_orthogonal_and_complete():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=(5, 9))
    a[4] = a[0] ^ a[1]  # a dependent row: rank 4
    reduced, pivots = row_reduce_gf2(a)
    basis = null_space_gf2(a)
    assert len(pivots) == 4 and basis.shape == (5, 9)
    assert not ((a @ basis.T) % 2).any()
    assert row_reduce_gf2(basis)[0].shape[0] == 5  # independent


def test_exact_novel_mass(small_code):
    code = codewords(small_code)
    members = set(image_keys(code))
    train = np.concatenate([code[[1, 1, 2]], -code[[1]]])  # repeats, and a complement
    n_seen = len(set(image_keys(train)) & members)
    expected = 1 - n_seen / 2**small_code.rank
    assert small_code.novel_mass(train, np.random.default_rng(0)) == pytest.approx(expected)


def test_samples_are_uniform_over_the_code():
    # 2^4 codewords (side 4, rate 0.25), 3200 samples: 200 each, sd 13.7; chi-square (df 15,
    # sd 5.5) below 15 + 6 sd. Fixed seed.
    target = LinearCodeTarget(side=4, rate=0.25, code_seed=1)
    _, freq = np.unique(image_keys(target.sample(3200, np.random.default_rng(0)).images),
                        return_counts=True)
    assert len(freq) == target.support_size == 16
    assert ((freq - 200) ** 2 / 200).sum() < 15 + 6 * 5.5
