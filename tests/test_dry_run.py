"""--dry-run on run, sweep and evolve: the resolved config as TOML, the number of evaluations
and a rough time; nothing written."""

from __future__ import annotations

import os
import re
import tomllib

import pytest
from click.testing import CliRunner

from tsearch import configs
from tsearch.cli import main
from tsearch.config import config_from_dict, load_config, smoke_config
from tsearch.runs.pipeline import pinned_precision


def dry(*args):
    result = CliRunner().invoke(main, [*map(str, args), "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command, name, extra, evaluations", [
    # 6x2 baseline + 4x3 search + 4x2 survivors + 20 control + 3x(2x3 front sizes + 2 grid sizes)
    ("evolve", None, [], "at most 76"),
    ("sweep", "exp1", [], "135"),
    ("sweep", "exp1", ["--smoke"], "16"),
    ("sweep", "exp1_wide", [], "at most 255"),  # 30 searches: n = 1 .. S - 1 (dots S = d, code S = 4 .. 64)
    ("run", "dots_small", [], "1"),
])
def test_dry_run_prints_the_config_and_its_plan(tmp_path, monkeypatch, command, name, extra, evaluations):
    monkeypatch.chdir(tmp_path)
    out = dry(command, *([name] if name else []), *extra)
    config = config_from_dict(tomllib.loads(out))  # the output is a config file
    expected = pinned_precision(load_config(configs.path(name or "evolve")))  # what the run records
    assert config == (smoke_config(expected, source=name) if extra else expected)
    plan = out.strip().splitlines()[-1]
    assert re.match(rf"# --dry-run: {evaluations} evaluation\(s\), about \d+ (s|min|h)", plan), plan
    assert list(tmp_path.iterdir()) == []  # no results/ folder


def test_dry_run_estimates_grow_with_the_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def minutes(*overrides):
        args = [a for o in overrides for a in ("--set", o)]
        return float(re.search(r"\(([\d.]+) min;", dry("evolve", *args)).group(1))

    assert minutes("train.epochs=8000") > minutes("train.epochs=4000") > minutes("train.epochs=1000")
    by_steps = ("train.epochs=0",)
    assert (minutes(*by_steps, "train.steps=1200") > minutes(*by_steps, "train.steps=600")
            > minutes(*by_steps, "train.steps=100"))
    assert minutes("search.generations=12") > minutes("search.generations=6")
    if len(os.sched_getaffinity(0)) >= 2:  # evaluations run a worker per core at once
        assert minutes("executor.workers=1") == pytest.approx(2 * minutes("executor.workers=2"), rel=0.02)


def test_dry_run_still_rejects_a_bad_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["sweep", "exp2", "--dry-run", "--set", "train.lr=-1"])
    assert result.exit_code == 2 and "train.lr" in result.output
    assert list(tmp_path.iterdir()) == []
