"""Never silently wrong: each way a run can be interrupted or tampered with, reproduced
through the real CLI.

One uninterrupted sweep and one uninterrupted search are the references; every scenario copies
or redoes them and compares: a disk filling up mid-line then a resume (nothing lost, identical
numbers), Ctrl-C, a symlinked samples/ (refused, nothing outside touched), an edited config.json,
a checkpoint of another config, a checkpoint edited with its checksum recomputed, all checkpoints
deleted (one line, nothing emptied), a folder pointing at a Ray cluster (never dialled), a start
killed before run.json. Subprocesses run from the checkout (tsearch.cli.main), as a user would.
"""

from __future__ import annotations

import hashlib
import json
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsearch.config import config_from_dict
from tsearch.store import lock
from tsearch.store.folder import new_run_dir
from tsearch.store.provenance import config_hash, identity_hash
from tsearch.store.records import dumps

sys.path.insert(0, str(Path(__file__).parent))
from conftest import snapshot  # noqa: E402
from test_fuzz import EVOLVE, SWEEP, to_toml  # noqa: E402  (the fuzz test's tiny valid configs)
from tiny import keep_lines  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROGRESS = re.compile(r"^(run|sweep|evolve|reevaluate|control): .* \| ")
pytestmark = pytest.mark.slow

SWEEP_CONFIG = {**SWEEP, "sweep": {"grid": {"run.seed": [0, 1, 2, 3, 4, 5]}}}
# no control arm: the checkpoint tests edit ckpt-000003, the newest one (baseline + 2 generations)
EVOLVE_CONFIG = {**EVOLVE, "search": {**EVOLVE["search"], "strategy": "nsga2", "generations": 2,
                                      "population": 2, "control": "none"}}
# how an evaluation ran (wall clock, memory, device, how many tasks shared its chunk): not results
VOLATILE = ("timings", "peak_memory_mb", "device", "chunk_size", "form")


def tsearch(*args, fsize_limit: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``tsearch ARGS`` in a subprocess from the checkout; ``fsize_limit``: RLIMIT_FSIZE in
    bytes, as ``ulimit -f`` sets it (a full disk, as a file sees it)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    return subprocess.run([sys.executable, "-c", "from tsearch.cli import main; main()", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit if fsize_limit else None)


def one_line(stderr: str) -> str:
    """The one line a command says, besides its progress lines (without a terminal, one plain
    'sweep: ... | ...' line per evaluation or generation)."""
    lines = [line for line in stderr.strip().splitlines() if not PROGRESS.match(line)]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def evaluations(folder: Path) -> dict:
    """task_id -> its evaluations.jsonl line without wall-clock fields."""
    out = {}
    for line in (folder / "evaluations.jsonl").read_text().splitlines():
        record = json.loads(line)
        out[record["task_id"] + record.get("phase", "")] = {k: v for k, v in record.items() if k not in VOLATILE}
    return out


def rewrite_config(folder: Path, edit, *, consistent: bool) -> None:
    """Edit config.json; ``consistent``: also recompute run.json's hash and config copy, as a
    folder crafted by someone else would be."""
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    if consistent:
        meta = json.loads((folder / "run.json").read_text())
        resolved = config_from_dict(config)
        meta["config_sha256"] = config_hash(resolved)
        meta["config"] = json.loads(dumps(config))
        (folder / "run.json").write_text(json.dumps(meta, indent=2))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    path = tmp_path_factory.mktemp("robust")
    (path / "sweep.toml").write_text(to_toml(SWEEP_CONFIG))
    (path / "evolve.toml").write_text(to_toml(EVOLVE_CONFIG))
    return path


@pytest.fixture(scope="module")
def sweep_reference(work) -> Path:
    out = tsearch("sweep", work / "sweep.toml", "--out", work / "sweep-ref", "--quiet")
    assert out.returncode == 0, out.stderr
    return work / "sweep-ref"


@pytest.fixture(scope="module")
def evolve_reference(work) -> Path:
    out = tsearch("evolve", work / "evolve.toml", "--out", work / "evolve-ref", "--quiet")
    assert out.returncode == 0, out.stderr
    assert len(list((work / "evolve-ref" / "checkpoints").glob("*.json"))) == 3
    return work / "evolve-ref"


def copy_of(reference: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(reference, tmp_path / reference.name))


# ----------------------------------------------------------------------------- faults mid-run
def test_disk_full_mid_line_then_resume_loses_nothing(sweep_reference, work, tmp_path):
    """Before: OSError traceback; the resume glued the next record onto the torn fragment and
    read_jsonl skipped the merged line: 5 of 6 evaluations, exit 0."""
    lines = (sweep_reference / "evaluations.jsonl").read_bytes().splitlines(keepends=True)
    before_last = sum(map(len, lines[:-1]))
    limit = before_last + len(lines[-1]) // 2  # the 6th line is cut in its middle
    assert (sweep_reference / "run.json").stat().st_size < limit  # the provenance fits
    run = tmp_path / "R"
    out = tsearch("sweep", work / "sweep.toml", "--out", run, "--quiet", fsize_limit=limit)
    assert out.returncode == 1
    line = one_line(out.stderr)
    assert "a file reached the size limit" in line and line.endswith(f"continue with: tsearch sweep --resume {run}")
    assert not (run / "evaluations.jsonl").read_bytes().endswith(b"\n")  # the torn tail is there

    out = tsearch("sweep", "--resume", run, "--quiet")
    assert out.returncode == 0, out.stderr
    assert "cut a torn last line" in one_line(out.stderr)
    assert (run / "evaluations.jsonl.torn-1").stat().st_size > 0
    assert evaluations(run) == evaluations(sweep_reference)  # all 6, the same numbers
    analysis = [json.loads((folder / "analysis.json").read_text()) for folder in (run, sweep_reference)]
    assert analysis[0] == analysis[1]


def test_ctrl_c_names_the_resume_command_and_the_resume_is_identical(sweep_reference, work, tmp_path):
    run = tmp_path / "R"
    process = subprocess.Popen([sys.executable, "-c", "from tsearch.cli import main; main()", "sweep",
                                str(work / "sweep.toml"), "--out", str(run), "--quiet"],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "run.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside the evaluations
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 130
    assert one_line(stderr) == f"tsearch: error: interrupted; continue with: tsearch sweep --resume {run}"
    out = tsearch("sweep", "--resume", run, "--quiet")
    assert out.returncode == 0, out.stderr
    assert evaluations(run) == evaluations(sweep_reference)


# ----------------------------------------------------------------------------- closed world
@pytest.mark.parametrize("kind", ["sweep", "evolve"])
def test_a_symlinked_samples_folder_is_refused_and_nothing_outside_touched(
        kind, sweep_reference, evolve_reference, tmp_path):
    """Before: evolve --resume deleted .npz files outside the folder; sweep --resume appended
    to and overwrote outside files."""
    run = copy_of(sweep_reference if kind == "sweep" else evolve_reference, tmp_path)
    outside = tmp_path / "outside"
    shutil.move(run / "samples", outside)
    (outside / "precious.npz").write_bytes(b"not yours")
    (run / "samples").symlink_to(outside)
    keep_lines(run, len((run / "evaluations.jsonl").read_text().splitlines()) - 1)
    before = snapshot(outside)
    out = tsearch(kind, "--resume", run, "--quiet")
    assert out.returncode == 2
    assert one_line(out.stderr) == (f"tsearch: error: {run / 'samples'}: a symlink inside the run folder {run}; "
                                    "tsearch never reads or writes through one (replace it by a real file or folder)")
    assert snapshot(outside) == before


# ----------------------------------------------------------------------------- identity
def test_a_sweep_with_an_edited_config_json_is_refused_naming_the_key(sweep_reference, tmp_path):
    """Before: 10 points at 20 steps and 6 at 40 mixed silently, exit 0."""
    run = copy_of(sweep_reference, tmp_path)
    keep_lines(run, 3)
    rewrite_config(run, lambda c: c["train"].update(steps=8), consistent=False)
    out = tsearch("sweep", "--resume", run, "--quiet")
    assert out.returncode == 2
    assert one_line(out.stderr) == (f"tsearch: error: {run / 'config.json'}: edited after the run started "
                                    "(train.steps: 4 when the run started, 8 in config.json); "
                                    "restore it or start a new run")
    assert len((run / "evaluations.jsonl").read_text().splitlines()) == 3  # nothing was computed


@pytest.mark.parametrize("key, value", [("mutation_prob", 0.1), ("generations", 5)])
def test_an_evolve_with_an_edited_config_json_is_refused(evolve_reference, tmp_path, key, value):
    """Before: mutation_prob used silently, generations ignored silently."""
    run = copy_of(evolve_reference, tmp_path)
    rewrite_config(run, lambda c: c["search"].update({key: value}), consistent=False)
    out = tsearch("evolve", "--resume", run, "--quiet")
    assert out.returncode == 2 and f"(search.{key}: " in one_line(out.stderr)


def test_a_checkpoint_of_another_config_is_refused_naming_the_difference(evolve_reference, tmp_path):
    """Before: a checkpoint whose evaluation settings matched (crossover_prob differs) was
    continued silently."""
    from tsearch.store.checkpoint import CheckpointStore, load
    run = copy_of(evolve_reference, tmp_path)
    (run / "pareto.json").unlink()  # unfinished: a complete run is left untouched
    theirs = json.loads((run / "config.json").read_text())
    theirs["search"]["crossover_prob"] = 0.9
    newest = load(run / "checkpoints" / "ckpt-000003.json")
    CheckpointStore(run / "checkpoints").save(3, newest.payload, newest.genomes.values(),
                                              config_hash=identity_hash(config_from_dict(theirs)), config=theirs)
    out = tsearch("evolve", "--resume", run, "--quiet")
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert ("ckpt-000003.json: a checkpoint of another run or config (search.crossover_prob: 0.9 in the "
            "checkpoint, 0.5 in this run)") in line


def test_a_checkpoint_edited_with_its_checksum_recomputed_is_one_line(evolve_reference, tmp_path):
    """Before: a removed key gave a traceback."""
    run = copy_of(evolve_reference, tmp_path)
    (run / "pareto.json").unlink()  # unfinished: a complete run is left untouched
    path = run / "checkpoints" / "ckpt-000003.json"
    doc = json.loads(path.read_text().split("\n")[1])
    del doc["payload"]["strategies"]
    body = json.dumps(doc, sort_keys=True)
    path.write_text(f"{hashlib.sha256(body.encode()).hexdigest()}\n{body}\n")
    out = tsearch("evolve", "--resume", run, "--quiet")
    assert out.returncode == 2
    assert "ckpt-000003.json: malformed its search state" in one_line(out.stderr)


def test_all_checkpoints_deleted_says_what_is_reused_and_empties_nothing(evolve_reference, tmp_path):
    """Before: restarted from scratch without a word and emptied evaluations.jsonl first."""
    run = copy_of(evolve_reference, tmp_path)
    (run / "pareto.json").unlink()  # unfinished: a complete run is left untouched
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    record = (run / "evaluations.jsonl").read_bytes()
    out = tsearch("evolve", "--resume", run, "--quiet")
    assert out.returncode == 0, out.stderr
    assert one_line(out.stderr) == (
        f"tsearch: warning: {run / 'checkpoints'}: no valid checkpoint; the search starts again from generation 0, "
        f"reusing the {len(record.splitlines())} evaluations of evaluations.jsonl (only the missing ones "
        "are computed; no file is emptied)")
    assert (run / "evaluations.jsonl").read_bytes() == record  # nothing recomputed, nothing lost
    assert (run / "pareto.json").read_text() == (evolve_reference / "pareto.json").read_text()


def test_a_stored_ray_address_is_never_dialled_by_a_plain_resume(sweep_reference, tmp_path):
    """Before: a plain --resume connected to the Ray address stored in config.json."""
    run = copy_of(sweep_reference, tmp_path)
    keep_lines(run, 5)
    with socket.socket() as cluster:  # a "hostile cluster": counts who connects
        cluster.bind(("127.0.0.1", 0))
        cluster.listen()
        cluster.setblocking(False)
        address = f"127.0.0.1:{cluster.getsockname()[1]}"
        rewrite_config(run, lambda c: c["executor"].update(kind="ray", address=address), consistent=True)
        out = tsearch("sweep", "--resume", run, "--quiet")
        assert out.returncode == 0, out.stderr
        assert one_line(out.stderr) == (f"tsearch: warning: the run used executor 'ray' at {address}; this resume "
                                        "runs locally (give --executor/--address to choose)")
        with pytest.raises(BlockingIOError):
            cluster.accept()  # nobody dialled it
    assert evaluations(run) == evaluations(sweep_reference)


def test_an_executor_table_edit_is_stated_not_refused(sweep_reference, tmp_path):
    run = copy_of(sweep_reference, tmp_path)
    rewrite_config(run, lambda c: c["executor"].update(tasks_per_chunk=1), consistent=False)
    out = tsearch("sweep", "--resume", run, "--quiet")
    assert out.returncode == 0, out.stderr
    assert "its [executor] table was edited (executor.tasks_per_chunk: " in one_line(out.stderr)


# ----------------------------------------------------------------------------- killed early
def test_a_start_killed_before_run_json_blocks_neither_resume_nor_out(sweep_reference, tmp_path):
    """Before: a folder without run.json blocked both --resume and reusing --out."""
    run = tmp_path / "R"
    run.mkdir()
    shutil.copy(sweep_reference / "config.json", run / "config.json")
    (run / ".run.json.a1b2c3d4.tmp").write_text('{"kind": "sw')  # the write that was killed
    out = tsearch("sweep", "--resume", run, "--quiet")
    assert out.returncode == 0, out.stderr
    assert "killed before its run.json was written; starting the sweep from its config.json" in one_line(out.stderr)
    assert evaluations(run) == evaluations(sweep_reference)
    assert not list(run.glob(".*.tmp"))

    again = tmp_path / "again"
    again.mkdir()
    (again / "config.json").write_text("{}")
    path, held = new_run_dir("sweep", "x", again)
    assert path == again  # locked for this process: only its lock file
    assert [p.name for p in again.iterdir()] == [lock.LOCK_FILE]
    held.release()
    assert not any(again.iterdir())
    (again / "mine.txt").write_text("a user's file")  # a folder with anything else stays refused
    with pytest.raises(Exception, match="already exists and is not empty"):
        new_run_dir("sweep", "x", again)
