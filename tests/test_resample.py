"""A search that does not believe lucky evaluations (tsearch.search.resample), on a synthetic
fitness with known per-set means plus seed noise, through the real driver (tsearch.runs.evolve)
and a real run folder: only the evaluation is synthetic (an ``evaluate_fn`` of the executor).

    value(set, seed) = mu(set) + N(0, SIGMA^2)      mu(set) in [0, 0.6) from the set's hash
"""

import json

import numpy as np
import pytest

from tsearch.config import load_config
from tsearch.executors import build_executor
from tsearch.runs.evolve import run_evolve
from tsearch.search.archive import ParetoArchive
from tsearch.search.cache import FitnessCache
from tsearch.search.genomes import Genome
from tsearch.search.resample import missing, ran_this_generation, wanted_trainings
from tsearch.store.folder import RunFolder
from tsearch.tasks import EvalResult, ScoredStep

SIGMA = 0.15
CONFIG = ["target.kind=polygons", "target.side=8", "target.min_area=4", "target.max_vertices=5",
          "model.kind=mlp", "train.steps=4", "train.n_checkpoints=1", "metrics.n_bootstrap=0",
          "search.generations=6", "search.population=6", "search.n_min=1", "search.n_max=4",
          "search.size_grid=[1, 2, 4]", "search.baseline_repeats=3", "search.reevaluate_seeds=3",
          "search.fitness_metric=g", "executor.workers=1", "executor.tasks_per_chunk=1"]
RESAMPLED = ["search.seeds_per_set=2", "search.resample_survivors=true", "search.max_seeds_per_set=6"]


def mu(genome_hash: str) -> float:
    return 0.6 * int(genome_hash[:8], 16) / 16**8


class Synthetic:
    """The executor's evaluate_fn: mu(set) + seed noise; ``kill_after`` trainings, then a crash
    (what a killed process leaves: the record up to that training)."""

    def __init__(self, kill_after: int | None = None):
        self.kill_after, self.calls = kill_after, 0

    def __call__(self, tasks, engine, progress=None):
        out = []
        for task in tasks:
            if self.kill_after is not None and self.calls >= self.kill_after:
                raise KeyboardInterrupt("killed")
            self.calls += 1
            genome_hash = task.task_id.split("#")[0].split("@")[0]
            value = mu(genome_hash) + np.random.default_rng(task.seed).normal(0, SIGMA)
            out.append(EvalResult(task_id=task.task_id, ok=True,
                                  scored=[ScoredStep(step=max(task.scored_steps), metrics={"g": value})]))
        return out


def search(tmp_path, overrides=(), *, name="run", kill_after=None, resume=False):
    config = load_config(None, CONFIG + list(overrides))
    path = tmp_path / name
    if not resume:
        RunFolder.create("evolve", name, config, out=str(path)).release()
    executor = build_executor(config.executor, config.engine, evaluate_fn=Synthetic(kill_after))
    with executor:
        run_evolve(config, path, executor, resume=resume)
    return config, path


def lines(path, phase=None):
    out = [json.loads(line) for line in (path / "evaluations.jsonl").read_text().splitlines()]
    return [line for line in out if phase is None or line["phase"] == phase]


def without_timings(records):
    return [{k: v for k, v in r.items() if k != "timings"} for r in records]


@pytest.fixture(scope="module")
def resampled(tmp_path_factory):
    return search(tmp_path_factory.mktemp("resampled"), RESAMPLED)


def test_a_set_is_trained_seeds_per_set_times_and_survivors_again(resampled):
    config, path = resampled
    per_set, phase = {}, {}
    for line in lines(path):
        if line["phase"] != "reevaluate":
            per_set.setdefault(line["hash"], []).append(line.get("seed_index", 0))
            phase[line["hash"]] = line["phase"]
    assert all(sorted(ix) == list(range(len(ix))) for ix in per_set.values())  # 0, 1, ... each once
    # every set gets seeds_per_set trainings, but the control's last set at a size: the remainder
    short = [h for h, ix in per_set.items() if len(ix) < config.search.seeds_per_set]
    assert all(phase[h] == "control" for h in short) and len(short) <= len(config.search.size_grid) + 2
    assert max(len(ix) for ix in per_set.values()) > config.search.seeds_per_set  # survivors
    assert max(len(ix) for ix in per_set.values()) <= config.search.max_seeds_per_set


def test_running_mean_converges_to_the_set_mean(resampled):
    _, path = resampled
    pareto = json.loads((path / "pareto.json").read_text())
    by_set = {}
    for line in lines(path):
        if line["phase"] != "reevaluate":
            by_set.setdefault(line["hash"], []).append(line["checkpoints"][0]["g"])
    for p in pareto["front"]:  # the front's value is the running mean of the set's trainings
        assert p["value"] == pytest.approx(np.mean(by_set[p["hash"]]))
    error = {m: [abs(np.mean(v) - mu(h)) for h, v in by_set.items() if len(v) == m] for m in (2, 6)}
    assert error[6], "no set reached max_seeds_per_set"
    # each |error| within 4 standard errors; and the mean error shrinks like 1/sqrt(m)
    assert all(e < 4 * SIGMA / np.sqrt(m) for m, es in error.items() for e in es)
    assert np.mean(error[6]) < np.mean(error[2])


def test_the_arms_train_as_many_models_at_each_size(resampled):
    _, path = resampled
    def per_size(phase):
        sizes = [line["size"] for line in lines(path, phase)]
        return {n: sizes.count(n) for n in sorted(set(sizes))}
    assert per_size("search") == per_size("control")
    pareto = json.loads((path / "pareto.json").read_text())
    assert pareto["budget"]["search"] == pareto["budget"]["control"] == len(lines(path, "search"))


def test_a_lucky_set_loses_its_place():
    """Elitist selection keeps a set whose one training was lucky; trained again, its mean falls
    and the next selection drops it."""
    from tsearch.config import SearchConfig
    from tsearch.search.strategies import SingleStrategy

    cfg = SearchConfig(strategy="single", population=3, n_min=1, n_max=1, size_grid=(1,),
                       resample_survivors=True)
    strategy = SingleStrategy(cfg=cfg, target=None, rng=np.random.default_rng(0))
    lucky, a, b, c = [Genome([np.array([i])]) for i in range(4)]
    strategy.generation = 1
    strategy.population, strategy.values = [lucky, a, b], [0.9, 0.5, 0.45]
    strategy.archive.update(strategy.population, strategy.values)
    assert strategy.survivors_to_resample() == [lucky, a, b]
    strategy.revalue(lambda g: {lucky: 0.2, a: 0.5, b: 0.45}[g])  # lucky, trained again
    assert strategy.archive.best()[0] == a  # the front follows the running mean
    strategy.tell([c], [0.4])
    assert lucky not in strategy.population and set(strategy.population) == {a, b, c}


def test_a_generation_asked_again_after_a_kill_wants_the_same_trainings():
    cache = FitnessCache("e" * 64)
    new, survivor = Genome([np.array([1])]), Genome([np.array([2])])
    for i in range(2):  # the survivor was trained twice before generation 3
        cache.put(survivor.hash, {"size": 1, "step": 1, "value": 0.5, "best_step": 1}, seed_index=i)
    want = wanted_trainings([new], [survivor], lambda g: 2, cache, 3, max_seeds=8)
    assert want == [(new, 0), (new, 1), (survivor, 0), (survivor, 1), (survivor, 2)]
    assert missing(want, cache) == [(new, 0), (new, 1), (survivor, 2)]
    cache.put(new.hash, {"size": 1, "step": 3, "value": 0.1, "best_step": 1})  # then killed
    cache.put(survivor.hash, {"size": 1, "step": 3, "value": 0.1, "best_step": 1}, seed_index=2)
    assert wanted_trainings([new], [survivor], lambda g: 2, cache, 3, max_seeds=8) == want
    assert missing(want, cache) == [(new, 1)]
    assert ran_this_generation(want, cache, 3) == [(new, 0), (new, 1), (survivor, 2)]
    assert wanted_trainings([], [survivor], lambda g: 2, cache, 4, max_seeds=3) == want[2:]


@pytest.mark.parametrize("kill_after", [5, 23, 61])
def test_kill_and_resume_with_resampled_survivors_is_bit_identical(resampled, tmp_path, kill_after):
    _, reference = resampled
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path, RESAMPLED, name="killed", kill_after=kill_after)
    assert len(lines(tmp_path / "killed")) == kill_after
    search(tmp_path, RESAMPLED, name="killed", resume=True)
    assert without_timings(lines(tmp_path / "killed")) == without_timings(lines(reference))
    assert (tmp_path / "killed" / "pareto.json").read_text() == (reference / "pareto.json").read_text()


def test_archive_round_trips_its_pool():
    genomes = [Genome([np.array([i])]) for i in range(3)]
    archive = ParetoArchive()
    archive.update(genomes, [0.3, 0.5, 0.1])
    archive.update(genomes[1:2], [0.05])  # trained again: no longer on the front
    assert archive.genomes == [genomes[0]]
    again = ParetoArchive.from_state(json.loads(json.dumps(archive.state())), {g.hash: g for g in genomes})
    assert again.entries == archive.entries and again.told == archive.told



# ----------------------------------------------------------------------------- replicates
@pytest.fixture(scope="module")
def replicates(tmp_path_factory):
    root = tmp_path_factory.mktemp("replicates")
    return root, [search(root, RESAMPLED + [f"run.seed={s}"], name=f"run{s}")[1] for s in (0, 1, 2)]


def test_study_pools_replicated_searches_paired_by_run(replicates):
    from click.testing import CliRunner
    from scipy import stats

    from tsearch.cli import main

    root, runs = replicates
    out = CliRunner().invoke(main, ["study", *map(str, runs), "--out", str(root / "pooled")])
    assert out.exit_code == 0, out.output
    study = json.loads((root / "pooled" / "study.json").read_text())
    assert study["runs"] == 3 and study["seeds"] == [0, 1, 2]
    assert (root / "pooled" / "report.html").is_file() and (root / "pooled" / "study.png").is_file()
    for row in study["rows"]:
        per_run = [json.loads((r / "pareto.json").read_text()) for r in runs]
        search = [next(c for c in p["answer"]["curves"] if c["size"] == row["size"])["search"]["mean"] for p in per_run]
        control = [next(c for c in p["answer"]["curves"] if c["size"] == row["size"])["control"]["mean"]
                   for p in per_run]
        assert row["per_run"]["search"] == search and row["search"]["mean"] == pytest.approx(np.mean(search))
        d = np.subtract(search, control)
        assert row["test"]["difference"] == pytest.approx(d.mean())
        assert row["test"]["p"] == pytest.approx(stats.ttest_1samp(d, 0).pvalue)
        assert row["typical"]["sets"] == 3 * 3  # baseline_repeats x runs


@pytest.mark.parametrize("problem", ["one", "unfinished", "not replicates", "same seed"])
def test_study_refuses_what_is_not_a_replicated_study(replicates, tmp_path, problem):
    from click.testing import CliRunner

    from tsearch.cli import main

    _, runs = replicates
    dirs = {"one": runs[:1], "same seed": [runs[0], runs[0]]}.get(problem, runs[:2])
    if problem in ("unfinished", "not replicates"):
        overrides = RESAMPLED + ["run.seed=9"] + (["search.population=4"] if problem == "not replicates" else [])
        _, extra = search(tmp_path, overrides, name="extra")
        if problem == "unfinished":
            (extra / "pareto.json").unlink()
        dirs = [*runs[:2], extra]
    out = CliRunner().invoke(main, ["study", *map(str, dirs), "--out", str(tmp_path / "pooled")])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert not (tmp_path / "pooled").exists()
