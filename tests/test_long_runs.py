"""Long searches on a shared machine: extended, copied, cut, watched, scheduled.

One tiny search with a control arm and two-stage scoring (``A``: 2 generations; its fitness,
``valid``, is where the selected step's fresh value and the maximum over scored steps differ
in a model this small), and the same
search extended to 4 generations without interruption (the reference every interrupted
extension must end as). Each test copies ``A`` and does to it what a long-search user's files
go through: a kill in the middle of an extension, a record cut after the last checkpoint with
record.json lost, a gap in the middle of the record; then checks the one-line refusal and
that the resumed run ends as the uninterrupted one (pareto.json, logbook, final config).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import invoke

TINY = """
[run]
seed = 4
[target]
kind = "dots"
side = 4
[model]
kind = "mlp"
width = 32
depth = 1
time_dim = 8
[train]
steps = 160
batch_size = 8
n_checkpoints = 5
first_checkpoint = 10
[sampler]
n_steps = 10
n_samples = 64
n_select = 16
[metrics]
n_bootstrap = 0
reference_samples = 256
[search]
generations = 2
population = 4
n_min = 1
n_max = 3
size_grid = [1, 2]
baseline_repeats = 1
reevaluate_seeds = 2
keep_checkpoints = 20
fitness_metric = "valid"
"""
CLI = [sys.executable, "-c", "from tsearch.cli import main; main()"]


def evolve(*args):
    return invoke("evolve", "--quiet", *args)


def outcome(run_dir: Path) -> dict:
    """What an interruption must not change: the logbook without wall-clock timings, pareto.json,
    the final config."""
    logbook = [{k: v for k, v in json.loads(line).items() if k != "timing"}
               for line in (run_dir / "logbook.jsonl").read_text().splitlines()]
    return {"logbook": logbook, "pareto": json.loads((run_dir / "pareto.json").read_text()),
            "config": json.loads((run_dir / "config.json").read_text())}


def untimed(line: str) -> dict:
    """A record line without what depends on the machine and the batching, not the numbers."""
    return {k: v for k, v in json.loads(line).items() if k not in ("timings", "peak_memory_mb", "chunk_size")}


def lines(run_dir: Path) -> list[str]:
    return (run_dir / "evaluations.jsonl").read_text().splitlines(keepends=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``A`` (2 generations, finished) and ``extended`` (a copy of A extended to 4)."""
    root = tmp_path_factory.mktemp("long")
    (root / "tiny.toml").write_text(TINY)
    result = evolve(root / "tiny.toml", "--out", root / "A")
    assert result.exit_code == 0, result.output
    shutil.copytree(root / "A", root / "extended")
    result = evolve("--resume", root / "extended", "--set", "search.generations=4")
    assert result.exit_code == 0, result.output
    return root


def copy_of(runs: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(runs / "A", target)
    return target


# ----------------------------------------------------------------------------- 1. extensions
def test_a_killed_extension_resumes_to_the_uninterrupted_extension(runs, tmp_path):
    """Why 1: killed mid-extension (a real SIGKILL), then ``--resume DIR`` without --set: on
    a422f33 it said "complete; nothing to add" and kept the 2-generation outputs."""
    run_dir = copy_of(runs, "killed", tmp_path)
    logged = len((run_dir / "logbook.jsonl").read_text().splitlines())
    proc = subprocess.Popen([*CLI, "evolve", "--quiet", "--resume", str(run_dir), "--set",
                             "search.generations=4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = run_dir / "logbook.jsonl"
    while len(log.read_text().splitlines()) <= logged:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.02)
    assert proc.poll() is None, "the extension ended before the kill: the test would prove nothing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((run_dir / "config.json").read_text())["search"]["generations"] == 4
    status = json.loads(invoke("status", run_dir, "--json").output)
    assert not status["finished"] and status["phase"] != "finished"
    result = evolve("--resume", run_dir)
    assert result.exit_code == 0, result.output
    assert "nothing to add" not in result.output
    counts = [line.split("generation ")[1].split(" ")[0] for line in result.output.splitlines()
              if line.startswith("evolve: generation ")]
    assert counts and all(int(n) <= int(of) for n, of in (c.split("/") for c in counts)), counts  # Why: 9/7
    assert outcome(run_dir) == outcome(runs / "extended")
    again = evolve("--resume", run_dir)
    assert again.exit_code == 0 and "nothing to add" in again.output


def test_an_extended_search_extends_its_control_to_the_same_trainings(runs):
    """Why 3 (first half): the extension trains the control arm again as many models at each
    size as the search added; on a422f33 the control kept its 2-generation budget."""
    pareto = json.loads((runs / "extended" / "pareto.json").read_text())
    before = json.loads((runs / "A" / "pareto.json").read_text())
    assert pareto["budget"]["search"] > before["budget"]["search"]
    assert pareto["budget"]["control"] == pareto["budget"]["search"]
    assert not any("BUDGETS DIFFER" in line for line in pareto["headline"])
    phases = [e["phase"] for e in outcome(runs / "extended")["logbook"]]
    assert phases[-1] == "control" and phases.count("search") == 4


# ----------------------------------------------------------------------------- 2. record claims
def test_a_record_cut_after_the_last_checkpoint_is_found_without_record_json(runs, tmp_path):
    """Why 2: the re-evaluations come after the last checkpoint; cut them and lose record.json
    (a copy, a backup): on a422f33 export gave fewer rows and --resume said complete."""
    run_dir = copy_of(runs, "cut", tmp_path)
    kept = lines(run_dir)[:-3]
    (run_dir / "evaluations.jsonl").write_text("".join(kept))
    (run_dir / "record.json").unlink()
    for args in (("export", run_dir), ("status", run_dir), ("report", run_dir), ("evolve", "--resume", run_dir)):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "holds 21 of the 24 evaluations its outputs (outputs.json) was built from (3 lost" in result.output
        assert len(result.output.strip().splitlines()) == 1
    result = evolve("--resume", run_dir, "--repair")
    assert result.exit_code == 0, result.output
    assert lines(run_dir)[:21] == kept and len(lines(run_dir)) == 24  # the 3 missing, nothing else
    assert outcome(run_dir) == outcome(runs / "A")


def test_a_gap_in_the_middle_is_named_and_only_what_is_missing_is_computed(runs, tmp_path):
    """Why 7: two lines lost in the first search generation; on a422f33 this was "a cut after
    line 22" and --repair cut the record back to the baseline's 2 lines and recomputed 22."""
    run_dir = copy_of(runs, "gap", tmp_path)
    before = lines(run_dir)
    kept = before[:3] + before[5:]
    (run_dir / "evaluations.jsonl").write_text("".join(kept))
    result = invoke("export", run_dir)
    assert result.exit_code == 2
    assert "2 lost: cut after line 22, or a gap after line 2" in result.output, result.output
    result = evolve("--resume", run_dir, "--repair")
    assert result.exit_code == 0, result.output
    assert "keeping the 22 evaluations it holds" in result.output
    after = lines(run_dir)
    assert after[:22] == kept
    assert sorted(map(untimed, after[22:]), key=str) == sorted(map(untimed, before[3:5]), key=str)
    assert outcome(run_dir) == outcome(runs / "A")


# ----------------------------------------------------------------------------- 3. one reader
def test_status_export_report_and_pareto_read_one_fitness(runs):
    """Why 4: on a422f33 status's "best fresh" was the maximum over scored steps where
    pareto.json, the report and the answer read the two-stage selected value."""
    run_dir = runs / "A"
    fresh_lines = [r for r in map(json.loads, lines(run_dir)) if r["phase"] == "reevaluate"]
    # the test can fail: the selected value differs from the maximum over scored steps
    assert any(r["selected"]["valid"] != max(c["valid"] for c in r["checkpoints"]) for r in fresh_lines)
    selected: dict[str, list] = {}
    for r in fresh_lines:
        selected.setdefault(r["hash"], []).append(r["selected"]["valid"])
    means = {h: sum(v) / len(v) for h, v in selected.items()}
    status = json.loads(invoke("status", run_dir, "--json").output)
    assert status["fresh_best"]["value"] == pytest.approx(max(means.values()), abs=1e-12)
    pareto = json.loads((run_dir / "pareto.json").read_text())
    members = pareto["front"] + pareto["control_front"]
    assert members
    for point in members:
        assert point["fresh"]["mean"] == pytest.approx(means[point["hash"]], abs=1e-12)
    assert invoke("export", run_dir, "--format", "jsonl").exit_code == 0
    table = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    exported = {row["task_id"]: (row["train_set_hash"], row["fitness"]) for row in table
                if row["phase"] == "reevaluate"}
    assert sorted(exported.values()) == sorted((r["hash"], r["selected"]["valid"]) for r in fresh_lines)
    from tsearch.report.sections import fmt
    report = (run_dir / "report.md").read_text()
    for point in members:
        assert f"{fmt(point['fresh']['mean'])} ± " in report


# ----------------------------------------------------------------------------- 6. schedulers
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143),
                                       pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow)])
def test_a_stop_signal_is_one_line_releases_the_lock_and_the_run_resumes(runs, tmp_path, sig, code):
    """Why (long-search user): a batch scheduler's time limit or scancel (SIGTERM), a closed
    terminal (SIGHUP); on a422f33 the run ended with no line and left its lock file. Before the
    SIGTERM, a report of the running search renders (a422f33: refused, "in use")."""
    run_dir = tmp_path / "stopped"
    proc = subprocess.Popen([*CLI, "evolve", "--quiet", str(runs / "tiny.toml"), "--out", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = run_dir / "logbook.jsonl"
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.02)
    if sig == signal.SIGTERM:  # item 5: a report of the running search, without its lock
        live = invoke("report", run_dir, "--out", tmp_path / "live")
        assert live.exit_code == 0, live.output
        assert "IN PROGRESS, search generation" in (tmp_path / "live" / "report.md").read_text()
        rescored = invoke("score", run_dir)  # reads only: no lock (a422f33: "in use")
        assert rescored.exit_code == 0 and rescored.output.strip(), rescored.output
        assert proc.poll() is None and not (run_dir / "report.md").exists()  # the writer goes on
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    errors = [line for line in err.splitlines() if line.startswith("tsearch: error:")]
    assert errors == [f"tsearch: error: stopped by {sig.name}; continue with: tsearch evolve --resume {run_dir}"]
    assert "Traceback" not in err
    assert not (run_dir / "tsearch.lock").exists()
    if sig == signal.SIGTERM:
        result = evolve("--resume", run_dir)
        assert result.exit_code == 0, result.output
        assert outcome(run_dir) == outcome(runs / "A")


# ----------------------------------------------------------------------------- 9. a real full disk
def mount_tmpfs(path: Path, kib: int, *, remount: bool = False) -> str | None:
    """Mount (or resize) a tmpfs of ``kib`` KiB at ``path``; the reason it cannot, or None."""
    path.mkdir(exist_ok=True)
    options = f"{'remount,' if remount else ''}size={kib}k"
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"mount: {error}"
    return None if done.returncode == 0 else f"mount -t tmpfs: {done.stderr.strip() or done.returncode}"


@pytest.mark.slow
def test_a_real_full_disk_is_one_line_and_the_resume_ends_identical(runs, tmp_path):
    """A search whose disk fills (a real ENOSPC from a tmpfs half the finished folder's size, not
    a file-size limit) says one line naming the resume and loses nothing; once the disk has room
    again, the resume ends as the uninterrupted run. Skipped where this machine cannot mount a
    tmpfs (not root, no CAP_SYS_ADMIN)."""
    used_kib = int(subprocess.run(["du", "-sk", str(runs / "A")], capture_output=True, text=True,
                                  check=True).stdout.split()[0])
    disk = tmp_path / "disk"
    reason = mount_tmpfs(disk, used_kib // 2)
    if reason:
        pytest.skip(f"cannot mount a small tmpfs here ({reason})")
    try:
        run_dir = disk / "full"
        done = subprocess.run([*CLI, "evolve", "--quiet", str(runs / "tiny.toml"), "--out", str(run_dir)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("tsearch: error:")]
        assert len(errors) == 1 and "no space left on the disk" in errors[0], done.stderr
        assert errors[0].endswith(f"continue with: tsearch evolve --resume {run_dir}"), errors[0]
        assert not (run_dir / "tsearch.lock").exists()
        assert not (run_dir / "outputs.json").exists()  # it stopped mid-run, not at the end

        assert mount_tmpfs(disk, used_kib * 4, remount=True) is None  # room again, files kept
        result = evolve("--resume", run_dir)
        assert result.exit_code == 0, result.output
        assert outcome(run_dir) == outcome(runs / "A")
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# ----------------------------------------------------------------------------- 7. bad files, bad configs
def forge_samples(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif how == "text arrays":
        import numpy as np
        with path.open("wb") as fh:
            np.savez(fh, shape=np.array(["a", "b"]), steps=np.array([1]), seed=np.array(1),
                     bits=np.zeros((1, 1, 2), np.uint8), train_bits=np.zeros((1, 2), np.uint8))
    else:  # a header declaring 2^28 values in a small file
        import zipfile
        header = (b"\x93NUMPY\x01\x00"
                  + b"{'descr': '|u1', 'fortran_order': False, 'shape': (268435456,), }".ljust(118) + b"\n")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bits.npy", header + b"\0" * 1000)


@pytest.mark.parametrize("how", ["truncated", "text arrays", "declared too large"])
def test_a_bad_samples_file_in_a_run_folder_is_one_line_naming_it(runs, tmp_path, how):
    """Why (tracebacks): `score DIR` of a folder holding a truncated, non-numeric or forged
    .npz; on a422f33 a traceback (or the forged size's work)."""
    run_dir = copy_of(runs, "bad-npz", tmp_path)
    victim = sorted((run_dir / "samples").glob("*_steps.npz"))[0]
    forge_samples(victim, how)
    result = invoke("score", run_dir)
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("tsearch: error:")]
    assert str(victim) in line and "Traceback" not in result.output


def test_a_bad_best_samples_file_leaves_its_grid_out_and_the_resume_finishes(runs, tmp_path):
    """Why (tracebacks): write_best at the end of a resume read a truncated samples/<hash>.npz
    with a traceback, and the report was never written."""
    run_dir = copy_of(runs, "bad-best", tmp_path)
    for name in ("outputs.json", "report.html"):  # as a run killed before its report was written
        (run_dir / name).unlink()
    pareto = json.loads((run_dir / "pareto.json").read_text())
    victim = run_dir / "samples" / f"{pareto['front'][0]['hash'][:16]}.npz"
    victim.write_bytes(victim.read_bytes()[:200])
    result = evolve("--resume", run_dir)
    assert result.exit_code == 0, result.output
    assert f"{victim}: not an .npz archive" in result.output and (run_dir / "outputs.json").is_file()


@pytest.mark.parametrize("content, said", [
    (b"\x00\xffgarbage", "replaced a lock file tsearch did not write"),
    (json.dumps({"pid": 2 ** 40, "host": os.uname().nodename, "command": "x", "started": "?"}).encode(),
     "took over the lock left by pid 1099511627776"),
])
def test_a_garbage_or_forged_lock_file_is_said_as_such(runs, tmp_path, content, said):
    """Why (tracebacks, messages): a garbage lock file was "held on another host"; a pid >= 2^31
    a traceback (OverflowError)."""
    run_dir = copy_of(runs, "lock", tmp_path)
    (run_dir / "tsearch.lock").write_bytes(content)
    assert json.loads(invoke("status", run_dir, "--json").output)["lock"] is None  # no process holds it
    result = evolve("--resume", run_dir)
    assert result.exit_code == 0 and said in result.output, result.output
    assert "nothing to add" in result.output


def test_status_asks_the_kernel_who_holds_the_lock(runs, tmp_path):
    """Why 5: a lock file naming a live process that does not hold the lock (the dead
    holder's pid reused) made status say the run was going."""
    run_dir = copy_of(runs, "reused-pid", tmp_path)
    record = {"pid": os.getppid(), "host": os.uname().nodename, "command": "tsearch evolve", "started": "?"}
    (run_dir / "tsearch.lock").write_text(json.dumps(record))
    assert json.loads(invoke("status", run_dir, "--json").output)["lock"] is None


@pytest.mark.parametrize("override, said", [
    ("search.size_grid=[1, 1, 2]", "search.size_grid: lists 1 more than once"),
    (f"search.size_grid=[{', '.join(map(str, range(1, 60_001)))}]", "search.size_grid: needs 1 to 256 sizes"),
    ("search.operator_weights={perturb = 0, replace = 0, insert = 0, delete = 0}",
     "no mutation operator of a polygons genome"),
    ("run.name=" + "x" * 300, "run.name: must be text of at most 200 bytes"),
    ("target.k=" + "[" * 1000 + "]" * 1000, "nested more than 16 levels deep"),
])
def test_silent_misconfigurations_are_refused_at_load(runs, tmp_path, override, said):
    """Why 6 and the tracebacks of too-long names and deep TOML: each is one line, exit 2,
    before any folder exists."""
    result = evolve(runs / "tiny.toml", "--set", override, "--out", tmp_path / "never")
    assert result.exit_code == 2 and said in result.output, result.output
    key = override.split("=")[0]  # a value refused at load names its --set, not the config file;
    # a combination refused by check_config (operator weights) names the key
    assert result.output.startswith((f"tsearch: error: --set {key}", f"tsearch: error: {key}: ")), result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "never").exists()


def test_a_too_long_out_and_deep_toml_file_are_one_line(runs, tmp_path):
    result = evolve(runs / "tiny.toml", "--out", tmp_path / ("y" * 300))
    assert result.exit_code == 2 and "file systems allow 255 per name" in result.output, result.output
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "{b = " * 1000 + "1" + "}" * 1000 + "\n")
    result = evolve(deep, "--dry-run")
    assert result.exit_code == 2 and "nested more than 16 levels deep" in result.output, result.output


# ----------------------------------------------------------------------------- 4. studies
@pytest.mark.slow
def test_a_study_refuses_runs_that_do_not_compare_unless_allowed(runs, tmp_path):
    """Why 3 (second half): a study pooled runs of different arithmetic (engine.bf16) and runs
    whose arms had unequal budgets, silently; on a422f33 both pooled without a word."""
    other = tmp_path / "bf16-off"
    result = evolve(runs / "tiny.toml", "--set", "run.seed=5", "--set", "engine.bf16=off", "--out", other)
    assert result.exit_code == 0, result.output
    refused = invoke("study", runs / "A", other, "--out", tmp_path / "never")
    assert refused.exit_code == 2 and "not comparable" in refused.output and "engine.bf16: off" in refused.output
    assert str(other) in refused.output and not (tmp_path / "never").exists()
    pooled = invoke("study", runs / "A", other, "--out", tmp_path / "pooled", "--allow-mixed")
    assert pooled.exit_code == 0, pooled.output
    study = json.loads((tmp_path / "pooled" / "study.json").read_text())
    assert any("engine.bf16" in m for m in study["mixed"])
    assert "NOT COMPARABLE, pooled with --allow-mixed" in (tmp_path / "pooled" / "report.md").read_text()
    # an older folder extended without topping up its control: its pareto.json says so
    unequal = copy_of(runs, "unequal", tmp_path)
    pareto = json.loads((unequal / "pareto.json").read_text())
    pareto["budget"]["control"] = pareto["budget"]["search"] - 3
    (unequal / "pareto.json").write_text(json.dumps(pareto))
    refused = invoke("study", unequal, other, "--out", tmp_path / "never")
    assert refused.exit_code == 2 and f"{unequal}: budget: the search trained" in refused.output, refused.output


FORGERIES = {"checkpoints an int": ("checkpoints", 5), "selected a list": ("selected", [1]),
             "size text": ("size", "x"), "hash a number": ("hash", 7), "step text": ("step", "a"),
             "phase a number": ("phase", 3), "scored steps of text": ("checkpoints", [{"step": "a", "valid": "x"}])}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_record_field_is_read_or_refused_in_one_line_never_a_traceback(runs, tmp_path, forgery):
    """Why (tracebacks): records forged with wrong field types, in a folder without claims (no
    record.json, outputs.json or checkpoint: nothing to tell the edit by); on a422f33 export
    and status ended in tracebacks."""
    run_dir = copy_of(runs, "forged", tmp_path)
    for name in ("record.json", "outputs.json"):
        (run_dir / name).unlink(missing_ok=True)  # (a422f33 wrote no outputs.json)
    shutil.rmtree(run_dir / "checkpoints")
    record = lines(run_dir)
    line = json.loads(record[5])
    key, value = FORGERIES[forgery]
    line[key] = value
    record[5] = json.dumps(line) + "\n"
    (run_dir / "evaluations.jsonl").write_text("".join(record))
    for command in ("export", "status"):
        result = invoke(command, run_dir)
        assert isinstance(result.exception, SystemExit) or result.exception is None, (command, result.exception)
        assert result.exit_code in (0, 2) and "Traceback" not in result.output, (command, result.output)
        if result.exit_code == 2:
            assert len(result.output.strip().splitlines()) == 1 and "evaluations.jsonl" in result.output
