"""``tsearch evolve`` end to end on CPU: kill -9 and resume is exact, a corrupt checkpoint
falls back to the previous one, bad input is one line and exit code 2.

The evaluations train a tiny CNN (30 steps, about a second per generation) on 6x6 dots: its
fitness varies between training sets, so equal results are not a coincidence of zeros, and a
kill lands in the middle of training as often as between generations.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tiny import keep_lines

from tsearch.cli import main

CONFIG = """
[run]
seed = 3
[target]
kind = "dots"
side = 6
k = [1, 2]
[model]
kind = "cnn"
channels = 8
depth = 2
groups = 4
time_dim = 16
[train]
steps = 30
batch_size = 16
n_checkpoints = 3
first_checkpoint = 10
stop_after_peak = 1
[sampler]
n_steps = 10
n_samples = 32
n_select = 8
[metrics]
n_bootstrap = 0
reference_samples = 64
[executor]
tasks_per_chunk = 2
[search]
generations = 5
population = 4
n_min = 1
n_max = 5
size_grid = [2, 4]
baseline_repeats = 1
keep_checkpoints = 2
reevaluate_seeds = 2
"""
SEARCH_GENERATIONS = 6  # the baseline's one + the search's five; the control's follow
FRESH = 2  # search.reevaluate_seeds


def evolve(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from tsearch.cli import main; main()", "evolve",
                             "--quiet", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out, err


def outcome(run_dir: Path) -> dict:
    """What must not depend on a kill: the final state (the checkpoint's strategies, the
    logbook), minus wall-clock timings."""
    [last] = sorted((run_dir / "checkpoints").glob("ckpt-*.json"))[-1:]
    payload = json.loads(last.read_text().split("\n")[1])["payload"]
    logbook = [{k: v for k, v in json.loads(line).items() if k != "timing"}
               for line in (run_dir / "logbook.jsonl").read_text().splitlines()]
    for state in payload["strategies"].values():
        state.pop("rng")  # compared through the populations it produced
    payload.pop("record", None)  # the record's digest: its lines hold wall-clock timings
    return {"checkpoint": last.name, "payload": payload, "logbook": logbook,
            "pareto": json.loads((run_dir / "pareto.json").read_text())}


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "evolve.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def reference(config_path, tmp_path_factory):
    """An uninterrupted run."""
    run_dir = tmp_path_factory.mktemp("runs") / "reference"
    assert finish(evolve(config_path, "--out", run_dir))[0].strip() == str(run_dir)
    return run_dir, outcome(run_dir)


def kill_after(proc: subprocess.Popen, run_dir: Path, k: int, delay: float) -> None:
    """SIGKILL ``proc`` ``delay`` seconds after the k-th logbook line of ``run_dir``."""
    log = run_dir / "logbook.jsonl"
    while not (log.exists() and len(log.read_text().splitlines()) >= k):
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)
    time.sleep(delay)
    assert proc.poll() is None, "the run ended before the kill: the test would prove nothing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "pareto.json").exists()


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_resume_is_exact(config_path, reference, tmp_path):
    """Killed once in the search, resumed, killed again in the control arm, resumed: the same
    outcome as the uninterrupted run."""
    _, expected = reference
    total = len(expected["logbook"])
    assert total > SEARCH_GENERATIONS + 1  # the control has generations to kill in
    rng = np.random.default_rng(11)  # kill points: after k logged generations, plus a delay
    in_search = int(rng.integers(1, SEARCH_GENERATIONS - 1)), float(rng.uniform(0.0, 0.5))
    in_control = int(rng.integers(SEARCH_GENERATIONS + 1, total - 1)), float(rng.uniform(0.0, 0.5))
    run_dir = tmp_path / "killed"
    kill_after(evolve(config_path, "--out", run_dir), run_dir, *in_search)
    kill_after(evolve("--resume", run_dir), run_dir, *in_control)
    finish(evolve("--resume", run_dir))
    assert outcome(run_dir) == expected
    assert [e["phase"] for e in expected["logbook"]].count("search") == SEARCH_GENERATIONS - 1
    assert expected["logbook"][-1]["phase"] == "control"
    assert max(e["fitness"]["max"] for e in expected["logbook"]) > 0  # real, varying numbers compared
    # with the packaged evolve's scoring: every value is a selected step's fresh samples, and
    # some trainings stopped after their peak (train.stop_after_peak)
    lines = [json.loads(line) for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    assert all("selected" in line for line in lines if line.get("ok"))
    assert any(line.get("stopped_at") is not None for line in lines)


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(reference, tmp_path):
    import shutil

    source, expected = reference
    run_dir = tmp_path / "copy"
    shutil.copytree(source, run_dir)
    latest = sorted((run_dir / "checkpoints").glob("ckpt-*.json"))[-1]
    latest.write_text(latest.read_text()[:-100])  # torn
    (run_dir / "pareto.json").unlink()  # killed before its outputs: a complete run is left as is
    _, err = finish(evolve("--resume", run_dir))
    assert f"checkpoint {latest} is corrupt" in err
    assert outcome(run_dir) == expected


@pytest.mark.slow
@pytest.mark.ray
def test_ray_executor_gives_the_local_numbers(config_path, reference, tmp_path):
    """A local Ray started by tsearch: same tasks, same chunks, so the same search."""
    run_dir = tmp_path / "ray"
    finish(evolve(config_path, "--out", run_dir, "--executor", "ray", "--set", "search.generations=2"))
    _, expected = reference
    assert outcome(run_dir)["logbook"][:3] == expected["logbook"][:3]


def test_outputs_and_report(reference):
    run_dir, expected = reference
    pareto = expected["pareto"]
    assert pareto["front"] and pareto["control_front"] and pareto["baseline"].keys() == {"2", "4"}
    assert [row["size"] for row in pareto["typical"]] == [2, 4]
    for p in pareto["front"] + pareto["control_front"]:
        stem = run_dir / "best" / f"n{p['size']:03d}-{p['hash'][:12]}"
        assert Path(f"{stem}-train.png").is_file() and Path(f"{stem}-samples.png").is_file()
        with np.load(f"{stem}-train.npz") as data:
            assert data["images"].shape == (p["size"], 6, 6)
    for name in ("pareto.png", "progress.png", "report.html", "evaluations.jsonl"):
        assert (run_dir / name).is_file()
    report = (run_dir / "report.md").read_text()
    assert "random baseline" in report and "Search against control, on fresh seeds" in report
    assert pareto["headline"][0] in report and "What the search found" in report
    assert "Training budget: train.steps = 30 for every training set" in report
    # the answer's sets side by side: their samples beside their training images, what they draw
    for n, pair in pareto["extremes"].items():
        for which, point in pair.items():
            assert (run_dir / "sets" / f"n{int(n):03d}-{which}-samples.png").is_file()
            assert set(point["metrics"]) >= {"near_copy", "g_far", "precision", "recall", "coverage"}
    assert "what each set makes the model draw" in report
    flagged = {p["hash"] for p in pareto["near_copy_sets"]}
    for p in pareto["front"] + pareto["control_front"]:
        assert (p["hash"] in flagged) == (p["metrics"]["near_copy"] > 0.5)
        if p["hash"] in flagged:
            assert f"{p['hash'][:8]} draws near copies" in report


def test_control_arm_has_the_search_budget_at_each_size(reference):
    """Counted from the record alone: distinct (generation, set) pairs of each phase, failures
    included; the control's sets are new, and the comparison holds the fresh values."""
    run_dir, expected = reference
    phase_of = {e["step"]: e["phase"] for e in expected["logbook"]}
    lines = [json.loads(line) for name in ("evaluations.jsonl", "errors.jsonl")
             if (run_dir / name).exists() for line in (run_dir / name).read_text().splitlines()]
    runs = {"search": {}, "control": {}}
    for line in lines:
        if phase_of.get(line["step"]) in runs:
            runs[phase_of[line["step"]]][(line["step"], line["hash"])] = line["size"]
            assert line["phase"] == phase_of[line["step"]]
    asked = sum(e["evaluations"] + e["cached"] for e in expected["logbook"] if e["phase"] == "search")
    assert len(runs["control"]) == len(runs["search"]) < asked  # cached asks are not counted
    assert sorted(runs["control"].values()) == sorted(runs["search"].values())
    assert not {h for _, h in runs["control"]} & {h for _, h in runs["search"]}
    pareto = expected["pareto"]
    assert pareto["budget"]["search"] == pareto["budget"]["control"] == len(runs["search"])
    fresh = {p["hash"]: [v for v in p["fresh"]["values"] if v is not None]
             for p in pareto["front"] + pareto["control_front"]}
    assert pareto["comparison"]
    for row in pareto["comparison"]:
        for arm in ("search", "control"):
            if row[arm] is not None:
                assert row[arm]["values"] == fresh[row[arm]["hash"]]
                assert row[arm]["mean"] == pytest.approx(np.mean(fresh[row[arm]["hash"]]))


def fresh_lines(run_dir: Path) -> list[dict]:
    """The re-evaluations in evaluations.jsonl, without what is measured (time, memory)."""
    lines = [json.loads(line) for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    return sorted(({k: v for k, v in r.items() if k not in ("timings", "peak_memory_mb")} for r in lines
                   if r.get("phase") == "reevaluate"), key=lambda r: r["task_id"])


def test_both_fronts_and_baseline_bests_are_reevaluated_with_fresh_seeds(reference):
    run_dir, expected = reference
    pareto = expected["pareto"]
    assert pareto["reevaluate_seeds"] == FRESH
    fronts = pareto["front"] + pareto["control_front"]
    fresh = [p["fresh"] for p in fronts] + [b["best"]["fresh"] for b in pareto["baseline"].values()]
    for f in fresh:
        assert len(f["values"]) == FRESH and None not in f["values"]
        assert f["mean"] == pytest.approx(np.mean(f["values"]))
        assert f["sd"] == pytest.approx(np.std(f["values"], ddof=1))
    genomes = {p["hash"] for p in fronts} | {b["best"]["hash"] for b in pareto["baseline"].values()}
    lines = fresh_lines(run_dir)
    assert len(lines) == FRESH * len(genomes) and {r["hash"] for r in lines} == genomes
    assert {r["step"] for r in lines} == {len(expected["logbook"])}  # after both arms: a resume cuts them
    assert any(f["values"] != [p["value"]] * FRESH for f, p in zip(fresh, fronts))  # fresh seeds
    assert "fresh mean ± sd" in (run_dir / "report.md").read_text()


def test_kill_during_reevaluation_then_resume_is_exact(reference, tmp_path):
    """A finished run cut back to the middle of its re-evaluation (the files a kill there
    leaves: no pareto.json, part of the fresh lines) resumes to the same outputs."""
    import shutil

    source, expected = reference
    run_dir = tmp_path / "copy"
    shutil.copytree(source, run_dir)
    for name in ("pareto.json", "outputs.json"):  # outputs.json comes last: a kill here leaves none
        (run_dir / name).unlink()
    lines = (run_dir / "evaluations.jsonl").read_text().splitlines(keepends=True)
    keep_lines(run_dir, len(lines) - FRESH - 1)
    finish(evolve("--resume", run_dir))
    assert outcome(run_dir) == expected
    assert fresh_lines(run_dir) == fresh_lines(source)  # recomputed once, not appended twice


def test_reevaluate_seeds_zero_disables_it(config_path, tmp_path):
    run_dir = tmp_path / "off"
    finish(evolve(config_path, "--out", run_dir, "--set", "search.generations=1",
                  "--set", "search.reevaluate_seeds=0"))
    pareto = json.loads((run_dir / "pareto.json").read_text())
    assert pareto["front"] and all(p["fresh"] is None for p in pareto["front"])
    assert all(b["best"]["fresh"] is None for b in pareto["baseline"].values())
    assert fresh_lines(run_dir) == []
    assert "No re-evaluation" in (run_dir / "report.md").read_text()


# ----------------------------------------------------------------------------- bad input
def run_cli(*args):
    result = CliRunner().invoke(main, ["evolve", "--quiet", *map(str, args)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tsearch: error: ")
    return lines[0]


def listing(path: Path) -> dict:
    return {str(p): p.stat().st_mtime_ns for p in sorted(path.rglob("*"))}


def test_invalid_config_is_one_line(config_path, tmp_path):
    assert "search.population" in run_cli(config_path, "--set", "search.population=1", "--out", tmp_path / "x")
    assert "fitness_metric" in run_cli(config_path, "--set", "search.fitness_metric=loss", "--out", tmp_path / "x")
    assert "reevaluate_seeds" in run_cli(config_path, "--set", "search.reevaluate_seeds=-1", "--out", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_resume_refuses_foreign_folders_and_changed_configs(reference, tmp_path):
    run_dir, _ = reference
    before = listing(run_dir)
    assert "not a tsearch run" in run_cli("--resume", tmp_path)
    assert "different config" in run_cli("--resume", run_dir, "--set", "sampler.n_samples=8")
    assert "--out and --resume" in run_cli("--resume", run_dir, "--out", tmp_path / "y")
    assert listing(run_dir) == before


def test_unreachable_address_and_occupied_out(config_path, reference, tmp_path):
    assert "cannot reach" in run_cli(config_path, "--address", "127.0.0.1:1", "--out", tmp_path / "z")
    assert not (tmp_path / "z").exists()
    run_dir, _ = reference
    before = listing(run_dir)
    assert "not empty" in run_cli(config_path, "--out", run_dir)
    assert listing(run_dir) == before


def test_a_trained_evaluation_is_the_same_every_time(tmp_path):
    """The premise of exact resumes with trained models: a genome's fitness depends on it
    alone (its seed comes from the run seed and the genome hash)."""
    from tsearch.config import load_config
    from tsearch.executors import build_executor
    from tsearch.runs.evolve import SilentDisplay, evaluate_genomes, fresh_state
    from tsearch.store.folder import RunFolder
    from tsearch.targets import build_target

    config = load_config(None, ["target.kind=polygons", "target.side=8", "target.min_area=4",
                                "model.kind=cnn", "model.channels=4", "model.depth=1", "model.groups=2",
                                "train.steps=4", "train.batch_size=4", "train.n_checkpoints=1",
                                "sampler.n_steps=4", "sampler.n_samples=8", "metrics.n_bootstrap=0",
                                "metrics.reference_samples=16"])
    target = build_target(config.target)
    folder = RunFolder.create("evolve", "same", config, tmp_path)
    entries = []
    for _ in range(2):
        state = fresh_state(config, target)
        genomes = state.strategies["baseline"].ask()[:1]
        with build_executor(config.executor, config.engine) as executor:
            evaluate_genomes(genomes, state, config, folder, executor, SilentDisplay())
        entries.append(state.cache.entries)
    assert entries[0] == entries[1]
    first, second = map(json.loads, (tmp_path / "evaluations.jsonl").read_text().splitlines())
    assert first["checkpoints"] == second["checkpoints"]  # the training loss too, to the bit


# ----------------------------------------------------------------------------- multi-fidelity, stopping
# Dots 4x4 and an MLP that starts copying within 160 steps: g and copy vary between training
# sets from the first rung on, and copy >= 0.15 stops about half of the evaluations early.
MEMORIZING = """
[run]
seed = 3
[target]
kind = "dots"
side = 4
k = [1, 2]
[model]
kind = "mlp"
width = 64
depth = 2
time_dim = 8
[train]
steps = 160
batch_size = 16
lr = 1e-2
n_checkpoints = 4
first_checkpoint = 20
stop_when_copy = 0.15
stop_patience = 1
[sampler]
n_steps = 10
n_samples = 32
[metrics]
n_bootstrap = 0
reference_samples = 64
[executor]
tasks_per_chunk = 1
workers = 2
[search]
generations = 4
population = 4
n_min = 1
n_max = 5
size_grid = [2, 4]
baseline_repeats = 1
keep_checkpoints = 2
reevaluate_seeds = 1
rungs = [0.5]
promote = 0.5
"""


@pytest.fixture(scope="module")
def memorizing_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "memorizing.toml"
    path.write_text(MEMORIZING)
    return path


def test_multi_fidelity_promotes_the_best_offspring_at_the_rung(memorizing_path, tmp_path):
    from tsearch.config import load_config
    from tsearch.runs.evolve import evaluate_generation, fresh_state, value_of
    from tsearch.runs.pipeline import open_executor
    from tsearch.runs.progress import SilentDisplay
    from tsearch.search.fidelity import promoted
    from tsearch.store.folder import RunFolder
    from tsearch.targets import build_target

    config = load_config(memorizing_path, ["executor.workers=1", "train.stop_when_copy=0"])
    folder = RunFolder.create("evolve", "mf", config, tmp_path / "mf")
    state = fresh_state(config, build_target(config.target))
    strategy = state.strategies["search"]
    with open_executor(config) as executor:
        for _ in range(2):  # the initial population (full budget), then offspring (rungs)
            genomes = strategy.ask()
            told, counts = evaluate_generation(genomes, "search", strategy, state, config, folder,
                                               executor, SilentDisplay())
            strategy.tell(told, [value_of(state, g) for g in told])
            state.logbook.append({})  # the driver's logbook line: the next generation's step
    at_rung = [value_of(state, g, 0.5) for g in genomes]
    assert None not in at_rung and len(set(at_rung)) > 1  # real, varying numbers were ranked
    assert told == [genomes[i] for i in promoted(genomes, at_rung, 0.5)] and len(told) == 2
    assert [(r["fraction"], r["genomes"]) for r in counts["rungs"]] == [(0.5, 4), (1.0, 2)]
    # a rung trains half the steps, scored at the full schedule's steps below 80 and at 80, and
    # its numbers there are those of the full evaluation (same seed, same trajectory)
    lines = folder.records("evaluations.jsonl")
    for genome in told:
        rung = next(r for r in lines if r["hash"] == genome.hash and r.get("fidelity") == 0.5)
        full = next(r for r in lines if r["hash"] == genome.hash and "fidelity" not in r)
        assert [s["step"] for s in rung["checkpoints"]] == [20, 40, 80]
        assert [s["step"] for s in full["checkpoints"]] == [20, 40, 80, 160]
        assert json.dumps(rung["checkpoints"]) == json.dumps(full["checkpoints"][:3])


@pytest.fixture(scope="module")
def memorizing_reference(memorizing_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "memorizing"
    finish(evolve(memorizing_path, "--out", run_dir))
    return run_dir, outcome(run_dir)


@pytest.mark.slow
def test_sigkill_of_a_parallel_multi_fidelity_search_that_stops_early_then_resume_is_exact(
        memorizing_path, memorizing_reference, tmp_path):
    run_dir, expected = memorizing_reference
    lines = [json.loads(line) for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    stopped = [r for r in lines if r["stopped_at"] is not None]
    assert stopped and len(stopped) < len(lines)  # some evaluations stopped early, some did not
    assert all(r["skipped_steps"] and r["checkpoints"][-1]["step"] == r["stopped_at"] for r in stopped)
    assert any(r.get("fidelity") == 0.5 for r in lines)  # offspring went through the rung
    assert any("rungs" in e for e in expected["logbook"])

    rng = np.random.default_rng(12)  # the kill point: after k logged generations, plus a delay
    k, delay = int(rng.integers(1, 4)), float(rng.uniform(0.0, 1.0))
    killed = tmp_path / "killed"
    proc = evolve(memorizing_path, "--out", killed)
    log = killed / "logbook.jsonl"
    while not (log.exists() and len(log.read_text().splitlines()) >= k):
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)
    time.sleep(delay)
    assert proc.poll() is None, "the run ended before the kill: the test would prove nothing"
    os.kill(proc.pid, signal.SIGKILL)  # the driver only: its two workers must notice and exit
    proc.wait()
    finish(evolve("--resume", killed))
    assert outcome(killed) == expected


@pytest.mark.slow
def test_one_process_and_parallel_workers_give_the_same_search(memorizing_path, memorizing_reference,
                                                              tmp_path):
    run_dir = tmp_path / "serial"
    finish(evolve(memorizing_path, "--out", run_dir, "--set", "executor.workers=1"))
    _, expected = memorizing_reference  # executor.workers = 2
    assert outcome(run_dir) == expected


def running(pids: list[int]) -> list[int]:
    """Those of ``pids`` that exist and are not zombies."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_the_run_resumes_exactly(memorizing_path, memorizing_reference,
                                                              tmp_path):
    run_dir = tmp_path / "interrupted"
    proc = evolve(memorizing_path, "--out", run_dir)
    log = run_dir / "logbook.jsonl"
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)
    workers = children_of(proc.pid)  # its 2 workers, and multiprocessing's resource tracker
    assert len(workers) >= 2
    proc.send_signal(signal.SIGINT)  # Ctrl-C, sent to the driver alone
    proc.communicate(timeout=60)
    assert proc.returncode != 0 and not (run_dir / "pareto.json").exists()
    # the resource tracker exits when the driver's pipe closes, so just after the driver: a
    # process still exiting (state R, no cmdline) is given a few seconds
    deadline = time.monotonic() + 10
    while running(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(workers)
    finish(evolve("--resume", run_dir))
    assert outcome(run_dir) == memorizing_reference[1]


def test_report_shows_evaluations_per_rung(memorizing_reference):
    run_dir, expected = memorizing_reference
    per_rung = {}
    for entry in expected["logbook"]:
        for rung in entry.get("rungs", ()):
            per_rung[rung["fraction"]] = per_rung.get(rung["fraction"], 0) + rung["evaluations"]
    assert set(per_rung) == {0.5, 1.0} and per_rung[0.5] > 0
    report = (run_dir / "report.md").read_text()
    assert (f"evaluations per rung: 0.5 of train.steps: {per_rung[0.5]}, "
            f"1 of train.steps: {per_rung[1.0]}") in report


@pytest.mark.slow
def test_an_images_search_resumes_exactly_and_finds_sets_off_the_support(tmp_path):
    """``search.genome = images`` through the real CLI: killed in its search and resumed, the
    outcome of the uninterrupted run. (That its found sets leave the support is shown with a
    fitness that rewards it, in test_images_genome.py: the real one here need not.)"""
    config_path = tmp_path / "images.toml"
    config_path.write_text(CONFIG.replace("[search]\n", "[search]\ngenome = \"images\"\nflip_rate = 0.1\n"))
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    finish(evolve(config_path, "--out", reference_dir))
    kill_after(evolve(config_path, "--out", killed_dir), killed_dir, 3, 0.1)
    finish(evolve("--resume", killed_dir))
    expected = outcome(reference_dir)
    assert outcome(killed_dir) == expected
    pareto = expected["pareto"]
    assert pareto["genome"] == "images"
    assert all(0 <= p["features"]["valid"] <= 1 for p in pareto["front"])
    assert "valid" in pareto["found"]["search"]


SHRUNK = ["--set", "model.kind=mlp", "--set", "model.width=32", "--set", "model.depth=1",
          "--set", "train.epochs=0", "--set", "train.steps=40", "--set", "sampler.n_samples=16",
          "--set", "sampler.n_select=8", "--set", "sampler.n_steps=10", "--set", "search.generations=2",
          "--set", "search.population=4", "--set", "search.size_grid=[1,2]", "--set", "search.n_max=2",
          "--set", "search.baseline_repeats=2", "--set", "search.reevaluate_seeds=2"]


@pytest.mark.slow
def test_the_packaged_evolve_on_its_fitness_resumes_exactly(tmp_path):
    """The packaged evolve (polygons, the fitness ``learned``), shrunk to seconds: killed in its
    search and resumed, the outcome of the uninterrupted run, with varying fitness values."""
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    finish(evolve("evolve", "--out", reference_dir, *SHRUNK))
    kill_after(evolve("evolve", "--out", killed_dir, *SHRUNK), killed_dir, 2, 0.1)
    finish(evolve("--resume", killed_dir))
    expected = outcome(reference_dir)
    assert outcome(killed_dir) == expected
    assert expected["pareto"]["metric"] == "learned"
    values = [v for e in expected["logbook"] if e["fitness"] for v in (e["fitness"]["max"], e["fitness"]["min"])]
    assert max(values) > min(values)  # real, varying numbers compared
