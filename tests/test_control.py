"""The control arm and the fresh-seed comparison, without training: synthetic fitness values.

A small driver below plays ``tsearch evolve``'s loop (ask, evaluate what is not cached, tell,
log) with a fitness computed from the genome, so the budget, the plan, the resume state and
the comparison are checked exactly and fast. The real loop is tests/test_evolve.py.
"""

import json
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from tsearch.analysis.compare import compare_arms, headline, holm, welch
from tsearch.analysis.summary import summarize
from tsearch.config import ConfigError, load_config
from tsearch.errors import UserError
from tsearch.search.control import ControlStrategy, control_from_state, control_plan, search_evaluations
from tsearch.search.features import set_features
from tsearch.search.state import SearchState, fitness_entry
from tsearch.targets import build_target
from tsearch.tasks import EvalTask, scored_steps

CONFIG = ["target.kind=polygons", "target.side=8", "target.min_area=4", "target.max_vertices=5",
          "search.generations=4", "search.population=6", "search.n_min=1", "search.n_max=5",
          "search.size_grid=[2, 4]", "search.baseline_repeats=2", "search.reevaluate_seeds=4"]


def size_histogram(sizes) -> dict[str, int]:
    """{"n": count} (JSON keys), by size: how the summary counts a phase's sizes."""
    return {str(n): c for n, c in sorted(Counter(sizes).items())}


def fitness(genome) -> float | None:
    """A deterministic, genome-dependent value; every set of size 3 fails. (Failing one size-3
    hash in five made whether any failure happened depend on the genomes' hashes, whose float
    vertices differ in the last bit between CPUs: the test failed on an AVX2-only machine.)"""
    if genome.size == 3:
        return None
    return int(genome.hash[:8], 16) / 16**8


def play(config, target, *, stop_after: int | None = None, state=None, lines=None):
    """The evolve loop on synthetic values; returns (state, record lines). ``stop_after``:
    generations to play before returning (a kill between generations)."""
    state = state or SearchState.fresh(config, target, lambda phase: np.random.default_rng(
        [7, len(phase), ord(phase[0])]))
    lines = [] if lines is None else lines
    played = 0
    for phase, strategy in state.strategies.items():
        if stop_after is not None and played == stop_after and not strategy.done:
            return state, lines
        if phase == "control" and not strategy.planned:
            strategy.plan_from(state, lines)
        while not strategy.done:
            if stop_after is not None and played == stop_after:
                return state, lines
            step, genomes = len(state.logbook), strategy.ask()
            todo = {g.hash: g for g in genomes if g.hash not in state.cache}
            for g in todo.values():
                value = fitness(g)
                header = {"step": step, "phase": phase, "hash": g.hash, "size": g.size}
                if value is None:
                    lines.append({**header, "error": "failed"})
                    continue
                line = {**header, "checkpoints": [{"step": 10, "g": value}]}
                lines.append(line)
                state.cache.put(g.hash, fitness_entry(line, "g"))
            strategy.tell(genomes, [state.cache.get(g.hash)["value"] if g.hash in state.cache else None
                                    for g in genomes])
            state.logbook.append({"step": step, "phase": phase, "evaluations": len(todo)})
            played += 1
    return state, lines


@pytest.fixture(scope="module")
def setup():
    config = load_config(None, CONFIG)
    return config, build_target(config.target)


def test_control_has_exactly_the_search_budget_at_each_size(setup):
    config, target = setup
    state, lines = play(config, target)
    search_steps = {e["step"] for e in state.logbook if e["phase"] == "search"}
    control_steps = {e["step"] for e in state.logbook if e["phase"] == "control"}
    ga = {(s, h): n for (s, h, _, _), (n, _) in search_evaluations(lines, search_steps).items()}
    control = {(s, h): n for (s, h, _, _), (n, _) in search_evaluations(lines, control_steps).items()}
    assert any("error" in line for line in lines if line["step"] in search_steps)  # failures count
    assert len(ga) < config.search.generations * config.search.population  # some asks were cached
    assert len(control) == len(ga) == sum(e["evaluations"] for e in state.logbook if e["phase"] == "search")
    assert size_histogram(control.values()) == size_histogram(ga.values())
    assert all(line["phase"] == "control" for line in lines if line["step"] in control_steps)
    baseline_and_ga = {h for (s, h) in ga} | {line["hash"] for line in lines if line["phase"] == "baseline"}
    assert not baseline_and_ga & {h for (_, h) in control}  # every control set is a new evaluation
    assert len({h for (_, h) in control}) == len(control)  # and distinct
    budget = summarize(config.search, state)["budget"]
    assert budget["search"] == budget["control"] == len(ga)
    assert budget["sizes"] == size_histogram(ga.values())


def test_a_line_repeated_by_a_resume_is_one_evaluation():
    lines = [{"step": 3, "hash": "a", "size": 2, "error": "killed"}, {"step": 3, "hash": "a", "size": 2},
             {"step": 3, "hash": "b", "size": 4}, {"step": 4, "hash": "a", "size": 2},
             {"step": 9, "hash": "c", "size": 1, "phase": "reevaluate"}]
    assert search_evaluations(lines, {3, 4}) == {(3, "a", 0, 1.0): (2, 1.0), (3, "b", 0, 1.0): (4, 1.0),
                                                 (4, "a", 0, 1.0): (2, 1.0)}
    assert control_plan(search_evaluations(lines, {3, 4})) == [2, 2, 4]


def test_multi_fidelity_rungs_count_at_their_fraction():
    """A rung at a quarter of the budget costs a quarter of an evaluation: 4 of them at n = 3
    and a full one give the control 2 evaluations of 3 images."""
    lines = [{"step": 1, "hash": h, "size": 3, "fidelity": 0.25} for h in "abcd"]
    lines += [{"step": 1, "hash": "a", "size": 3}, {"step": 1, "hash": "e", "size": 5, "fidelity": 0.5}]
    assert control_plan(search_evaluations(lines, {1})) == [3, 3, 5]


def test_killed_control_resumes_to_the_same_asks(setup):
    """A checkpoint taken in the control phase (its state through JSON) asks what an
    uninterrupted run asks; so does one taken before the control was planned."""
    config, target = setup
    reference, ref_lines = play(config, target)
    for stop in (3, 5, 7):  # in the search, at the control's start (unplanned), inside the control
        state, lines = play(config, target, stop_after=stop)
        payload = json.loads(json.dumps(state.payload(), sort_keys=True))  # as a checkpoint stores it
        genomes = {g.hash: g for g in state.genomes()}
        restored = SearchState.restore(payload, genomes, config.search, target)
        restored.cache, restored.logbook = state.cache, state.logbook
        state, lines = play(config, target, state=restored, lines=lines)
        assert [line["hash"] for line in lines] == [line["hash"] for line in ref_lines]
        assert state.strategies["control"].archive.state() == reference.strategies["control"].archive.state()


def test_control_state_round_trips(setup):
    config, target = setup
    control = ControlStrategy(cfg=config.search, target=target, rng=np.random.default_rng(1))
    control.set_plan([1, 1, 2, 3, 3, 3, 5], taken=())
    control.tell(genomes := control.ask(), [0.5] * len(genomes))
    copy = control_from_state(json.loads(json.dumps(control.state())), cfg=config.search, target=target,
                              genomes={g.hash: g for g in control.genomes()})
    assert copy.generations == 2 == control.generations and copy.plan == control.plan
    assert [g.hash for g in copy.ask()] == [g.hash for g in control.ask()]
    assert [g.size for g in genomes] == [1, 1, 2, 3, 3, 3]


def test_control_refuses_a_support_too_small():
    config = load_config(None, ["target.kind=dots", "target.side=4", "target.k=1", "model.kind=empirical"])
    target = build_target(config.target)
    control = ControlStrategy(cfg=config.search, target=target, rng=np.random.default_rng(0))
    control.set_plan([1] * 17, taken=())  # 16 one-dot images exist
    with pytest.raises(UserError, match="search.control"):
        for _ in range(3):
            control.tell(g := control.ask(), [0.0] * len(g))


# ----------------------------------------------------------------------------- statistics
def test_welch_is_the_textbook_formula():
    a, b = [0.8, 0.7, 0.9, 0.75], [0.5, 0.65, 0.55, 0.6, 0.4]
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 5
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 4)
    result = welch(a, b, 0.95)
    assert result["t"] == pytest.approx(t) and result["df"] == pytest.approx(df)
    assert result["p"] == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert result["difference_ci"][0] < result["difference"] < result["difference_ci"][1]
    assert welch([0.5, 0.5], [0.5, 0.5], 0.95) is None and welch([0.1], [0.2, 0.3], 0.95) is None


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 with m = 3: 0.03, 0.04, 0.04 (monotone); None is not counted
    assert holm([0.04, None, 0.01, 0.02]) == pytest.approx([0.04, None, 0.03, 0.04])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def member(size, value, fresh, h):
    return {"hash": h, "size": size, "value": value, "fresh": {"values": fresh}}


def test_comparison_and_headline_use_fresh_values_only():
    """In the search, the GA's sets look far better (0.95 vs 0.5); on fresh seeds the control's
    are better at n <= 2 and equal at n <= 4: the verdict follows the fresh values."""
    fronts = {"search": [member(2, 0.95, [0.30, 0.35, 0.32, 0.31, 0.33], "s2"),
                         member(4, 0.99, [0.75, 0.90, 0.80, 0.85, 0.82], "s4")],
              "control": [member(1, 0.40, [0.1, 0.2, 0.15, 0.12, 0.18], "c1"),
                          member(2, 0.50, [0.80, 0.85, 0.82, 0.78, 0.84], "c2")]}
    rows = compare_arms(fronts, alpha=0.05)
    assert [r["size"] for r in rows] == [1, 2, 4]
    assert rows[0]["winner"] == "untested" and rows[0]["search"] is None
    assert rows[1]["winner"] == "control" and rows[1]["search"]["in_search"] == 0.95
    assert rows[1]["control"]["mean"] == pytest.approx(0.818)
    assert rows[2]["winner"] == "neither"  # 0.824 against the control's n = 2 set, 0.818
    assert rows[2]["control"]["hash"] == "c2" and rows[2]["search"]["hash"] == "s4"
    text = " ".join(headline(rows, metric="g", k=5, alpha=0.05, budget=40,
                             smallest={"search": 4, "control": 2}, threshold=0.5))
    assert "THE CONTROL WINS at n <= 2" in text and "SEARCH WINS" not in text
    assert "0.818" in text and "0.95" not in text  # fresh means, never in-search values
    low, high = rows[2]["test"]["difference_ci"]
    assert f"Neither arm wins elsewhere; search - control (95% CI): n <= 4: 0.006 [{low:.3f}, {high:.3f}]" in text


def test_summary_comparison_is_built_from_fresh_values(setup):
    """The whole pareto.json of a played run: fresh values that disagree with the in-search
    ones decide the comparison, the headline and the smallest sizes."""
    config, target = setup
    state, _ = play(config, target)
    fresh = {}
    for arm, level in (("search", 0.2), ("control", 0.9)):  # the reverse of any in-search order
        for i, g in enumerate(state.strategies[arm].archive.genomes):
            fresh[g.hash] = [level + 0.01 * (i + j) for j in range(4)]
    summary = summarize(config.search, state, fresh)
    assert summary["comparison"] and all(r["winner"] in ("control", "untested") for r in summary["comparison"])
    assert any(r["winner"] == "control" for r in summary["comparison"])
    for row in summary["comparison"]:
        for arm in ("search", "control"):
            if row[arm]:
                assert row[arm]["values"] == fresh[row[arm]["hash"]]
    assert summary["smallest_size"]["search"] is None
    assert summary["smallest_size"]["control"] == min(g.size for g in state.strategies["control"].archive.genomes)
    assert any("THE CONTROL WINS" in line for line in summary["headline"])


# ----------------------------------------------------------------------------- training budget
def test_epochs_give_steps_per_training_image():
    config = load_config(None, ["train.epochs=100", "train.batch_size=32", "train.n_checkpoints=4",
                                "train.first_checkpoint=5", 'train.schedule="linear"'])
    assert config.train.steps == 0
    assert [config.train.steps_for(n) for n in (1, 2, 8, 33)] == [4, 7, 25, 104]
    assert scored_steps(config, 8) == (5, 12, 18, 25)
    task = EvalTask.from_config(config, task_id="a", seed=0, train_params=tuple(range(8)))
    assert task.scored_steps[-1] == 25 == task.work_units
    assert load_config(None, ["train.steps=300"]).train.steps == 300
    assert load_config(None, []).train.steps == 2000


def test_min_steps_is_a_floor_on_the_epochs_budget():
    """steps(n) = max(min_steps, ceil(epochs n / batch_size)): small sets train min_steps,
    large ones their epochs; the last scored step (and the work units) follow."""
    config = load_config(None, ["train.epochs=100", "train.batch_size=32", "train.min_steps=50",
                                "train.n_checkpoints=4", "train.first_checkpoint=5", 'train.schedule="linear"'])
    assert config.train.min_steps == 50
    assert [config.train.steps_for(n) for n in (1, 8, 16, 17, 33)] == [50, 50, 50, 54, 104]
    assert scored_steps(config, 8)[-1] == 50 and scored_steps(config, 33)[-1] == 104
    task = EvalTask.from_config(config, task_id="a", seed=0, train_params=tuple(range(8)))
    assert task.scored_steps[-1] == 50 == task.work_units
    assert load_config(None, ["train.epochs=100"]).train.min_steps == 0  # the default: no floor
    assert load_config(None, ["train.epochs=100", "train.batch_size=32"]).train.steps_for(8) == 25


@pytest.mark.parametrize("overrides, message", [
    (["train.epochs=10", "train.steps=100"], "train.steps: exclusive with train.epochs"),
    (["train.steps=100", "train.min_steps=50"],
     "train.min_steps: a floor on the budget in epochs: needs train.epochs > 0"),
    (["train.min_steps=50"], "train.min_steps: a floor on the budget in epochs"),  # the default budget is steps
    (["train.epochs=10", "train.min_steps=-1"], r"train.min_steps: must be in \[0, "),
    (["train.epochs=10", "train.min_steps=1e8"], r"train.min_steps: must be in \[0, 10,000,000\]"),
    (["train.epochs=-1"], "train.epochs: must be in"),
    (["train.epochs=1e6", "search.n_max=100", "train.batch_size=1"],
     r"train.epochs: 1e\+06 epochs of search.n_max = 100 images are 100,000,000 steps"),
])
def test_bad_budgets_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_features_of_a_set():
    images = -np.ones((2, 4, 4))
    images[0, 0, 0] = images[1, 3, 3] = images[1, 3, 2] = 1
    elements = [np.zeros((3, 2)), np.zeros((5, 2))]
    f = set_features(images, elements)
    assert f["white"] == pytest.approx(3 / 32) and f["vertices"] == 4
    # centroids (0, 0) and (3, 2.5): each 1/2 of the way from their mean, |d| = sqrt(9 + 6.25) / 2
    assert f["spread"] == pytest.approx(math.sqrt(15.25) / 2 / 4)
    assert f["hamming"] == pytest.approx(3 / 16)


def test_control_none_runs_no_control_and_says_so():
    config = load_config(None, CONFIG + ['search.control="none"'])
    target = build_target(config.target)
    state, lines = play(config, target)
    assert list(state.strategies) == ["baseline", "search"]
    assert {line["phase"] for line in lines} == {"baseline", "search"}
    summary = summarize(config.search, state, {})
    assert summary["control"] == "none" and summary["budget"] is None and summary["comparison"] == []
    assert summary["headline"][0].startswith("No control arm")


def test_unequal_budgets_are_said_first():
    rows = compare_arms({"search": [member(2, 0.5, [0.4, 0.5], "s")],
                         "control": [member(2, 0.5, [0.3, 0.35], "c")]}, alpha=0.05)
    text = headline(rows, metric="g", k=2, alpha=0.05, budget=30, control_budget=20,
                    smallest={}, threshold=0.5)
    assert text[0].startswith("BUDGETS DIFFER: the search trained 30 models, the control 20")
    assert not any("the same" in line for line in text)  # the headline never contradicts itself
    assert not headline(rows, metric="g", k=2, alpha=0.05, budget=30, control_budget=30,
                        smallest={}, threshold=0.5)[0].startswith("BUDGETS")
