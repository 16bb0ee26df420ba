"""Hypervolume of the (size, metric) front against areas worked out by hand."""

import math

import pytest

from tsearch.analysis.hypervolume import front_hypervolume, reference_point


def test_one_point_is_a_rectangle():
    # size 2, g = 0.5, sizes 1..8: the rectangle [2, 9] x [0, 0.5] over the box [1, 9] x [0, 1]
    assert front_hypervolume([(2, 0.5)], n_min=1, n_max=8) == pytest.approx(7 * 0.5 / 8)
    assert front_hypervolume([(1, 1.0)], n_min=1, n_max=8) == pytest.approx(1.0)
    assert reference_point(8) == (9.0, 0.0)


def test_a_staircase_counts_each_area_once():
    # (1, 0.2), (3, 0.6), (6, 0.9) with r = (9, 0): union of three rectangles
    area = 8 * 0.2 + 6 * (0.6 - 0.2) + 3 * (0.9 - 0.6)
    got = front_hypervolume([(1, 0.2), (3, 0.6), (6, 0.9)], n_min=1, n_max=8)
    assert got == pytest.approx(area / 8)


def test_dominated_failed_and_zero_points_add_nothing():
    base = front_hypervolume([(3, 0.6)], n_min=1, n_max=8)
    extra = [(4, 0.5), (5, None), (2, 0.0), (7, math.nan), (3, 0.6)]
    assert front_hypervolume([(3, 0.6), *extra], n_min=1, n_max=8) == pytest.approx(base)
    assert front_hypervolume([], n_min=1, n_max=8) == 0.0
    assert front_hypervolume([(2, None)], n_min=1, n_max=8) == 0.0


def test_a_better_front_has_a_larger_hypervolume():
    worse = front_hypervolume([(4, 0.5)], n_min=1, n_max=8)
    assert front_hypervolume([(3, 0.5)], n_min=1, n_max=8) > worse  # smaller, same g
    assert front_hypervolume([(4, 0.7)], n_min=1, n_max=8) > worse  # same size, higher g
