"""`tsearch score`: re-scoring a run folder reproduces its records exactly; scoring anyone's
samples against a training set; bad input is one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import invoke

from tsearch.store.records import read_jsonl

TINY = """
[run]
seed = 3
n = 4
[target]
kind = "polygons"
side = 8
max_vertices = 5
min_area = 4.0
[model]
kind = "mlp"
width = 32
depth = 1
[train]
steps = 60
batch_size = 8
n_checkpoints = 2
first_checkpoint = 30
[sampler]
n_steps = 8
n_samples = 32
[metrics]
n_bootstrap = 50
reference_samples = 64
pr_reference_size = 128
chance_blobs = 8
"""
SWEEP = TINY.replace("kind = \"polygons\"\nside = 8\nmax_vertices = 5\nmin_area = 4.0",
                     "kind = \"dots\"\nside = 6\nk = [1, 3]") + """
[sweep]
metric_by_target = { dots = "coverage_unseen" }
[sweep.grid]
"run.n" = [2, 4]
"""


@pytest.fixture
def run_dir(tiny, tmp_path):
    out = tmp_path / "run"
    assert invoke("run", tiny, "--out", out, "--quiet").exit_code == 0
    return out


def test_rescoring_a_run_reproduces_its_metrics_exactly(run_dir):
    result = invoke("score", run_dir)
    assert result.exit_code == 0, result.output
    rescored = [json.loads(line) for line in result.output.splitlines()]
    recorded = list(read_jsonl(run_dir / "metrics.jsonl"))
    assert len(rescored) == len(recorded) == 2
    for new, old in zip(rescored, recorded):
        assert new.pop("file") == "samples/steps.npz"
        old.pop("loss"), new.pop("loss")
        assert new == old  # every metric, interval and extra, to the last bit
    assert "g_shift" in recorded[0] and "chance_valid" in recorded[0]
    check = invoke("score", run_dir, "--check")
    assert check.exit_code == 0 and "no differences" in check.output


def test_check_reports_a_tampered_record(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["g_shift"] = 0.123456
    (run_dir / "metrics.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    result = invoke("score", run_dir, "--check")
    assert result.exit_code == 1
    assert "g_shift recorded 0.123456" in result.output


def test_rescoring_a_sweep_reproduces_every_evaluation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    assert invoke("sweep", "sweep.toml", "--out", "sw", "--quiet").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "sw" / "samples").glob("*_steps.npz")) == \
        ["p00000_steps.npz", "p00001_steps.npz"]
    result = invoke("score", "sw", "--check")
    assert result.exit_code == 0, result.output
    assert "re-scored 4 scored steps: no differences" in result.output


def test_scoring_shifted_copies_of_the_training_set(tiny, run_dir, tmp_path):
    train = np.load(run_dir / "train_set.npz")["images"]
    shifted = np.full_like(train, -1)
    shifted[:, 1:, :] = train[:, :-1, :]  # one row down
    keep = (train[:, -1, :] < 0).all(axis=1)  # only those whose whites stay on the canvas
    assert keep.any()
    np.savez(tmp_path / "train.npz", images=train)
    np.savez(tmp_path / "shifted.npz", images=(shifted[keep] > 0).astype(np.uint8))  # 0/1 input
    result = invoke("score", tiny, "--train", tmp_path / "train.npz", "--samples", tmp_path / "shifted.npz")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["n_samples"] == int(keep.sum()) and out["n_train"] == len(train)
    assert out["metrics"]["copy"] == 0.0 and out["metrics"]["copy_shift"] == 1.0
    assert out["metrics"]["g_shift"] == 0.0 and out["metrics"]["g"] > 0
    assert set(out["intervals"]) >= {"g", "g_shift", "copy_shift", "chance_valid"}


@pytest.mark.parametrize("args, culprit", [
    (["--train", "train.npz"], "needs --train TRAIN.npz and --samples"),
    (["--train", "train.npz", "--samples", "missing.npz"], "missing.npz: no such file"),
    (["--train", "train.npz", "--samples", "wrong_size.npz"], "wrong_size.npz: images of size 5x5"),
    (["--train", "train.npz", "--samples", "train.npz", "--check"], "--check re-scores a run folder"),
    (["--train", "train.npz", "--samples", "train.npz", "--set", "metrics.symmetries=d8"], "symmetries"),
])
def test_bad_input_is_one_line_and_exit_2(tiny, tmp_path, args, culprit):
    np.savez(tmp_path / "train.npz", images=-np.ones((2, 8, 8)))
    np.savez(tmp_path / "wrong_size.npz", images=-np.ones((2, 5, 5)))
    result = invoke("score", tiny, *args)
    assert result.exit_code == 2
    assert result.output.startswith("tsearch: error:") and culprit in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_folder_without_saved_samples_is_a_user_error(tmp_path, run_dir):
    (run_dir / "samples" / "steps.npz").unlink()
    result = invoke("score", run_dir)
    assert result.exit_code == 2 and "no saved samples" in result.output
    result = invoke("score", tmp_path)  # not a run folder
    assert result.exit_code == 2 and result.output.startswith("tsearch: error:")


EVOLVE = """
[run]
seed = 3
[target]
kind = "dots"
side = 6
k = [1, 2]
[model]
kind = "mlp"
width = 16
depth = 1
[train]
steps = 20
batch_size = 8
n_checkpoints = 2
first_checkpoint = 10
[sampler]
n_steps = 6
n_samples = 16
[metrics]
n_bootstrap = 20
reference_samples = 64
pr_reference_size = 64
[search]
generations = 1
population = 2
n_min = 1
n_max = 3
size_grid = [2]
baseline_repeats = 1
reevaluate_seeds = 1
"""


def test_rescoring_an_evolve_folder_reproduces_every_genome(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evolve.toml").write_text(EVOLVE)
    result = invoke("evolve", "evolve.toml", "--out", "ev", "--quiet")
    assert result.exit_code == 0, result.output
    kept = list((tmp_path / "ev" / "samples").glob("*_steps.npz"))
    assert kept
    result = invoke("score", "ev", "--check")
    assert result.exit_code == 0, result.output
    assert f"re-scored {2 * len(kept)} scored steps: no differences" in result.output
