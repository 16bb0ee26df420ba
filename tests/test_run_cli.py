"""`tsearch run`: config errors before any folder, dry run, the run folder, reproducibility."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import invoke

from tsearch.cli import main

TINY = """
[run]
seed = 3
n = 4
[target]
kind = "dots"
side = 4
[model]
kind = "mlp"
width = 32
depth = 2
[train]
steps = 12
batch_size = 8
n_checkpoints = 3
first_checkpoint = 4
[sampler]
n_steps = 8
n_samples = 32
[metrics]
n_bootstrap = 50
reference_samples = 64
"""


def run(*args):
    return invoke("run", *args, "--quiet", catch_exceptions=False)


def test_bad_key_exits_2_names_key_and_leaves_no_folder(tiny, tmp_path):
    tiny.write_text(TINY.replace("steps = 12", "stepz = 12"))
    result = run(tiny, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "train.stepz: unknown key (did you mean 'steps'?)" in result.output
    assert str(tiny) in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_cuda_without_a_gpu_exits_2_and_leaves_no_folder(tiny, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = run(tiny, "--set", "engine.device=cuda", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "no CUDA device is available" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_override_value_exits_2(tiny, tmp_path):
    result = run(tiny, "--set", "train.steps=0", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "train.steps: must be >= 1" in result.output
    assert not (tmp_path / "out").exists()


def test_dry_run_prints_resolved_config_and_creates_nothing(tiny, tmp_path):
    result = run(tiny, "--dry-run", "--set", "model.kind=empirical", "--out", tmp_path / "out")
    assert result.exit_code == 0
    resolved = tomllib.loads(result.output)
    assert resolved["model"] == {"kind": "empirical"} and resolved["run"]["n"] == 4
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_run_folder_contents_and_same_seed_same_metrics(tiny, tmp_path):
    folders = [tmp_path / "a", tmp_path / "b"]
    for out in folders:
        assert run(tiny, "--out", out).exit_code == 0
    a, b = folders
    for name in ("run.json", "config.json", "metrics.jsonl", "summary.json", "train_set.png",
                 "train_set.npz", "report.html", "report.md"):
        assert (a / name).is_file(), name
    lines = (a / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == [4, 7, 12]
    for r in records:
        assert {"valid", "copy", "novel", "g", "g_rel", "loss", "intervals"} <= set(r)
        assert (a / "samples" / f"step_{r['step']:06d}.png").is_file()
    summary = json.loads((a / "summary.json").read_text())
    assert {"tau_gen", "tau_mem", "best", "definitions"} <= set(summary)
    assert summary["best"]["g"] == max(r["g"] for r in records)
    assert (a / "metrics.jsonl").read_bytes() == (b / "metrics.jsonl").read_bytes()


def test_oracle_runs_through_the_same_command(tiny, tmp_path):
    pytest.importorskip("tsearch.oracles", reason="oracles not built yet")
    out = tmp_path / "emp"
    assert run(tiny, "--set", "model.kind=empirical", "--out", out).exit_code == 0
    [record] = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert record["step"] == 0
    assert record["copy"] >= 0.9  # the empirical score reproduces its 4 training images


def test_a_network_predicting_x0_memorizes_a_small_code(tiny, tmp_path):
    """Known answer through the engine: an MLP predicting x0 copies its 3 codewords (S = 4)."""
    out = tmp_path / "x0"
    sets = ["target.kind=linear_code", "target.rate=0.1", "run.n=3", "run.distinct=true", "model.width=64",
            "model.predicts=x0", "train.lr=5e-3", "train.steps=300", "sampler.n_steps=40"]
    assert run(tiny, *[a for s in sets for a in ("--set", s)], "--out", out).exit_code == 0
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 300 and last["copy"] >= 0.9, last["copy"]
    assert json.loads((out / "config.json").read_text())["model"]["predicts"] == "x0"


@pytest.mark.slow
@pytest.mark.ray
def test_run_and_sweep_through_ray_give_the_local_numbers(tmp_path, monkeypatch):
    """Every driver goes through the executor: a local Ray started by tsearch runs the same
    task in the same chunk, so the scored steps are the local ones."""
    # Ray workers import tsearch from the driver's working directory: this checkout's
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(TINY)
    local, ray = tmp_path / "local", tmp_path / "ray"
    assert run(tiny, "--out", local).exit_code == 0
    assert run(tiny, "--out", ray, "--executor", "ray").exit_code == 0
    assert (ray / "metrics.jsonl").read_bytes() == (local / "metrics.jsonl").read_bytes()
    grid = tmp_path / "grid.toml"
    grid.write_text(TINY + '[sweep.grid]\n"run.n" = [4]\n')  # the run's own task, once
    sweep = CliRunner().invoke(main, ["sweep", str(grid), "--out", str(tmp_path / "sweep"),
                                      "--executor", "ray", "--quiet"], catch_exceptions=False)
    assert sweep.exit_code == 0, sweep.output
    [n4] = [json.loads(x) for x in (tmp_path / "sweep" / "evaluations.jsonl").read_text().splitlines()]
    metrics = [json.loads(x) for x in (local / "metrics.jsonl").read_text().splitlines()]
    assert [c["g"] for c in n4["checkpoints"]] == [m["g"] for m in metrics]
