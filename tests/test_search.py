"""The search layer on small genomes: genomes, operators, strategies, archive, checkpoints.

No model is trained here: fitness values are synthetic functions of the genome.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from tsearch.config import DotsConfig, PolygonsConfig, SearchConfig
from tsearch.search import (
    FitnessCache,
    Genome,
    ParetoArchive,
    Rules,
    build_baseline,
    build_strategy,
    crossover,
    mutate,
    random_genome,
    strategy_from_state,
)
from tsearch.search.archive import select_nsga2
from tsearch.search.fidelity import promoted, successive_halving
from tsearch.search.operators import OPERATORS
from tsearch.store.checkpoint import CheckpointStore
from tsearch.targets import build_target, image_keys
from tsearch.tasks import rung_steps


@pytest.fixture(scope="module")
def polygons():
    return build_target(PolygonsConfig(side=8, max_vertices=5, min_area=4))


@pytest.fixture(scope="module")
def dots():
    return build_target(DotsConfig(side=6, k=(1, 2)))


def assert_valid(genome, target, rules):
    assert rules.n_min <= genome.size <= rules.n_max
    images = genome.render(target)
    assert target.is_valid(images).valid.all()
    if not rules.allow_duplicates:
        assert len(set(image_keys(images))) == genome.size
    for e in genome.elements:
        if e.dtype.kind == "f":
            assert 3 <= len(e) <= target.max_vertices
            assert e.min() >= 0.0 and e.max() <= 1.0


# ----------------------------------------------------------------------------- genomes
def test_genome_is_canonical_and_immutable(polygons):
    elements = polygons.sample_params(4, np.random.default_rng(0))
    a, b = Genome(elements), Genome(elements[::-1])
    assert a == b and a.hash == b.hash and len({a, b}) == 1
    elements[0][0, 0] = 0.123  # the genome holds copies
    assert Genome(elements).hash != a.hash
    with pytest.raises(ValueError):
        a.elements[0][0, 0] = 0.5


def test_random_genome_has_distinct_valid_images(dots):
    rules = Rules(target=dots, n_min=1, n_max=20)
    g = random_genome(dots, 20, np.random.default_rng(1), allow_duplicates=False)
    assert_valid(g, dots, rules)


# ----------------------------------------------------------------------------- operators
@pytest.mark.parametrize("kind", ["polygons", "dots"])
def test_operators_keep_genomes_valid_and_in_bounds(kind, request):
    target = request.getfixturevalue(kind)
    rng = np.random.default_rng(2)
    rules = Rules(target=target, n_min=2, n_max=5, sigma=0.08)
    weights = {name: 1.0 for name in OPERATORS}
    pool = [random_genome(target, n, rng, allow_duplicates=False) for n in (2, 3, 5)]
    changed = 0
    for _ in range(40):
        a, b = (pool[i] for i in rng.integers(len(pool), size=2))
        for child in (*crossover(a, b, rng=rng, rules=rules), mutate(a, rng=rng, rules=rules, weights=weights)):
            assert_valid(child, target, rules)
            changed += child not in pool
            pool.append(child)
    assert changed > 40  # the operators do explore (most children are new training sets)


@pytest.mark.parametrize("name, effect", [
    ("add_vertex", lambda a, b: sum(map(len, b.elements)) == sum(map(len, a.elements)) + 1),
    ("remove_vertex", lambda a, b: sum(map(len, b.elements)) == sum(map(len, a.elements)) - 1),
    ("delete", lambda a, b: b.size == a.size - 1),
    ("insert", lambda a, b: b.size == a.size + 1),
    ("replace", lambda a, b: b.size == a.size and b != a),
    ("perturb", lambda a, b: b.size == a.size and b != a),
])
def test_each_operator_does_what_it_says(polygons, name, effect):
    rng = np.random.default_rng(3)
    rules = Rules(target=polygons, n_min=1, n_max=8, sigma=0.1)
    changed = 0
    for _ in range(10):
        a = random_genome(polygons, 4, rng, allow_duplicates=False)
        b = mutate(a, rng=rng, rules=rules, weights={name: 1.0})
        assert_valid(b, polygons, rules)
        assert b == a or effect(a, b)  # unchanged only when no valid variant was found
        changed += b != a
    assert changed >= 5


def test_crossover_at_fixed_size_exchanges_elements(polygons):
    rng = np.random.default_rng(4)
    rules = Rules(target=polygons, n_min=4, n_max=4)
    a, b = (random_genome(polygons, 4, rng, allow_duplicates=False) for _ in range(2))
    children = [c for _ in range(10) for c in crossover(a, b, rng=rng, rules=rules)]
    assert all(c.size == 4 for c in children)
    parents = {e.tobytes() for g in (a, b) for e in g.elements}
    assert all(e.tobytes() in parents for c in children for e in c.elements)
    assert any(c not in (a, b) for c in children)


# ----------------------------------------------------------------------------- selection
def dominated(p, q):  # q dominates p: value >= and size <=, one strictly
    return q[1] >= p[1] and q[0] <= p[0] and (q[1] > p[1] or q[0] < p[0])


def test_nsga2_selection_keeps_the_first_front_and_ranks_failures_last():
    sizes = [2, 4, 4, 8, 8, 3]
    values = [0.1, 0.5, 0.3, 0.9, None, 0.05]
    chosen = select_nsga2(sizes, values, 3)
    assert set(chosen) == {0, 1, 3}  # the non-dominated points
    assert 4 == select_nsga2(sizes, values, 6)[-1]  # a failed evaluation comes last


def test_archive_is_the_non_dominated_set(polygons):
    rng = np.random.default_rng(5)
    genomes = [random_genome(polygons, int(n), rng, allow_duplicates=False) for n in rng.integers(1, 6, 30)]
    values = [float(v) for v in rng.random(30)]
    archive = ParetoArchive()
    for i in range(0, 30, 10):  # told in three batches, as generations
        archive.update(genomes[i:i + 10], values[i:i + 10])
    points = [(g.size, v) for g, v in zip(genomes, values)]
    front = {(g.size, v) for g, v in archive.entries}
    assert front == {p for p in points if not any(dominated(p, q) for q in points)}


# ----------------------------------------------------------------------------- strategies
def fitness(genome):
    """Synthetic: more and larger polygons score higher, so a search has somewhere to go."""
    area = np.mean([np.ptp(e[:, 0]) * np.ptp(e[:, 1]) for e in genome.elements])
    return float(min(1.0, area * genome.size / 4))


@pytest.mark.parametrize("kind", ["nsga2", "single", "random"])
def test_strategy_state_round_trips_to_identical_asks(polygons, kind):
    cfg = SearchConfig(strategy=kind, generations=5, population=6, n_min=1, n_max=5, size_grid=(1, 3))
    a = build_strategy(cfg, polygons, np.random.default_rng(6))
    for _ in range(3):
        genomes = a.ask()
        a.tell(genomes, [fitness(g) for g in genomes])
    state = json.loads(json.dumps(a.state()))  # through JSON, as in a checkpoint
    b = strategy_from_state(state, cfg=cfg, target=polygons, genomes={g.hash: g for g in a.genomes()})
    assert [g.hash for g in a.ask()] == [g.hash for g in b.ask()]
    expected = {"nsga2": lambda g: 1 <= g.size <= 5, "single": lambda g: g.size == 5,
                "random": lambda g: g.size in (1, 3)}[kind]
    assert all(expected(g) for g in a.population)


def test_nsga2_improves_a_synthetic_objective(polygons):
    cfg = SearchConfig(generations=8, population=10, n_min=1, n_max=4)
    s = build_strategy(cfg, polygons, np.random.default_rng(7))
    best = []
    while not s.done:
        genomes = s.ask()
        s.tell(genomes, [fitness(g) for g in genomes])
        best.append(s.archive.best()[1])
    assert best[-1] > best[0]  # deterministic for this seed
    assert s.archive.entries and all(g.size <= 4 for g in s.archive.genomes)


def test_baseline_draws_repeats_at_every_grid_size(polygons):
    cfg = SearchConfig(size_grid=(2, 5), baseline_repeats=3)
    base = build_baseline(cfg, polygons, np.random.default_rng(8))
    assert sorted(g.size for g in base.ask()) == [2, 2, 2, 5, 5, 5]


# ----------------------------------------------------------------------------- checkpoints, cache
def test_checkpoints_round_trip_prune_and_fall_back(tmp_path, polygons):
    rng = np.random.default_rng(9)
    store = CheckpointStore(tmp_path, keep=2)
    genomes = [random_genome(polygons, 3, rng, allow_duplicates=False) for _ in range(3)]
    for step in (1, 2, 3):
        store.save(step, {"step": step, "rng": rng.bit_generator.state}, genomes[:step])
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.json")) == ["ckpt-000002.json", "ckpt-000003.json"]
    latest, problems = store.load_latest()
    assert latest.step == 3 and not problems and set(latest.genomes) == {g.hash for g in genomes}
    assert latest.payload["rng"] == rng.bit_generator.state

    path = tmp_path / "ckpt-000003.json"
    path.write_text(path.read_text()[:-40])  # a truncated write
    latest, problems = store.load_latest()
    assert latest.step == 2 and len(problems) == 1 and "ckpt-000003.json" in problems[0]

    npz = tmp_path / "ckpt-000002.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    latest, problems = store.load_latest()
    assert latest is None and len(problems) == 2 and "ckpt-000002.npz: checksum" in problems[1]


def training(value, *, step=0, size=2, metrics=None) -> dict:
    """A cache record of one training (tsearch.search.state.fitness_entry's fields)."""
    return {"size": size, "step": step, "value": value, "best_step": 10, "metrics": metrics or {}}


def test_cache_is_keyed_by_evaluation_config():
    a, b = FitnessCache("a" * 64), FitnessCache("b" * 64, FitnessCache("a" * 64).entries)
    a.put("h", training(float("nan"), metrics={"g": np.float32(0.5)}))
    assert "h" in a and a.get("h")["value"] is None and a.get("h")["metrics"] == {"g": 0.5}
    b.entries.update(a.entries)
    assert "h" not in b  # same genome, another evaluation config
    assert FitnessCache.from_state(json.loads(json.dumps(a.state()))).get("h") == a.get("h")


# ----------------------------------------------------------------------------- multi-fidelity
def dot_genomes(sizes) -> list[Genome]:
    """Distinct genomes of the given sizes (one-pixel elements; no target needed)."""
    return [Genome([np.array([i, j]) for j in range(n)]) for i, n in enumerate(sizes)]


def test_promotion_keeps_the_best_by_front_rank_then_crowding_in_ask_order():
    genomes = dot_genomes([2, 4, 1, 3, 5, 6])
    values = [0.9, 0.5, 0.1, None, 0.95, 0.2]  # front: (2, .9), (1, .1), (5, .95)
    assert promoted(genomes, values, 0.5) == [0, 2, 4]
    assert promoted(genomes, values, 0.1) != [] and len(promoted(genomes, values, 0.1)) == 1
    assert promoted(genomes, values, 1.0) == list(range(6))


def test_successive_halving_promotes_the_expected_candidates():
    genomes = dot_genomes([1, 2, 3, 4, 5, 6, 7, 8])
    # a synthetic fitness whose ranking changes with the budget: small sets look good early
    quality = [0.2, 0.9, 0.4, 0.8, 0.3, 0.7, 0.6, 0.5]
    calls = []

    def evaluate_at(batch, fraction):
        calls.append((fraction, [g.size for g in batch]))
        return [quality[g.size - 1] * fraction + (1 - fraction) * (1 - g.size / 8) for g in batch]

    rungs = successive_halving(genomes, evaluate_at, (0.25, 0.5), promote=0.5)
    assert [r.fraction for r in rungs] == [0.25, 0.5, 1.0]
    assert [len(r.genomes) for r in rungs] == [8, 4, 2]
    # by hand: at 0.25, values (.71, .79, .57, .58, .36, .36, .24, .13) for sizes 1..8: front
    # {1, 2}, then {3, 4} -> 4 promoted; at 0.5, (.54, .83, .51, .65): front {1, 2} -> promoted
    assert [g.size for g in rungs[1].genomes] == [1, 2, 3, 4]
    assert [g.size for g in rungs[2].genomes] == [1, 2]
    assert rungs[2].values == [0.2, 0.9]  # the full budget's values, told to the strategy
    assert calls == [(r.fraction, [g.size for g in r.genomes]) for r in rungs]


def test_without_rungs_every_genome_is_evaluated_once_at_full_budget():
    genomes = dot_genomes([1, 2, 3])
    rungs = successive_halving(genomes, lambda batch, f: [0.5] * len(batch), (), promote=0.5)
    assert len(rungs) == 1 and rungs[0].fraction == 1.0 and rungs[0].genomes == genomes


def test_rung_steps_and_rung_config_checks():
    from tsearch.config import FieldError

    assert rung_steps(600, 0.25) == 150 and rung_steps(3, 0.1) == 1
    assert SearchConfig(rungs=(0.25, 0.5)).rungs == (0.25, 0.5)
    for bad in [(0.5, 0.25), (0.5, 1.0), (0.0,), (0.5, 0.5)]:
        with pytest.raises(FieldError, match="rungs"):
            SearchConfig(rungs=bad)
    with pytest.raises(FieldError, match="promote"):
        SearchConfig(promote=0)


def test_cache_keeps_each_fidelity_apart():
    cache = FitnessCache("a" * 64)
    cache.put("h", training(0.3), fidelity=0.25)
    assert "h" not in cache and cache.get("h") is None and cache.has("h", 0.25)
    cache.put("h", training(0.6))
    assert cache.get("h")["value"] == 0.6 and cache.get("h", 0.25)["value"] == 0.3
    assert [(h, e["value"]) for h, e in cache.items()] == [("h", 0.6)]  # the full-budget entries only
    again = FitnessCache.from_state(json.loads(json.dumps(cache.state())))
    assert again.get("h", 0.25) == cache.get("h", 0.25)


def test_a_set_value_is_the_mean_of_its_trainings_first_line_winning():
    cache = FitnessCache("a" * 64)
    cache.put("h", training(0.2, metrics={"g": 0.2}))
    cache.put("h", training(0.9, step=3), seed_index=0)  # a repeated line: ignored
    assert cache.get("h")["value"] == 0.2 and cache.get("h")["n"] == 1 and cache.get("h")["se"] is None
    cache.put("h", training(0.4, step=2, metrics={"g": 0.4}), seed_index=1)
    cache.put("h", training(None, step=2), seed_index=2)  # no finite value: not in the mean
    entry = cache.get("h")
    assert entry["value"] == pytest.approx(0.3) and entry["n"] == 2 and entry["step"] == 0
    assert entry["se"] == pytest.approx(np.std([0.2, 0.4], ddof=1) / np.sqrt(2))
    assert entry["metrics"] == {"g": pytest.approx(0.3)}
    assert cache.done_before("h", 2) == 1 and cache.done_before("h", 3) == 3
    assert cache.has("h", seed_index=1) and not cache.has("h", seed_index=3)


def test_search_never_loads_torch():
    code = "import sys, tsearch.search; assert 'torch' not in sys.modules, 'torch loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- checkpoints: faults
def _saved(tmp_path, polygons, steps=(1, 2, 3), keep=3, config_hash="a" * 64, config=None):
    rng = np.random.default_rng(10)
    store = CheckpointStore(tmp_path, keep=keep)
    genomes = [random_genome(polygons, 3, rng, allow_duplicates=False) for _ in range(2)]
    for step in steps:
        store.save(step, {"step": step}, genomes, config_hash=config_hash, config=config or {"seed": 1})
    return store


def test_stale_checkpoint_temporaries_are_removed_on_load(tmp_path, polygons):
    store = _saved(tmp_path, polygons, steps=(1,))
    stale = tmp_path / ".ckpt-000002.json.k3j4h5g6.tmp"
    stale.write_text("half a checkpoint")
    latest, problems = store.load_latest(config_hash="a" * 64)
    assert latest.step == 1 and not problems and not stale.exists()


def test_pruning_after_a_kill_during_pruning_leaves_nothing_unpruned(tmp_path, polygons):
    _saved(tmp_path, polygons, steps=(1, 2, 3, 4), keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ckpt-000003.json", "ckpt-000003.npz", "ckpt-000004.json", "ckpt-000004.npz"]
    # a kill between the two unlinks of an older prune, both orders: orphan .npz, orphan .json
    (tmp_path / "ckpt-000001.npz").write_bytes(b"orphan")
    (tmp_path / "ckpt-000002.json").write_text("orphan")
    _saved(tmp_path, polygons, steps=(5,), keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ckpt-000004.json", "ckpt-000004.npz", "ckpt-000005.json", "ckpt-000005.npz"]


def test_a_checkpoint_of_another_config_is_refused_with_its_config(tmp_path, polygons):
    from tsearch.store.checkpoint import ForeignCheckpoint
    _saved(tmp_path, polygons, steps=(1, 2), config_hash="b" * 64, config={"seed": 2})
    store = CheckpointStore(tmp_path)
    with pytest.raises(ForeignCheckpoint) as info:
        store.load_latest(config_hash="a" * 64)
    assert info.value.stored_config == {"seed": 2} and info.value.stored_hash == "b" * 64
    assert str(info.value) == (f"{tmp_path / 'ckpt-000002.json'}: was written for config bbbbbbbbbbbb, "
                               "not this run's config")
    latest, _ = store.load_latest(config_hash="b" * 64)
    assert latest.step == 2
    # one foreign checkpoint among this run's is refused too, even when it is not the newest
    _saved(tmp_path, polygons, steps=(3,), config_hash="a" * 64)
    with pytest.raises(ForeignCheckpoint, match="ckpt-000002.json"):
        store.load_latest(config_hash="a" * 64)


def _rewrite(path, edit):
    """Edit a checkpoint's document and recompute its checksum, as a determined user would."""
    import hashlib
    doc = json.loads(path.read_text().split("\n")[1])
    edit(doc)
    body = json.dumps(doc, sort_keys=True)
    path.write_text(f"{hashlib.sha256(body.encode()).hexdigest()}\n{body}\n")


@pytest.mark.parametrize("edit, why", [
    (lambda d: d.pop("step"), "key 'step' missing"),
    (lambda d: d.pop("payload"), "key 'payload' missing"),
    (lambda d: d.pop("npz"), "key 'npz' missing"),
    (lambda d: d["npz"].pop("sha256"), "'npz' entry"),
    (lambda d: d["npz"].update(file="../../outside.npz"), "'npz' entry"),
    (lambda d: d.update(step=7), "does not match the file name"),
    (lambda d: d.update(genomes={"x": "3"}), "element counts"),
    (lambda d: d.update(genomes={"0" * 64: 2}), "KeyError"),
])
def test_an_edited_checkpoint_with_its_checksum_recomputed_is_one_line(tmp_path, polygons, edit, why):
    store = _saved(tmp_path, polygons, steps=(1, 2))
    _rewrite(tmp_path / "ckpt-000002.json", edit)
    latest, problems = store.load_latest(config_hash="a" * 64)
    assert latest.step == 1 and len(problems) == 1
    assert why in problems[0] and "ckpt-000002.json" in problems[0] and "\n" not in problems[0]
