"""Teaching sets that are not samples: the images genome (search.genome = "images").

Its operators keep images binary and of the target's side and can leave the support; the
genome round-trips through checkpoints and best/; a model copying a non-polygon training image
is scored as copying and not as valid; and the real driver (with the synthetic fitness of
tests/test_resample.py) runs it end to end and resumes bit-identically after a kill.
"""

import json

import numpy as np
import pytest
import torch
from test_resample import lines, search, without_timings

from tsearch.config import ConfigError, MetricsConfig, load_config
from tsearch.metrics import compute_metrics
from tsearch.registry import OPERATORS as REGISTERED
from tsearch.search.genomes import Genome, random_genome
from tsearch.search.operators import (
    IMAGE_ELEMENT_OPERATORS,
    IMAGE_OPERATORS,
    OPERATORS,
    Rules,
    crossover,
    mutate,
    splice,
)
from tsearch.store.checkpoint import CheckpointStore
from tsearch.targets.polygons import PolygonsTarget

TARGET = PolygonsTarget(side=10, max_vertices=6, min_area=6.0)
RULES = Rules(target=TARGET, n_min=1, n_max=4, images=True)
IMAGES = ["search.genome=images"]


def valid(images: np.ndarray) -> np.ndarray:
    return np.asarray(TARGET.is_valid(np.where(images, 1.0, -1.0)).valid, bool)


def test_every_operator_name_is_registered():
    assert OPERATORS == REGISTERED.names
    assert set(IMAGE_OPERATORS) <= set(OPERATORS)


@pytest.mark.parametrize("name", sorted(IMAGE_ELEMENT_OPERATORS))
def test_each_image_mutation_keeps_images_binary_and_can_leave_the_support(name):
    """From target samples (the search's start), each operator gives binary images of the side
    and some outside the support (dilate and shift rarely: ~1 image in 100)."""
    operator = IMAGE_ELEMENT_OPERATORS[name][0]
    rng = np.random.default_rng(0)
    left, changed = False, False
    for _ in range(10):  # batches of 100 until one image leaves the support
        starts = random_genome(TARGET, 100, rng, allow_duplicates=True, images=True).elements
        assert valid(np.stack(starts)).all()  # they start in the support
        out = [operator(image, rng, RULES) for image in starts]
        for image in out:
            assert image.dtype == np.bool_ and image.shape == (10, 10)
        changed |= any(not np.array_equal(a, b) for a, b in zip(starts, out))
        left |= not valid(np.stack(out)).all()
        if left:
            break
    assert left, f"{name} never left the support"
    assert changed, f"{name} changed nothing"


def test_mutate_and_crossover_of_an_images_genome_give_binary_images_of_the_side():
    rng = np.random.default_rng(1)
    population = [random_genome(TARGET, n, rng, allow_duplicates=False, images=True) for n in (1, 2, 3, 4)]
    weights = load_config(None, IMAGES).search.weights
    seen_invalid = False
    for _ in range(30):
        a, b = (population[i] for i in rng.choice(4, 2, replace=False))
        children = [*crossover(a, b, rng=rng, rules=RULES), *splice(a, b, rng=rng, rules=RULES)]
        for child in children + [mutate(c, rng=rng, rules=RULES, weights=weights) for c in children]:
            assert child.is_images and 1 <= child.size <= 4
            assert all(e.dtype == np.bool_ and e.shape == (10, 10) for e in child.elements)
            seen_invalid |= not valid(np.stack(child.elements)).all()
            population[rng.integers(4)] = child
    assert seen_invalid


def test_splice_mixes_two_images_along_a_line():
    left, right = np.zeros((10, 10), bool), np.ones((10, 10), bool)
    a, b = Genome([left]), Genome([right])
    rules = Rules(target=TARGET, n_min=1, n_max=1, images=True)
    first, second = splice(a, b, rng=np.random.default_rng(3), rules=rules)
    x, y = first.elements[0], second.elements[0]
    assert np.array_equal(x, ~y)  # complementary halves
    assert 0 < x.sum() < 100 or 0 < y.sum() < 100


def test_images_genome_starts_at_the_polygon_genome_s_samples():
    """Same draws: both genome kinds start at one place."""
    polygons = random_genome(TARGET, 3, np.random.default_rng(5), allow_duplicates=False)
    images = random_genome(TARGET, 3, np.random.default_rng(5), allow_duplicates=False, images=True)
    assert sorted(map(bytes, (polygons.render(TARGET) > 0))) == sorted(map(bytes, images.render(TARGET) > 0))
    assert images.is_images and not polygons.is_images


def test_an_images_genome_round_trips_through_a_checkpoint(tmp_path):
    rng = np.random.default_rng(2)
    genome = Genome([rng.random((10, 10)) < 0.5 for _ in range(3)])
    store = CheckpointStore(tmp_path)
    store.save(1, {"x": 1}, [genome])
    checkpoint, problems = store.load_latest()
    assert not problems
    again = checkpoint.genomes[genome.hash]
    assert again == genome and again.is_images
    assert all(np.array_equal(a, b) for a, b in zip(again.elements, genome.elements))
    assert np.array_equal(again.render(None), genome.render(None))


def test_a_copy_of_a_non_polygon_training_image_is_a_copy_and_not_valid():
    """Two separate squares: not a polygon. A model that reproduces it copies, and copying an
    invalid image counts neither as valid nor as generalization."""
    two = -np.ones((1, 10, 10), np.float32)
    two[0, 1:4, 1:4] = two[0, 6:9, 6:9] = 1.0
    assert not valid(two > 0)[0]
    shifted = np.roll(two, 1, axis=2)
    samples = np.concatenate([two, two, shifted])
    report = compute_metrics(torch.as_tensor(samples), torch.as_tensor(two), TARGET,
                             config=MetricsConfig(n_bootstrap=0), novel_mass=0.5,
                             rng=np.random.default_rng(0))
    m = report.metrics
    assert m["copy"] == pytest.approx(2 / 3)  # the two exact copies
    assert m["copy_shift"] == 1.0  # the shifted one copies up to a shift
    assert m["valid"] == 0.0 and m["g"] == 0.0 and m["g_shift"] == 0.0


def test_genome_kind_and_rates_are_checked_at_load():
    for bad, culprit in [("search.genome=pixels", "genome"), ("search.flip_rate=0", "flip_rate"),
                         ("search.flip_rate=0.9", "flip_rate"), ("search.splice_prob=1.5", "splice_prob")]:
        with pytest.raises(ConfigError, match=culprit):
            load_config(None, [bad])


# ----------------------------------------------------------------------------- the real driver
@pytest.fixture(scope="module")
def images_run(tmp_path_factory):
    return search(tmp_path_factory.mktemp("images"), IMAGES)


def test_an_images_search_runs_end_to_end_and_finds_non_polygons(images_run):
    config, path = images_run
    pareto = json.loads((path / "pareto.json").read_text())
    assert {line["phase"] for line in lines(path)} >= {"baseline", "search", "control", "reevaluate"}
    target = PolygonsTarget(side=8, max_vertices=5, min_area=4.0)
    shares = []
    for npz in (path / "best").glob("*-train.npz"):  # both arms' fronts
        with np.load(npz) as data:
            elements = [data[k] for k in data.files if k.startswith("element_")]
            if all(e.dtype == np.bool_ for e in elements):  # the search's (the control draws polygons)
                assert all(e.shape == (8, 8) for e in elements)
                shares.append(float(np.mean(target.is_valid(data["images"].astype(np.float32)).valid)))
    assert shares and min(shares) < 1.0  # some found set holds an image that is not a polygon
    assert "valid" in pareto["found"]["search"]


def test_an_images_search_resumes_bit_identically_after_a_kill(images_run, tmp_path):
    _, reference = images_run
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path, IMAGES, name="killed", kill_after=29)
    search(tmp_path, IMAGES, name="killed", resume=True)
    assert without_timings(lines(tmp_path / "killed")) == without_timings(lines(reference))
    assert (tmp_path / "killed" / "pareto.json").read_text() == (reference / "pareto.json").read_text()


def test_compare_genomes_pairs_the_searches_and_each_with_its_control():
    from tsearch.analysis.compare import compare_genomes

    def member(size, value, fresh, valid):
        return {"hash": f"{size}{value}", "size": size, "value": value,
                "fresh": {"values": fresh}, "features": {"valid": valid}}

    runs = {"images": {"front": [member(1, 0.9, [0.8, 0.7, 0.9], 0.0)],
                       "control_front": [member(1, 0.5, [0.2, 0.3, 0.25], 1.0)]},
            "polygons": {"front": [member(1, 0.6, [0.4, 0.5, 0.45], 1.0)],
                         "control_front": [member(1, 0.5, [0.3, 0.35, 0.3], 1.0)]}}
    (row,) = compare_genomes(runs)
    assert row["n"] == 1 and row["images/search"]["valid"] == 0.0
    assert row["images - polygons"]["difference"] == pytest.approx(0.8 - 0.45)
    assert row["images: search - control"]["difference"] == pytest.approx(0.8 - 0.25)
    assert row["polygons/control"]["mean"] == pytest.approx(0.95 / 3)
