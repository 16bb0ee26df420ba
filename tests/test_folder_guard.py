"""One writer per run folder, a record that cannot be cut silently, and ``tsearch status``.

Through the real CLI, against uninterrupted tiny runs (the configs of test_robust): two resumes
started together (one proceeds, one is refused naming the holder; the record ends line for line
as the uninterrupted run's), a lock left by a killed process taken over, a record cut in its
middle (finished and killed runs, evolve and sweep) refused with the count of missing
evaluations and restored line for line by ``--repair``, and ``status`` on running, killed and
finished folders of each kind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsearch.errors import UserError
from tsearch.store import lock

sys.path.insert(0, str(Path(__file__).parent))
from test_robust import (  # noqa: E402, F401
    EVOLVE_CONFIG,
    ROOT,
    SWEEP_CONFIG,
    VOLATILE,
    evolve_reference,
    one_line,  # (the references: fixtures on this module's work)
    sweep_reference,
    to_toml,
    tsearch,
)
from tiny import tiny_toml  # noqa: E402


def popen(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from tsearch.cli import main; main()", *map(str, args)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines_of(folder: Path, *, in_order: bool = True) -> list[dict]:
    """evaluations.jsonl without wall-clock fields: the record line for line (``in_order``
    False: sorted by task, for records whose workers wrote in completion order)."""
    lines = [{k: v for k, v in json.loads(line).items() if k not in VOLATILE}
             for line in (folder / "evaluations.jsonl").read_text().splitlines()]
    return lines if in_order else sorted(lines, key=lambda line: json.dumps(line, sort_keys=True))


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def kill_at(args, path_of, timeout: float = 120) -> None:
    """Run ``tsearch ARGS`` and SIGKILL it as soon as ``path_of()`` exists."""
    process = popen(*args)
    wait_for(path_of, process, timeout)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)


def cut(folder: Path, keep: int) -> None:
    """Cut evaluations.jsonl in the middle of line ``keep + 1`` (a full disk, a copy stopped)."""
    raw = (folder / "evaluations.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "evaluations.jsonl").write_bytes(b"".join(raw[:keep]) + raw[keep][:len(raw[keep]) // 2])


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    path = tmp_path_factory.mktemp("guard")
    (path / "sweep.toml").write_text(to_toml(SWEEP_CONFIG))
    (path / "evolve.toml").write_text(to_toml(EVOLVE_CONFIG))
    (path / "run.toml").write_text(tiny_toml())
    return path


# ----------------------------------------------------------------------------- the lock
def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tsearch.store import lock; "
                               f"lock.FolderLock({str(tmp_path)!r}).take(['tsearch', 'evolve', '--resume', 'X']); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError) as refused:
            lock.FolderLock(tmp_path).take()
        assert str(refused.value).startswith(
            f"{tmp_path} is in use by pid {holder.pid} on {socket.gethostname()} since ")
        assert str(refused.value).endswith("(tsearch evolve --resume X)")
        assert lock.holder(tmp_path)["pid"] == holder.pid  # readers see who, without taking it
    finally:
        holder.kill()
        holder.wait()
    assert lock.holder(tmp_path) is None  # the kernel let it go with the process


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_one_line(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / lock.LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                                       "command": "tsearch sweep x",
                                                       "started": "2026-12-05T12:01:00+00:00"}))
    held = lock.FolderLock(tmp_path)
    held.take()
    try:
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"took over the lock left by pid {dead.pid}" in err[0]
        assert "that process is gone" in err[0]
        assert json.loads((tmp_path / lock.LOCK_FILE).read_text())["pid"] == os.getpid()
    finally:
        held.release()
    assert not (tmp_path / lock.LOCK_FILE).exists()


def test_a_lock_named_on_another_host_is_not_taken_silently(tmp_path):
    (tmp_path / lock.LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "elsewhere", "command": "tsearch evolve",
                                                       "started": "2026-12-05T12:01:00+00:00"}))
    with pytest.raises(UserError, match="cannot be checked from"):
        lock.FolderLock(tmp_path).take()


@pytest.mark.slow
def test_two_resumes_at_once_one_proceeds_and_the_record_is_the_uninterrupted_one(
        evolve_reference, work, tmp_path):
    """Before: both exited 0 and evaluations.jsonl held 58 lines where the run has 31."""
    run = tmp_path / "R"
    kill_at(["evolve", work / "evolve.toml", "--out", run, "--quiet"], run / "checkpoints" / "ckpt-000001.json")
    first, second = popen("evolve", "--resume", run, "--quiet"), popen("evolve", "--resume", run, "--quiet")
    results = [p.communicate(timeout=300) + (p.returncode, p.pid) for p in (first, second)]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    winner = next(r for r in results if r[2] == 0)
    loser = next(r for r in results if r[2] == 2)
    assert one_line(loser[1]) .startswith(f"tsearch: error: {run} is in use by pid {winner[3]} on "
                                          f"{socket.gethostname()} since ")
    assert one_line(loser[1]).endswith(f"(tsearch evolve --resume {run} --quiet)")
    assert "took over the lock left by pid" in winner[1]  # the killed first try's
    assert lines_of(run) == lines_of(evolve_reference)
    assert (run / "pareto.json").read_text() == (evolve_reference / "pareto.json").read_text()
    assert not (run / lock.LOCK_FILE).exists()


# ----------------------------------------------------------------------------- cut records
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["evolve", "sweep"])
@pytest.mark.parametrize("when", ["finished", "killed"])
def test_a_record_cut_in_its_middle_is_refused_then_repaired_line_for_line(
        kind, when, evolve_reference, sweep_reference, work, tmp_path):
    """Before: a finished search said "complete, nothing to add" and export wrote a third of
    the rows (exit 0); a killed one resumed into a TypeError on every try."""
    reference = evolve_reference if kind == "evolve" else sweep_reference
    run = tmp_path / "R"
    if when == "finished":
        shutil.copytree(reference, run)
    else:
        first = (run / "checkpoints" / "ckpt-000002.json") if kind == "evolve" else None
        target = first if first is not None else None
        process = popen(kind, work / f"{kind}.toml", "--out", run, "--quiet")
        if target is not None:
            wait_for(target, process)
        else:  # a sweep: killed once 4 of its 6 evaluations are recorded
            deadline = time.monotonic() + 120
            while not ((run / "evaluations.jsonl").exists()
                       and len((run / "evaluations.jsonl").read_bytes().splitlines()) >= 4):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    # what the last state was built from: every line, or all but one when killed between a
    # line and its claim
    total = json.loads((run / "record.json").read_text())["evaluations.jsonl"]["lines"]
    assert total >= len((run / "evaluations.jsonl").read_bytes().splitlines()) - 1
    keep = 2
    cut(run, keep)
    for args in ([kind, "--resume", run, "--quiet"], ["export", run], ["report", run], ["status", run]):
        out = tsearch(*args)
        assert out.returncode == 2, (args, out.stderr)
        # the kill may land in an atomic write: the first reader then says it removed the
        # temporary file, a warning beside the one-line refusal
        said = "\n".join(line for line in out.stderr.splitlines()
                         if "temporary file(s) of an interrupted write" not in line)
        # a sweep has no claim but record.json's: a cut cannot be told from a gap, and is not
        assert one_line(said).startswith(
            f"tsearch: error: {run / 'evaluations.jsonl'} holds {keep} of the {total} evaluations "
            f"its last checkpoint was built from ("), out.stderr
        assert f"cut after line {keep}" in out.stderr, out.stderr
    out = tsearch(kind, "--resume", run, "--repair", "--quiet")
    assert out.returncode == 0, out.stderr
    assert f"repairing {run}: " in out.stderr and "Traceback" not in out.stderr
    # a sweep's two workers record in completion order, which differs between runs
    in_order = kind == "evolve"
    assert lines_of(run, in_order=in_order) == lines_of(reference, in_order=in_order)
    assert tsearch("export", run).returncode == 0


def test_a_torn_last_line_after_the_latest_claim_is_still_trimmed(tmp_path):
    from tsearch.store import integrity
    from tsearch.store.records import append_jsonl, dumps

    writer = integrity.RecordClaim(tmp_path)
    for i in range(3):
        append_jsonl(tmp_path / "evaluations.jsonl", {"i": i})
        writer.appended(dumps({"i": i}))
    with open(tmp_path / "evaluations.jsonl", "ab") as fh:
        fh.write(b'{"i": 3, "tor')  # the writer was killed mid-line, after its claim of 3
    assert integrity.problem(tmp_path) is None
    (tmp_path / "evaluations.jsonl").write_bytes(b'{"i": 0}\n{"i": 9}\n{"i": 2}\n')  # a line changed
    assert "are not those its last checkpoint was built from" in integrity.problem(tmp_path)


# ----------------------------------------------------------------------------- status
def status(run: Path) -> dict:
    out = tsearch("status", run, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_status_of_finished_folders_of_each_kind(evolve_reference, sweep_reference, work, tmp_path):
    out = tsearch("run", work / "run.toml", "--out", tmp_path / "run", "--quiet")
    assert out.returncode == 0, out.stderr
    s = status(tmp_path / "run")
    assert (s["kind"], s["phase"], s["done"], s["planned"], s["lock"]) == (
        "run", "finished", {"run": 1}, {"run": 1}, None)
    s = status(sweep_reference)
    assert (s["phase"], s["done"], s["planned"], s["failed"]) == ("finished", {"sweep": 6}, {"sweep": 6}, 0)
    assert s["best"]["metric"] == "g" and s["eta"]["basis"] == "finished"
    s = status(evolve_reference)
    assert s["phase"] == "finished" and s["done"]["baseline"] == 2 and s["done"]["search"] == 4
    assert s["fresh_best"] is not None and s["lock"] is None
    text = tsearch("status", evolve_reference).stdout
    for label in ("phase:", "evaluations:", "failed:", "best so far:", "best fresh:", "lock:         idle",
                  "last record:", "eta:          finished"):
        assert label in text, text


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["run", "sweep", "evolve"])
def test_status_of_a_running_then_killed_folder(kind, work, tmp_path):
    run = tmp_path / "R"
    process = popen(kind, work / f"{kind}.toml", "--out", run, "--quiet")
    wait_for(run / "run.json", process)
    s = status(run)
    if process.poll() is None:  # running before and after the call: the lock was held all along
        assert s["lock"]["pid"] == process.pid and not s["finished"]
        assert "in use by" not in tsearch("status", run).stderr  # a reader is never refused
    assert s["kind"] == kind
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    s = status(run)
    assert s["lock"] is None  # killed: nobody holds it
    text = tsearch("status", run).stdout
    assert "lock:         idle" in text and "eta:" in text


def test_status_eta_is_unknown_without_enough_appends_and_from_the_folders_own_rate(tmp_path):
    from tsearch.runs.status import eta

    out = {"planned": {"sweep": 10}, "done": {"sweep": 4}, "finished": False}
    assert eta(out, {}, running=True)["seconds"] is None
    e = eta(out, {"appended_at": [100.0, 110.0, 120.0, 130.0]}, running=True)  # one per 10 s
    assert e["left"] == 6 and e["seconds"] == pytest.approx(60.0)
    assert "once resumed" in eta(out, {"appended_at": [100.0, 110.0, 120.0]}, running=False)["basis"]


def test_the_recorded_command_holds_no_absolute_path(tmp_path, monkeypatch):
    """run.json says how a run was started, not where the machine keeps its files: absolute
    paths are kept relative to the folder that holds the run folder."""
    from tsearch.store.provenance import command_line

    run = tmp_path / "measure" / "exp1"
    argv = ["/opt/env/bin/tsearch", "sweep", str(tmp_path / "measure" / "exp1.toml"), "--set",
            "engine.threads=1", f"--out={run}", "--set", f"train.file={tmp_path / 'x.npz'}", "exp2"]
    monkeypatch.setattr(sys, "argv", argv)
    assert command_line(run) == ["tsearch", "sweep", "exp1.toml", "--set", "engine.threads=1",
                                 "--out=exp1", "--set", "train.file=../x.npz", "exp2"]
