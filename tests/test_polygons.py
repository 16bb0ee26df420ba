"""The polygons target: sampling, rasterization rule, and the validity check's accuracy on a
labelled set (positives: the target's own samples; negatives: crafted classes)."""

import numpy as np
import pytest
import shapely

from tsearch.config import PolygonsConfig
from tsearch.errors import UserError
from tsearch.targets.polygon_fit import boundary_flips, fit_polygon
from tsearch.targets.polygons import PolygonsTarget
from tsearch.targets.raster import has_hole, is_connected, rasterize


def image(white: np.ndarray) -> np.ndarray:
    return np.where(white, 1.0, -1.0).astype(np.float32)


# ----------------------------------------------------------------------------- crafted negatives
def two_blobs(side):
    w = np.zeros((side, side), bool)
    w[2:6, 2:6] = w[side - 6:side - 2, side - 6:side - 2] = True
    return w


def ring(side):
    w = np.zeros((side, side), bool)
    w[2:side - 2, 2:side - 2] = True
    w[5:side - 5, 5:side - 5] = False
    return w


def speckle(side, rng):
    return rng.random((side, side)) < 0.3


def diagonal_line(side):
    return np.eye(side, dtype=bool)


def plus(side):
    """A fat cross: arms 4 pixels wide and long; 12 vertices needed."""
    w = np.zeros((side, side), bool)
    c = side // 2
    w[c - 2:c + 2, c - 6:c + 6] = w[c - 6:c + 6, c - 2:c + 2] = True
    return w


def comb(side):
    """An E-like comb: three teeth on a spine, 12 vertices needed."""
    w = np.zeros((side, side), bool)
    w[2:side - 2, 2:5] = True
    for row in (2, side // 2 - 1, side - 5):
        w[row:row + 3, 2:side - 3] = True
    return w


NEGATIVES = {
    "empty": lambda side, rng: np.zeros((side, side), bool),
    "disconnected": lambda side, rng: two_blobs(side),
    "hole": lambda side, rng: ring(side),
    "speckle": speckle,
    "diagonal": lambda side, rng: diagonal_line(side),
    "plus": lambda side, rng: plus(side),
    "comb": lambda side, rng: comb(side),
}


# ----------------------------------------------------------------------------- accuracy
POSITIVE_CASES = [(16, 6, False), (16, 8, True), (32, 6, True), (32, 8, False)]


@pytest.mark.parametrize("side, k, convex", POSITIVE_CASES)
def test_own_samples_are_accepted(side, k, convex):
    target = PolygonsTarget(side=side, max_vertices=k, convex=convex)
    samples = target.sample(250, np.random.default_rng(7))
    validity = target.is_valid(samples.images)
    # seed fixed; the measured false-rejection rate is ~0.1% (docs/polygon_validity.md),
    # and the threshold allows 2 misses in 250
    assert validity.valid.mean() >= 0.99, dict(zip(*np.unique(validity.reason, return_counts=True)))


@pytest.mark.parametrize("side", [16, 32])
@pytest.mark.parametrize("k", [6, 8])
def test_crafted_negatives_are_all_rejected(side, k):
    target = PolygonsTarget(side=side, max_vertices=k)
    rng = np.random.default_rng(0)
    names = list(NEGATIVES)
    images = np.stack([image(NEGATIVES[name](side, rng)) for name in names])
    validity = target.is_valid(images)
    rejected = dict(zip(names, ~validity.valid))
    assert all(rejected.values()), rejected


def test_reason_codes():
    target = PolygonsTarget(side=16, max_vertices=6, min_area=6)
    tiny = np.zeros((16, 16), bool)
    tiny[3, 3:5] = True
    cases = {"empty": np.zeros((16, 16), bool), "disconnected": two_blobs(16),
             "hole": ring(16), "too_small": tiny, "too_many_vertices": plus(16)}
    validity = target.is_valid(np.stack([image(w) for w in cases.values()]))
    assert list(validity.reason) == list(cases)


def test_vertex_bound_depends_on_k():
    """An L needs 6 vertices, a U 8: accepted from that K on, rejected below."""
    l_shape, u_shape = np.zeros((16, 16), bool), np.zeros((16, 16), bool)
    l_shape[2:12, 2:6] = l_shape[8:12, 2:12] = True
    u_shape[2:12, 2:5] = u_shape[2:12, 9:12] = u_shape[9:12, 2:12] = True
    images = np.stack([image(l_shape), image(u_shape)])
    for k, expected in [(4, [False, False]), (6, [True, False]), (8, [True, True])]:
        assert list(PolygonsTarget(side=16, max_vertices=k).is_valid(images).valid) == expected


# ----------------------------------------------------------------------------- witnesses
def test_fitted_polygon_is_a_witness():
    target = PolygonsTarget(side=16, max_vertices=6)
    samples = target.sample(20, np.random.default_rng(3))
    for img in samples.images:
        v = fit_polygon(img > 0, max_vertices=6)
        assert v is not None and 3 <= len(v) <= 6
        assert shapely.Polygon(v).is_valid
        assert np.array_equal(rasterize(v / 16, 16), img > 0)


def test_tolerance_accepts_a_flipped_pixel():
    """A quadrilateral's image with one boundary pixel flipped: rejected at K = 4 exactly
    (for the first such flip found), accepted with tolerance 1."""
    exact = PolygonsTarget(side=16, max_vertices=4)
    lenient = PolygonsTarget(side=16, max_vertices=4, tolerance=1)
    white = exact.sample(1, np.random.default_rng(0)).images[0] > 0
    flips = (np.where(f, 1.0, -1.0)[None] for f in boundary_flips(white))
    rejected = next(f for f in flips if not exact.is_valid(f).valid[0])
    assert lenient.is_valid(rejected).valid[0]


# ----------------------------------------------------------------------------- sampling
def test_samples_render_from_their_params_and_respect_the_spec():
    target = PolygonsTarget(side=16, max_vertices=5, min_area=10)
    samples = target.sample(60, np.random.default_rng(1))
    assert samples.images.shape == (60, 16, 16) and samples.images.dtype == np.float32
    np.testing.assert_array_equal(target.render(samples.params), samples.images)
    white = samples.images > 0
    assert (white.sum(axis=(1, 2)) >= 10).all()
    assert is_connected(white).all() and not has_hole(white).any()
    counts = {len(v) for v in samples.params}
    assert counts == {3, 4, 5}  # varied vertex counts
    for v in samples.params:
        assert shapely.Polygon(v).is_valid and v.min() >= 0 and v.max() <= 1
        assert shapely.Polygon(v).area * 16**2 >= 10


def test_sampling_is_deterministic_and_varied():
    target = PolygonsTarget(side=16, max_vertices=6)
    a = target.sample(30, np.random.default_rng(5)).images
    b = target.sample(30, np.random.default_rng(5)).images
    np.testing.assert_array_equal(a, b)
    assert len({x.tobytes() for x in a}) == 30


def test_convex_target_draws_convex_polygons():
    target = PolygonsTarget(side=16, max_vertices=7, convex=True)
    for v in target.sample(40, np.random.default_rng(2)).params:
        poly = shapely.Polygon(v)
        assert poly.convex_hull.area == pytest.approx(poly.area, rel=1e-9)


def test_nonconvex_target_draws_some_nonconvex_polygons():
    target = PolygonsTarget(side=16, max_vertices=8)
    params = target.sample(40, np.random.default_rng(2)).params
    assert any(shapely.Polygon(v).convex_hull.area > 1.01 * shapely.Polygon(v).area for v in params)


def test_rasterization_rule_pixel_centres_strictly_inside():
    # centres at side 4 sit at 0.125, 0.375, 0.625, 0.875: [0.25, 0.75]^2 holds the middle 2x2
    v = np.array([[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]])
    expected = np.zeros((4, 4), bool)
    expected[1:3, 1:3] = True
    np.testing.assert_array_equal(rasterize(v, 4), expected)
    # the hypotenuse x + y = 0.75 runs through the centre of pixel (1, 1): on the boundary, black
    tri = rasterize(np.array([[0, 0], [0.75, 0], [0, 0.75]]), 4)
    assert tri[0, 0] and not tri[1, 1]
    # row i runs downward: a band near y = 0 lights row 0 only
    top = rasterize(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.2], [0.0, 0.2]]), 4)
    assert top[0].all() and not top[1:].any()


# ----------------------------------------------------------------------------- API and errors
def test_cache_makes_repeats_free_and_keeps_answers():
    target = PolygonsTarget(side=16, max_vertices=6)
    images = target.sample(10, np.random.default_rng(4)).images
    first = target.is_valid(images)
    again = target.is_valid(np.concatenate([images, images]))
    np.testing.assert_array_equal(again.valid, np.concatenate([first.valid, first.valid]))
    assert len(target._cache) == 10


def test_raw_samples_are_binarized_at_zero():
    target = PolygonsTarget(side=16, max_vertices=6)
    images = target.sample(5, np.random.default_rng(6)).images
    assert target.is_valid(images * 0.3 + 0.01).valid.all()


def test_user_errors_name_the_culprit():
    target = PolygonsTarget(side=16, max_vertices=6)
    with pytest.raises(UserError, match="16"):
        target.is_valid(np.zeros((2, 8, 8)))
    with pytest.raises(UserError, match="polygon 1"):
        target.render([np.zeros((3, 2)), np.zeros((2, 2))])


def test_describe_and_support():
    target = PolygonsTarget(side=16, max_vertices=6)
    images = target.sample(20, np.random.default_rng(8)).images
    stats = target.describe(images)
    assert 6 <= stats["mean_white_area"] <= 256
    assert 3 <= stats["mean_fitted_vertices"] <= 6
    assert stats["valid_fraction"] == 1.0
    assert target.support_size is None


def test_novel_mass_of_a_small_training_set_is_near_one():
    target = PolygonsTarget(side=16, max_vertices=6)
    train = target.sample(8, np.random.default_rng(9)).images
    mass = target.novel_mass(train, np.random.default_rng(10), n_reference=256)
    assert 0.95 <= mass <= 1.0  # 8 images out of a huge support; seed fixed


def test_config_fields_build_the_target():
    cfg = PolygonsConfig(side=20, max_vertices=7, min_area=5, convex=True, tolerance=1)
    kwargs = {k: getattr(cfg, k) for k in ("side", "max_vertices", "min_area", "convex", "tolerance")}
    target = PolygonsTarget(**kwargs, kind="polygons")
    assert target.shape == (20, 20) and target.tolerance == 1
