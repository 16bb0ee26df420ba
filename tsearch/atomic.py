"""File I/O a crash or a hostile folder cannot make silently wrong.

- ``write_atomic``: readers see the old file or the new one, never half of one; the new file
  gets the usual permissions (the existing file's, else 0666 minus the umask), and its
  temporary is removed on any failure.
- ``append_jsonl`` / ``read_jsonl``: append-only JSON-lines records that can never merge.
  A writer killed (or stopped by a full disk) mid-line leaves a torn tail without its final
  newline; the next append cuts it back to the last newline, keeps the torn bytes in a side
  file ``<name>.torn-<n>`` and says so in one line. A reader skips a torn *last* line but
  reports a malformed line anywhere else: a silently skipped record would be a lost result.
- ``safe_path`` / ``inside`` / ``refuse_symlinks``: a run folder is a closed world. Nothing is
  read, written or deleted through a symlink inside it or at a resolved path outside it.

Used by run folders (tsearch.runs) and search checkpoints (tsearch.search) alike; it imports
nothing from tsearch so every layer may use it. Its errors are ``FolderError`` (defined here,
one line naming the file) for the CLI to report like a ``tsearch.errors.UserError``.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# write_atomic's temporaries: ".<name>.<8 random characters from mkstemp>.tmp"
TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


class FolderError(Exception):
    """A file or folder that is not what it must be (a symlink, outside the folder, a
    malformed record). ``str(exc)`` is one line naming the file."""


class UnsafePath(FolderError):
    """A symlink, hard link or special file inside a run folder, or a path that leaves it."""


class MalformedRecord(FolderError):
    """A JSON-lines file with a line that is not a JSON object, before its last line."""


# ----------------------------------------------------------------------------- atomic writes
def write_atomic(path: str | Path, data: bytes | str, *, root: str | Path | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.
    With ``root``, ``path`` must lie inside that folder (see :func:`safe_path`)."""
    path = Path(path) if root is None else safe_path(root, path)
    raw = data.encode() if isinstance(data, str) else data
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # mkstemp makes 0600: give the file its usual mode
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _mode_for(path: Path) -> int:
    """The existing file's permission bits (a user's chmod survives a rewrite), else 0666
    minus the umask, as ``open`` would give a new file."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask. Linux shows it in /proc; elsewhere set-and-restore (the only API)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries a killed ``write_atomic`` left in ``folder`` and its subfolders
    (symlinked folders are not entered); the paths removed."""
    removed = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = Path(dirpath, name)
            if TEMPORARY.match(name) and stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- JSON lines
def to_jsonable(value: Any) -> Any:
    """The one JSON encoding of what tsearch writes: numpy arrays and scalars as plain values
    (found by their ``tolist``, so numpy is not imported here), tuples as lists, keys as
    strings, NaN and infinities as null (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dumps(record: Any) -> str:
    return json.dumps(record, sort_keys=True, allow_nan=False)


def append_jsonl(path: str | Path, record: Any, *, dumps: Callable[[Any], str] = _dumps,
                 root: str | Path | None = None) -> str | None:
    """Append ``dumps(record)`` as one line and fsync: a killed process loses at most that line.

    A torn tail left by an earlier writer is repaired first (:func:`repair_tail`); the line
    saying so is returned (None when the file was sound), for the caller to show.
    """
    line = dumps(record)
    if "\n" in line:
        raise ValueError("a JSON-lines record must encode to one line")
    path = Path(path) if root is None else safe_path(root, path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o666)
    with os.fdopen(fd, "r+b") as fh:
        repaired = repair_tail(fh, path)
        fh.write(line.encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return repaired


def repair_tail(fh, path: Path) -> str | None:
    """Make the file open in ``fh`` end with a newline. A last line without one is either a
    whole record missing only its newline (completed) or a torn one (cut back to the last
    newline, its bytes kept in ``<name>.torn-<n>``). One line saying what was done, or None."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return None
    fh.seek(size - 1)
    if fh.read(1) == b"\n":
        return None
    start = _last_line_start(fh, size)
    fh.seek(start)
    tail = fh.read()
    if _is_record(tail):  # a JSON object has no complete proper prefix: this one is whole
        fh.write(b"\n")
        return f"{path}: its last record lacked a newline; completed it"
    side = _free_side_file(path)
    write_atomic(side, tail)
    fh.truncate(start)
    os.fsync(fh.fileno())
    return f"{path}: cut a torn last line ({len(tail)} bytes, kept in {side.name})"


def _last_line_start(fh, size: int, block: int = 1 << 16) -> int:
    """Offset just after the last newline in the file (0 if it has none)."""
    end = size
    while end > 0:
        begin = max(0, end - block)
        fh.seek(begin)
        newline = fh.read(end - begin).rfind(b"\n")
        if newline >= 0:
            return begin + newline + 1
        end = begin
    return 0


def _is_record(raw: bytes) -> bool:
    try:
        return isinstance(_loads(raw.decode()), dict)
    except (UnicodeDecodeError, ValueError):
        return False


def _free_side_file(path: Path) -> Path:
    n = 1
    while path.with_name(f"{path.name}.torn-{n}").exists():
        n += 1
    return path.with_name(f"{path.name}.torn-{n}")


def read_jsonl(path: str | Path, *, root: str | Path | None = None) -> Iterator[dict]:
    """The records of a JSON-lines file (none if it does not exist), in order.

    A torn last line (no final newline, not a whole record: a killed writer) is skipped; any
    other line that is not a JSON object raises :class:`MalformedRecord` naming the file and
    line number. Blank lines are skipped.
    """
    path = Path(path) if root is None else safe_path(root, path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return
    lines = raw.split(b"\n")
    torn_tail = lines.pop()  # b"" when the file ends with a newline
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _record(line, path, number)
    if torn_tail.strip() and _is_record(torn_tail):
        yield _record(torn_tail, path, len(lines) + 1)


def _record(line: bytes, path: Path, number: int) -> dict:
    try:
        record = _loads(line.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRecord(f"{path}, line {number}: not a JSON record ({_why(exc)}); "
                              "the file was altered or two records merged") from None
    if not isinstance(record, dict):
        raise MalformedRecord(f"{path}, line {number}: a JSON {type(record).__name__}, not a record")
    return record


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-finite number {name}")  # records store NaN as null, never NaN


def _why(exc: Exception) -> str:
    return str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__


# ----------------------------------------------------------------------------- closed world
def safe_path(root: str | Path, *parts: str | Path) -> Path:
    """``root / parts`` after checking it stays inside ``root``: no component below ``root``
    is a symlink and the resolved path lies inside the resolved ``root``. ``parts`` may be
    one path already under ``root``. Raises :class:`UnsafePath`."""
    root = Path(root)
    path = _under(root, parts)
    base = root.resolve()
    try:
        relative = path.absolute().relative_to(root.absolute())
    except ValueError:
        raise UnsafePath(f"{path}: outside the run folder {root}") from None
    current = root
    for part in relative.parts:
        if part in ("..", ""):
            raise UnsafePath(f"{path}: leaves the run folder {root} through '..'")
        current = current / part
        if current.is_symlink():
            raise UnsafePath(f"{current}: a symlink inside the run folder {root}; "
                             "tsearch never reads or writes through one (replace it by a real file)")
    if not path.resolve().is_relative_to(base):
        raise UnsafePath(f"{path}: resolves outside the run folder {root}")
    return path


def _under(root: Path, parts: tuple) -> Path:
    """``root / parts``; a single part that already starts with ``root`` is taken as is."""
    if len(parts) == 1:
        given = Path(parts[0])
        if given.is_absolute() or given.parts[:len(root.parts)] == root.parts:
            return given
    return root.joinpath(*parts)


def inside(root: str | Path, path: str | Path) -> bool:
    """Whether ``path`` is inside ``root`` with no symlink on the way (see :func:`safe_path`)."""
    try:
        safe_path(root, path)
    except UnsafePath:
        return False
    return True


def refuse_symlinks(root: str | Path) -> None:
    """Check a run folder before resuming it: raise :class:`UnsafePath` naming the first
    symlink, special file (FIFO, device, socket: reading one can block or never end) or
    hard-linked file (an append would also change the other name, outside the folder)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            _check_entry(Path(dirpath, name), Path(root))
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]


def _check_entry(path: Path, root: Path) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path}: a symlink inside the run folder {root}; tsearch never reads "
                         "or writes through one (replace it by a real file or folder)")
    if stat.S_ISDIR(st.st_mode):
        return
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{path}: not a regular file or folder; remove it from the run folder {root}")
    if st.st_nlink > 1:
        raise UnsafePath(f"{path}: hard-linked to {st.st_nlink - 1} other name(s); "
                         "copy the run folder without hard links (e.g. `cp -r`) before resuming it")
