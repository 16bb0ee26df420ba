"""``tsearch study CONFIG --replicates R``: R searches into one study folder, pooled; killed
mid-way and resumed it ends with the uninterrupted study's pool, which is also what pooling its
run folders by hand gives; ``tsearch status`` reads it; bad input is one line and no folder."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_evolve import CONFIG

SMALL = CONFIG.replace("generations = 5", "generations = 2").replace("population = 4", "population = 3")


def study(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tsearch", "study", "--quiet", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def done(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return out


def pooled(path: Path) -> dict:
    """study.json without the folder paths (two studies live in two places)."""
    result = json.loads((path / "study.json").read_text())
    result.pop("runs_dirs")
    return result


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def reference(config_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("studies") / "reference"
    assert done(study(config_path, "--replicates", 2, "--out", path)).strip() == str(path)
    return path


def test_study_runs_and_pools_its_replicates(reference, tmp_path):
    runs = sorted((reference / "replicates").iterdir())
    assert [r.name for r in runs] == ["seed-0003", "seed-0004"]  # the config's run.seed = 3, then 4
    assert json.loads((reference / "run.json").read_text())["replicates"] == 2
    result = pooled(reference)
    assert result["runs"] == 2 and result["seeds"] == [3, 4]
    assert (reference / "report.html").is_file() and (reference / "study.png").is_file()
    budgets = [json.loads((r / "pareto.json").read_text())["budget"] for r in runs]
    assert result["budget"]["trainings"] == {arm: [b[arm] for b in budgets] for arm in ("search", "control")}
    assert result["budget"]["screened"] == [0, 0]
    by_hand = tmp_path / "by-hand"
    done(study(*runs, "--out", by_hand))
    assert pooled(by_hand) == result


@pytest.mark.slow
def test_killed_study_resumes_to_the_same_pool(config_path, reference, tmp_path):
    path = tmp_path / "killed"
    proc = study(config_path, "--replicates", 2, "--out", path)
    second = path / "replicates" / "seed-0004" / "logbook.jsonl"
    deadline = time.monotonic() + 300
    while not (second.is_file() and second.read_text().count("\n") >= 1):
        assert proc.poll() is None, proc.communicate()  # killed in the second replicate
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    status = subprocess.run([sys.executable, "-m", "tsearch", "status", str(path), "--json"],
                            capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    s = json.loads(status.stdout)
    assert s["kind"] == "study" and s["replicates"]["finished"] == [3] and s["replicates"]["idle"] == [4]
    assert not s["finished"]
    done(study("--resume", path))
    assert pooled(path) == pooled(reference)
    text = subprocess.run([sys.executable, "-m", "tsearch", "status", str(path)], capture_output=True, text=True)
    assert "finished 2 (seeds 3, 4)" in text.stdout and "phase:        finished" in text.stdout


@pytest.mark.parametrize("args, words", [
    (["--replicates", "1"], "--replicates"),
    (["--replicates", "2", "--set", "search.screen_explore=2"], "search.screen_explore"),
])
def test_bad_study_input_is_one_line_and_no_folder(config_path, tmp_path, args, words):
    out = tmp_path / "never"
    proc = subprocess.run([sys.executable, "-m", "tsearch", "study", str(config_path), *args, "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert words in proc.stderr and not out.exists()


def test_resume_with_another_config_is_refused(config_path, reference, tmp_path):
    before = sorted(p.name for p in reference.rglob("*"))
    proc = subprocess.run([sys.executable, "-m", "tsearch", "study", str(config_path), "--resume", str(reference),
                           "--set", "search.population=4"], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "search.population" in proc.stderr
    assert sorted(p.name for p in reference.rglob("*")) == before


def test_a_study_is_extended_by_more_replicates_not_shortened(config_path, reference, tmp_path):
    import shutil
    path = tmp_path / "extended"
    shutil.copytree(reference, path)
    proc = subprocess.run([sys.executable, "-m", "tsearch", "study", "--resume", str(path), "--replicates", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "shortened" in proc.stderr
    done(study("--resume", path, "--replicates", 3))
    result = pooled(path)
    assert result["runs"] == 3 and result["seeds"] == [3, 4, 5]
    assert json.loads((path / "run.json").read_text())["extended"][0]["change"] == "2 -> 3"
    assert result["rows"] != pooled(reference)["rows"]


@pytest.mark.parametrize("sd", [0.05, 0.13, 0.26])
def test_replicates_for_an_interval_is_the_smallest_that_reaches_it(sd):
    from scipy import stats

    from tsearch.analysis.study import paired_test, replicates_for

    r = replicates_for(sd, 0.10)
    def half(k):
        return stats.t.ppf(0.975, k - 1) * sd / k ** 0.5
    assert half(r) <= 0.10 < half(r - 1)
    test = paired_test([0.1, -0.2, 0.05, 0.3])
    assert test["half_width"] == pytest.approx((test["difference_ci"][1] - test["difference_ci"][0]) / 2)
    assert test["replicates_for"]["0.1"] == replicates_for(test["sd"], 0.10)
