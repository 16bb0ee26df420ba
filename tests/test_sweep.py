"""`tsearch sweep`: grid expansion and validation, streaming, resume after SIGKILL, report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny import tiny_toml

from tsearch.cli import main
from tsearch.config import ConfigError, config_from_dict, config_to_dict, load_config, smoke_config
from tsearch.runs.sweep import expand_grid, load_evaluations

TINY = tiny_toml(seed=0, n=2) + """
[executor]
tasks_per_chunk = 1
[sweep]
metric_by_target = { dots = "coverage_unseen" }
[sweep.grid]
"target.side" = [4, 6]
"run.n" = [2, 4]
"run.seed" = [0, 1]
[sweep.smoke]
"train.steps" = 4
[sweep.smoke.grid]
"run.seed" = [7]
"""
VOLATILE = {"timings", "peak_memory_mb", "chunk_size", "form"}  # wall clock and batching, not results


def stable(path) -> set[str]:
    """evaluations.jsonl as a set of lines, without the fields that measure time."""
    return {json.dumps({k: v for k, v in r.items() if k not in VOLATILE}, sort_keys=True)
            for r in map(json.loads, path.read_text().splitlines())}


def test_grid_expands_row_major_with_tables_first(tiny):
    config = load_config(tiny, ["sweep.grid={\"target\" = [{kind = \"bernoulli\", p = 0.3}], \"target.side\" = [5]}"])
    [point] = expand_grid(config)
    assert point.config.target.kind == "bernoulli" and point.config.target.side == 5
    assert point.config.target.p == 0.3
    points = expand_grid(load_config(tiny))
    assert len(points) == 8 and len({p.task_id for p in points}) == 8
    assert points[1].overrides == {"run.n": 2, "run.seed": 0, "target.side": 6}  # sorted names, row-major


def test_smoke_overrides_merge_into_grid(tiny):
    config = smoke_config(load_config(tiny))
    assert config.train.steps == 4 and config.sweep.grid["run.seed"] == [7]
    assert config.sweep.grid["run.n"] == [2, 4]


def test_bad_grid_point_stops_before_any_folder(tiny, tmp_path):
    text = TINY.replace('"target.side" = [4, 6]', '"target.side" = [4, 300]')
    tiny.write_text(text)
    with pytest.raises(ConfigError, match=r"sweep.grid point \d+: target.side: must be in"):
        expand_grid(load_config(tiny), source=str(tiny))
    result = CliRunner().invoke(main, ["sweep", str(tiny), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "target.side" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_grid_key_exits_2(tiny, tmp_path):
    tiny.write_text(TINY.replace('"run.n" = [2, 4]', '"run.nn" = [2, 4]'))
    result = CliRunner().invoke(main, ["sweep", str(tiny), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "run.nn: unknown key" in result.output


def test_unknown_generalization_metric_exits_2_and_leaves_no_folder(tiny, tmp_path):
    result = CliRunner().invoke(main, ["sweep", str(tiny), "--set", "sweep.generalization_metric=g_rell",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "sweep.generalization_metric" in result.output
    assert "'g_rell'" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tiny, tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert CliRunner().invoke(main, ["sweep", str(tiny), "--out", str(full), "--quiet"]).exit_code == 0
    # the fixture moved into tmp_path: point the subprocess at this checkout's tsearch
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", "from tsearch.cli import main; main()", "sweep", str(tiny),
                             "--out", str(killed),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    evaluations = killed / "evaluations.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if evaluations.exists() and len(evaluations.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {r["task_id"] for r in load_evaluations(killed)}
    assert 1 <= len(done_before) < 8, "the kill should land mid-sweep"
    result = CliRunner().invoke(main, ["sweep", "--resume", str(killed), "--quiet"])
    assert result.exit_code == 0, result.output
    assert stable(evaluations) == stable(full / "evaluations.jsonl")
    assert len(evaluations.read_text().splitlines()) == 8  # nothing finished was recomputed
    assert (killed / "report.html").is_file()


def test_report_numbers_match_evaluations(tiny, tmp_path):
    out = tmp_path / "s"
    result = CliRunner().invoke(main, ["sweep", str(tiny), "--smoke", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    records = load_evaluations(out)
    assert len(records) == 4 and {r["seed"] for r in records} == {7}
    analysis = json.loads((out / "analysis.json").read_text())
    for row in analysis["comparison"]:
        [r] = [r for r in records if r["d"] == row["d"] and r["n_train"] == row["n"]]
        assert row["g_best"] == max(c["g"] for c in r["checkpoints"])
        assert row["copy_last"] == r["checkpoints"][-1]["copy"]
    assert analysis["metric"] == {"all": "coverage_unseen"}
    md = (out / "report.md").read_text()
    assert "4 of 4 evaluations finished" in md
    for name in ("report.html", "figures/heat_all.png", "figures/curves_all_d16.png"):
        assert (out / name).is_file(), name
    for r in records:
        assert (out / "samples" / f"p{r['index']:05d}_best.png").is_file()


def test_smoke_without_a_smoke_table_exits_2_and_leaves_no_folder(tmp_path):
    plain = tmp_path / "plain.toml"
    plain.write_text('[target]\nkind = "dots"\nside = 4\n[sweep.grid]\n"run.n" = [2]\n')
    result = CliRunner().invoke(main, ["sweep", str(plain), "--smoke", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert result.output == f"tsearch: error: {plain}: --smoke: the config has no [sweep.smoke] table\n"
    assert not (tmp_path / "out").exists()


CASES = tiny_toml(seed=0, n=2) + """
[sweep]
metric_by_target = { dots = "coverage_unseen" }
[sweep.grid]
"target.side" = [4, 5]
"run.n" = [2]
"run.seed" = [0]
[[sweep.grid.case]]
name = "dot"
target = { kind = "dots", k = 1 }
[[sweep.grid.case]]
name = "code"
target = { kind = "linear_code", rate = 0.25 }
model = { kind = "mlp", width = 8, depth = 1, predicts = "x0" }
"train.lr" = 5e-3
"""


def test_a_case_bundles_its_overrides_and_axes_compose_with_them(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text(CASES)
    config = load_config(path)
    points = expand_grid(config)
    assert [p.task_id for p in points] == [
        "case=dot run.n=2 run.seed=0 target.side=4", "case=dot run.n=2 run.seed=0 target.side=5",
        "case=code run.n=2 run.seed=0 target.side=4", "case=code run.n=2 run.seed=0 target.side=5"]
    dot, _, code, code5 = (p.config for p in points)
    assert (dot.target.kind, dot.model.width, dot.model.predicts, dot.train.lr) == ("dots", 16, "eps", 2e-3)
    assert (code.target.kind, code.target.rate, code.target.side) == ("linear_code", 0.25, 4)
    assert (code.model.width, code.model.predicts, code.train.lr, code5.target.side) == (8, "x0", 5e-3, 5)
    assert points[2].overrides == {"case": "code", "run.n": 2, "run.seed": 0, "target.side": 4}
    # a resumed sweep rebuilds its points from config.json: the same ids and configs
    again = expand_grid(config_from_dict(json.loads(json.dumps(config_to_dict(config)))))
    assert [(p.task_id, p.config) for p in again] == [(p.task_id, p.config) for p in points]


@pytest.mark.parametrize("edit, culprit", [
    (('name = "code"', ''), "sweep.grid.case[1].name: needs a name"),
    (('name = "code"', 'name = "dot"'), "sweep.grid.case[1].name: 'dot' is given twice"),
    (('"train.lr" = 5e-3', '"train.lrr" = 5e-3'), "sweep.grid.case[1]: train.lrr: unknown key"),
    (('"train.lr" = 5e-3', '"run.seed" = 3'), "sweep.grid.case[1]: run.seed is also a grid axis"),
    (('predicts = "x0"', 'predicts = "x1"'), "model.predicts: must be one of eps, x0"),
])
def test_a_bad_case_is_one_line_exit_2_and_no_folder(tmp_path, edit, culprit):
    path = tmp_path / "cases.toml"
    path.write_text(CASES.replace(*edit))
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and culprit in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_case_sweep_runs_and_is_analysed_per_case(tmp_path):
    path, out = tmp_path / "cases.toml", tmp_path / "s"
    path.write_text(CASES)
    result = CliRunner().invoke(main, ["sweep", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    records = load_evaluations(out)
    assert sorted((r["overrides"]["case"], r["target_kind"], r["d"]) for r in records) == [
        ("code", "linear_code", 16), ("code", "linear_code", 25), ("dot", "dots", 16), ("dot", "dots", 25)]
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["metric"] == {"case=code": "g_rel", "case=dot": "coverage_unseen"}
    assert json.loads((out / "config.json").read_text())["sweep"]["grid"]["case"][1]["model"]["predicts"] == "x0"
