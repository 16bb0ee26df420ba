"""Extending a finished search: ``tsearch evolve --resume DIR --set search.generations=N`` ends
where an uninterrupted run of N generations ends; nothing else may change; a complete run with
nothing to add is left untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import snapshot

from tsearch.cli import main

TINY = """
[run]
seed = 4
[target]
kind = "dots"
side = 5
k = [1, 2]
[model]
kind = "mlp"
width = 16
depth = 1
[train]
steps = 8
batch_size = 4
n_checkpoints = 2
first_checkpoint = 4
[sampler]
n_steps = 6
n_samples = 16
[metrics]
n_bootstrap = 0
reference_samples = 32
[search]
generations = {generations}
population = 4
n_min = 1
n_max = 4
size_grid = [2, 3]
baseline_repeats = 1
reevaluate_seeds = 2
keep_checkpoints = 10
# an extension tops its control arm up after the longer search (tests/test_long_runs.py), so its
# logbook cannot equal an uninterrupted longer run's: the equality is checked without a control
control = "none"
"""


def evolve(*args):
    return CliRunner().invoke(main, ["evolve", *map(str, args), "--quiet"], catch_exceptions=False)


def outcome(run_dir: Path) -> dict:
    """What must not depend on the extension: logbook, front, fresh values, final config."""
    logbook = [{k: v for k, v in json.loads(line).items() if k != "timing"}
               for line in (run_dir / "logbook.jsonl").read_text().splitlines()]
    return {"logbook": logbook, "pareto": json.loads((run_dir / "pareto.json").read_text()),
            "config": json.loads((run_dir / "config.json").read_text())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-generation search extended to 4, and an uninterrupted 4-generation one."""
    root = tmp_path_factory.mktemp("extend")
    for n in (2, 4):
        (root / f"g{n}.toml").write_text(TINY.format(generations=n))
    assert evolve(root / "g2.toml", "--out", root / "extended").exit_code == 0
    first = outcome(root / "extended")
    result = evolve("--resume", root / "extended", "--set", "search.generations=4")
    assert result.exit_code == 0, result.output
    assert evolve(root / "g4.toml", "--out", root / "straight").exit_code == 0
    return root, first


def test_extending_by_two_generations_equals_the_longer_run(runs):
    root, first = runs
    extended, straight = outcome(root / "extended"), outcome(root / "straight")
    assert len(first["logbook"]) == 3 and len(extended["logbook"]) == 5  # baseline + search
    assert extended == straight
    assert extended["logbook"][:3] == first["logbook"]  # the first generations were kept as they were
    meta = json.loads((root / "extended" / "run.json").read_text())
    assert meta["extended"][0]["change"] == "search.generations: 2 in the run, 4 given"
    toml = (root / "extended" / "config.toml").read_text()
    assert "generations = 4" in toml


def test_a_complete_run_with_nothing_to_add_is_left_as_is(runs):
    root, _ = runs
    before = snapshot(root / "straight")
    result = evolve("--resume", root / "straight")
    assert result.exit_code == 0
    assert "complete (5 generations and the re-evaluation); nothing to add" in result.output
    assert snapshot(root / "straight") == before
    same = evolve("--resume", root / "straight", "--set", "search.generations=4")
    assert same.exit_code == 0 and "nothing to add" in same.output


@pytest.mark.parametrize("override, message", [
    ("train.steps=9", "belongs to a different config (train.steps: 8 in the run, 9 given)"),
    ("search.generations=3", "search.generations: the run has 4; a search can be extended, not shortened"),
])
def test_any_other_change_is_refused_and_changes_nothing(runs, override, message):
    root, _ = runs
    before = snapshot(root / "straight")
    result = evolve("--resume", root / "straight", "--set", override, "--set", "search.generations=6"
                    if override.startswith("train") else override)
    assert result.exit_code == 2 and message in result.output, result.output
    assert snapshot(root / "straight") == before
