"""``tsearch evolve`` with screening (search.screen_factor = 4) end to end on CPU: the record and
pareto.json say what the surrogate did, the control arm trains as many models per size, a
kill -9 and resume ends identical, bad keys are one line and no folder."""

import json
import subprocess
import sys

import numpy as np
import pytest
from test_evolve import CONFIG, SEARCH_GENERATIONS, evolve, finish, kill_after, outcome

SCREENED = CONFIG.replace("[search]\n", "[search]\nscreen_factor = 4\nscreen_explore = 0.25\n")


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "screened.toml"
    path.write_text(SCREENED)
    run_dir = tmp_path_factory.mktemp("runs") / "screened"
    finish(evolve(path, "--out", run_dir))
    return path, run_dir, outcome(run_dir)


def test_screened_run_records_what_the_surrogate_did(screened):
    _, run_dir, out = screened
    logged = [e for e in out["logbook"] if e["phase"] == "search"]
    assert all("screen" in e for e in logged) and not any("screen" in e for e in out["logbook"]
                                                             if e["phase"] != "search")
    screening = out["pareto"]["screening"]
    assert screening["candidates"] >= 4 * screening["trained"]
    assert screening["trained"] == sum(len(e["screen"]["picks"]) for e in logged)
    by = [g["by"] for g in screening["generations"]]
    assert by[0] == "random" and "surrogate" in by  # too few trained sets at first, then the surrogate
    assert screening["predicted_and_measured"] > 0
    report = (run_dir / "report.md").read_text()
    assert "Screening" in report and "rank correlation" in report


def test_control_trains_as_many_models_per_size(screened):
    """Screened candidates are not trainings: the control's budget is the search's trainings."""
    lines = [json.loads(x) for x in (screened[1] / "evaluations.jsonl").read_text().splitlines()]
    per_arm = {arm: np.bincount([x["size"] for x in lines if x["phase"] == arm], minlength=8)
               for arm in ("search", "control")}
    assert per_arm["search"].sum() > 0
    assert np.array_equal(per_arm["search"], per_arm["control"])


@pytest.mark.slow
def test_sigkill_of_a_screened_search_then_resume_is_exact(screened, tmp_path):
    path, _, expected = screened
    run_dir = tmp_path / "killed"
    kill_after(evolve(path, "--out", run_dir), run_dir, SEARCH_GENERATIONS - 2, 0.3)
    finish(evolve("--resume", run_dir))
    assert outcome(run_dir) == expected


@pytest.mark.parametrize("setting", ["search.screen_factor=0", "search.screen_factor=65",
                                     "search.screen_explore=1.5", "search.screen_factor=1.5"])
def test_bad_screening_is_one_line_and_no_folder(screened, tmp_path, setting):
    out = tmp_path / "never"
    proc = subprocess.run([sys.executable, "-m", "tsearch", "evolve", str(screened[0]), "--set", setting,
                           "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and setting.split("=")[0] in proc.stderr
    assert not out.exists()


def test_the_oracle_feature_reaches_the_surrogate(tmp_path):
    """search.screen_oracle: every surrogate pick carries the local oracle's train-free value
    (the run's fitness metric of its samples), and the surrogate's inputs include it."""
    path = tmp_path / "oracle.toml"
    path.write_text(SCREENED.replace("generations = 5", "generations = 3").replace(
        "[search]\n", "[search]\nscreen_oracle = true\n"))
    finish(evolve(path, "--out", tmp_path / "run"))
    logged = [json.loads(x) for x in (tmp_path / "run" / "logbook.jsonl").read_text().splitlines()]
    screened = [e["screen"] for e in logged if e.get("screen", {}).get("by") == "surrogate"]
    assert screened, "no generation had enough trained sets for the surrogate"
    for record in screened:
        assert "oracle" in record["inputs"]
        assert all(isinstance(p["oracle"], float) for p in record["picks"])
