"""tsearch.atomic: atomic writes, JSON lines that never merge, the closed-world path checks."""

import os
import stat
import subprocess
import sys

import pytest

from tsearch.atomic import (
    MalformedRecord,
    UnsafePath,
    append_jsonl,
    clean_stale_temporaries,
    inside,
    read_jsonl,
    refuse_symlinks,
    safe_path,
    write_atomic,
)


# ----------------------------------------------------------------------------- write_atomic
def test_write_atomic_gives_the_umask_mode_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.json", "{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
        os.umask(0o027)
        write_atomic(tmp_path / "b.json", "{}")
        assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o640
        (tmp_path / "a.json").chmod(0o600)  # a user's chmod survives a rewrite
        write_atomic(tmp_path / "a.json", "{1}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
        assert (tmp_path / "a.json").read_text() == "{1}"
    finally:
        os.umask(old)


def test_write_atomic_removes_its_temporary_on_failure(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("old")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomic(tmp_path / "f", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
    assert (tmp_path / "f").read_text() == "old"


def test_clean_stale_temporaries_removes_only_write_atomic_leftovers(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    stale = [tmp_path / ".run.json.ab12cd_3.tmp", tmp_path / "checkpoints" / ".ckpt-000002.npz.zz99zz99.tmp"]
    kept = [tmp_path / "notes.tmp", tmp_path / ".hidden", tmp_path / "checkpoints" / "ckpt-000002.npz"]
    for p in stale + kept:
        p.write_text("x")
    assert sorted(clean_stale_temporaries(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)


def test_clean_stale_temporaries_does_not_enter_a_symlinked_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".x.abcdefgh.tmp").write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / "samples").symlink_to(outside)
    assert clean_stale_temporaries(run) == []
    assert (outside / ".x.abcdefgh.tmp").exists()


# ----------------------------------------------------------------------------- JSON lines
def test_append_then_read_round_trip(tmp_path):
    path = tmp_path / "e.jsonl"
    for i in range(3):
        assert append_jsonl(path, {"i": i, "x": [1.5, None]}) is None
    assert list(read_jsonl(path)) == [{"i": i, "x": [1.5, None]} for i in range(3)]
    assert list(read_jsonl(tmp_path / "missing.jsonl")) == []


def test_a_torn_tail_is_cut_kept_aside_and_never_merged(tmp_path):
    path = tmp_path / "e.jsonl"
    append_jsonl(path, {"i": 0})
    with open(path, "ab") as fh:
        fh.write(b'{"i": 1, "loss": 0.2')  # the writer died here
    assert list(read_jsonl(path)) == [{"i": 0}]  # a torn last line is skipped, not an error
    message = append_jsonl(path, {"i": 2})
    assert message == f"{path}: cut a torn last line (20 bytes, kept in e.jsonl.torn-1)"
    assert list(read_jsonl(path)) == [{"i": 0}, {"i": 2}]
    assert (tmp_path / "e.jsonl.torn-1").read_bytes() == b'{"i": 1, "loss": 0.2'
    with open(path, "ab") as fh:
        fh.write(b'{"i"')
    assert "torn-2" in append_jsonl(path, {"i": 3})  # an earlier side file is never overwritten
    assert [r["i"] for r in read_jsonl(path)] == [0, 2, 3]


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"i": 0}\n{"i": 1}')
    assert list(read_jsonl(path)) == [{"i": 0}, {"i": 1}]
    assert "completed" in append_jsonl(path, {"i": 2})
    assert [r["i"] for r in read_jsonl(path)] == [0, 1, 2]
    assert not list(tmp_path.glob("*.torn-*"))


def test_a_torn_file_without_any_newline_is_cut_to_empty(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"i": 0, "x"')
    assert "12 bytes" in append_jsonl(path, {"i": 1})
    assert path.read_bytes() == b'{"i": 1}\n'


@pytest.mark.parametrize("line, why", [(b'{"i": 1}{"i": 2}', "not a JSON record"),
                                       (b'{"i": 1, "loss": NaN}', "not a JSON record"),
                                       (b'[1, 2]', "a JSON list"),
                                       (b'\xff\xfe', "not a JSON record")])
def test_a_malformed_line_in_the_middle_is_reported_with_its_number(tmp_path, line, why):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"i": 0}\n\n' + line + b'\n{"i": 3}\n')
    with pytest.raises(MalformedRecord) as info:
        list(read_jsonl(path))
    message = str(info.value)
    assert message.startswith(f"{path}, line 3: {why}") and "\n" not in message


def test_append_survives_a_full_disk_then_the_next_append_repairs(tmp_path):
    """A real EFBIG mid-line (RLIMIT_FSIZE), as a full disk leaves it; then a clean append."""
    path = tmp_path / "e.jsonl"
    append_jsonl(path, {"i": 0})
    limit = path.stat().st_size + 10
    code = (f"import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
            f"from tsearch.atomic import append_jsonl; append_jsonl({str(path)!r}, {{'i': 1, 'pad': 'x' * 50}})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "File too large" in out.stderr
    assert not path.read_bytes().endswith(b"\n")  # the torn tail is there
    assert "torn" in append_jsonl(path, {"i": 2})
    assert [r["i"] for r in read_jsonl(path)] == [0, 2]


def test_append_refuses_a_symlinked_file(tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    run = tmp_path / "run"
    run.mkdir()
    (run / "e.jsonl").symlink_to(outside)
    with pytest.raises(OSError):  # O_NOFOLLOW, even without a root
        append_jsonl(run / "e.jsonl", {"i": 0})
    with pytest.raises(UnsafePath, match="symlink"):
        append_jsonl(run / "e.jsonl", {"i": 0}, root=run)
    assert outside.read_text() == ""


# ----------------------------------------------------------------------------- closed world
@pytest.fixture
def run_with_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.npz").write_bytes(b"precious")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "evaluations.jsonl").write_text("")
    (run / "samples").symlink_to(outside)
    return run, outside


def test_safe_path_refuses_symlinks_and_escapes(run_with_links, tmp_path):
    run, outside = run_with_links
    assert safe_path(run, "checkpoints", "ckpt-000001.json") == run / "checkpoints" / "ckpt-000001.json"
    assert safe_path(run, run / "evaluations.jsonl") == run / "evaluations.jsonl"
    for parts in [("samples", "a.npz"), ("samples",), ("..", "outside", "a.npz"), (str(outside / "a.npz"),)]:
        with pytest.raises(UnsafePath) as info:
            safe_path(run, *parts)
        assert "\n" not in str(info.value)
        assert not inside(run, run.joinpath(*parts))
    assert inside(run, run / "checkpoints" / "new.json")
    with pytest.raises(UnsafePath):
        write_atomic(run / "samples" / "a.npz", b"overwritten", root=run)
    assert (outside / "a.npz").read_bytes() == b"precious"


def test_a_run_folder_whose_root_is_a_symlink_is_allowed(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    write_atomic(tmp_path / "link" / "f.json", "{}", root=tmp_path / "link")
    assert (real / "f.json").read_text() == "{}"


def test_refuse_symlinks_names_the_first_culprit(run_with_links, tmp_path):
    run, _ = run_with_links
    with pytest.raises(UnsafePath, match=r"run/samples: a symlink"):
        refuse_symlinks(run)
    (run / "samples").unlink()
    refuse_symlinks(run)  # clean now
    (run / "checkpoints" / "ckpt-000001.json").symlink_to(tmp_path / "nowhere")  # dangling too
    with pytest.raises(UnsafePath, match="ckpt-000001.json: a symlink"):
        refuse_symlinks(run)


def test_refuse_symlinks_refuses_hard_links_and_fifos(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (tmp_path / "outside.jsonl").write_text("")
    os.link(tmp_path / "outside.jsonl", run / "evaluations.jsonl")
    with pytest.raises(UnsafePath, match="hard-linked"):
        refuse_symlinks(run)
    (run / "evaluations.jsonl").unlink()
    os.mkfifo(run / "metrics.jsonl")
    with pytest.raises(UnsafePath, match="not a regular file"):
        refuse_symlinks(run)


def test_atomic_imports_nothing_from_tsearch():
    import ast

    import tsearch.atomic as module
    tree = ast.parse(open(module.__file__).read())
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0]
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not relative and not any(name.startswith("tsearch") for name in imported), imported
