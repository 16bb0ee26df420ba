"""One writer per run folder: an OS file lock held for the life of the writing command.

Every command that writes into a run folder (``run``, ``sweep``, ``evolve`` and their
``--resume``, ``report`` of a folder nobody writes) holds its lock before its first write. The lock is
``DIR/tsearch.lock``: ``fcntl.flock`` on it (the kernel releases it when the process ends,
however it ends, SIGKILL included) plus one JSON line inside naming the holder (pid, host,
command, start time), so that a second writer can say who has the folder:

    tsearch: error: DIR is in use by pid 1234 on HOST since 12:01 (tsearch evolve --resume DIR)

A lock file whose holder died (the flock is free, the file still names it) is taken over with
one line saying so when the holder ran on this host and its pid is gone. A holder named on
another host cannot be checked from here: that case is refused with what to do (on a shared
filesystem the flock is only as good as the server's lock support: docs/cluster.md). A lock
file tsearch did not write (garbage) is said as such and replaced once its flock is free.
Readers (``export``, ``status``, ``score DIR``, ``results.load``, ``report`` of a running
search) never take the lock; :func:`holder` tells them who holds it, asking the kernel
(/proc/locks) whether anyone does, so that a reused pid is not taken for a live holder.

The lock belongs to the object that writes the folder: a :class:`FolderLock` on its
``RunFolder`` (``folder.lock``), taken once per command and released when the command ends
(``with folder:``), whether it returns or raises. A command holds one RunFolder per folder and
hands it on (to the report, to the outputs), so there is nothing to re-enter.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from ..errors import UserError
from . import layout

LOCK_FILE = layout.LOCK


class FolderLock:
    """The lock of one run folder, held by the RunFolder that writes it (its ``lock``)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.fd: int | None = None  # the open fd holding the flock, while held
        self.pending: list[str] = []  # takeover lines not said yet (take(quiet=True))

    @property
    def held(self) -> bool:
        return self.fd is not None

    def take(self, command: list[str] | None = None, *, quiet: bool = False) -> None:
        """Take the folder's lock (a no-op if this object holds it); a one-line UserError naming
        the holder if another process or object has it. ``quiet``: the line saying that a dead
        holder's lock was taken over waits for :meth:`announce` (a resume says it once its
        checks pass, so that a refusal stays one line)."""
        if self.held:
            return
        fd = _locked(self.folder / LOCK_FILE, self.folder)
        try:
            self._take_over_if_stale(fd, quiet)
            _write(fd, {"pid": os.getpid(), "host": socket.gethostname(),
                        "command": " ".join(command or command_line()),
                        "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds")})
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def _take_over_if_stale(self, fd: int, quiet: bool) -> None:
        """The flock is ours; a holder still named in the file died without clearing it."""
        previous = _read(fd)
        if not previous:
            return
        folder = self.folder
        if previous.get("garbage"):  # no tsearch wrote it, and no process holds its lock
            self.pending.append(f"tsearch: warning: {folder}: replaced a lock file tsearch did not write "
                                "(no process held its lock)")
        elif previous.get("host") != socket.gethostname():
            raise UserError(f"{folder} was locked by {describe(previous)} and that lock is free here, but a "
                            f"process on another host cannot be checked from {socket.gethostname()}; if it "
                            f"is gone, remove {folder / LOCK_FILE} (docs/cluster.md)")
        else:
            gone = "that process is gone" if not alive(previous.get("pid")) else "no process holds its lock"
            self.pending.append(f"tsearch: warning: {folder}: took over the lock left by {describe(previous)}: {gone}")
        if not quiet:
            self.announce()

    def announce(self) -> None:
        """Say the takeovers held back by ``take(quiet=True)``."""
        while self.pending:
            print(self.pending.pop(0), file=sys.stderr, flush=True)

    def release(self) -> None:
        """Remove the lock file, then let the folder go (closing the fd releases the flock; a
        process that opened the old file meanwhile sees it removed and opens a new one)."""
        if self.fd is None:
            return
        try:
            os.unlink(self.folder / LOCK_FILE)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _locked(path: Path, folder: str | Path) -> int:
    """An fd of ``path`` holding its flock. The holder removes the file when it lets go, so a
    lock taken on a file that was removed meanwhile is let go and taken again on the new one."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise UserError(f"{path}: cannot open the run folder's lock file ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            previous = _current_holder(fd)
            os.close(fd)
            raise UserError(f"{folder} is in use by {describe(previous)}") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _current_holder(fd: int, wait: float = 2.0) -> dict | None:
    """The record of the process holding the flock: it writes it just after taking the lock,
    so a record still naming a dead process (or none) is read again for up to ``wait`` s."""
    deadline = time.monotonic() + wait
    while True:
        record = _read(fd)
        live = record and (record.get("host") != socket.gethostname() or alive(record.get("pid")))
        if live or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def command_line() -> list[str]:
    """argv as typed: ``python -m tsearch`` (and ``python -c`` calling the CLI) show as tsearch."""
    program = Path(sys.argv[0]).name if sys.argv else "tsearch"
    return ["tsearch" if program in ("__main__.py", "-c", "") else program, *sys.argv[1:]]


def holder(folder: str | Path) -> dict | None:
    """Who holds the folder's lock now (pid, host, command, started), or None: for readers.
    It reads the lock file only, never flocks it (even a shared flock taken for a moment
    would refuse a writer starting then): a record naming a process gone from this host is
    None; one naming another host is shown as it is (it cannot be checked from here)."""
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        record = _read(fd)
        held = flocked(fd)
    finally:
        os.close(fd)
    if held is False:  # the kernel says no process holds it: whatever the file names is gone
        return None
    if not record or record.get("garbage") or (record.get("host") == socket.gethostname()
                                               and not alive(record.get("pid"))):
        return None if held is None else record or {"pid": "?", "host": "?", "command": "?"}
    return record


def flocked(fd: int) -> bool | None:
    """Whether any process holds a flock on ``fd``'s file, from the kernel's table
    (/proc/locks: type, pid and device:inode of each lock), without taking it; None where that
    table cannot be read (then the lock file's pid is all there is to go by)."""
    st = os.fstat(fd)
    inode = f":{st.st_ino} "
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return None
    for line in table.splitlines():
        fields = line.split()
        if "FLOCK" in fields and inode in line:
            device = next((f for f in fields if f.endswith(f":{st.st_ino}")), None)
            if device is not None and _same_device(device, st.st_dev):
                return True
    return False


def _same_device(field: str, dev: int) -> bool:
    """/proc/locks spells a device as MAJOR:MINOR:INODE in hex."""
    try:
        major, minor = (int(part, 16) for part in field.split(":")[:2])
    except ValueError:
        return False
    return os.major(dev) == major and os.minor(dev) == minor


def describe(record: dict | None) -> str:
    """'pid 1234 on HOST since 12:01 (tsearch evolve --resume DIR)'."""
    if not record:
        return "another process (its lock file names none)"
    started = str(record.get("started", "?"))
    try:
        when = _dt.datetime.fromisoformat(started)
        started = when.strftime("%H:%M") if when.date() == _dt.date.today() else when.strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    return f"pid {record.get('pid', '?')} on {record.get('host', '?')} since {started} ({record.get('command', '?')})"


def alive(pid) -> bool:
    """Whether a process with this pid exists on this host."""
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2 ** 31:  # beyond any pid_max
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(fd: int) -> dict | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = b""
        while chunk := os.read(fd, 65536):
            raw += chunk
        record = json.loads(raw.decode()) if raw.strip() else None
    except (OSError, UnicodeDecodeError, ValueError):
        record = "garbage"
    if record is not None and not (isinstance(record, dict) and isinstance(record.get("host"), str)):
        return {"pid": "?", "host": "?", "command": "a lock file tsearch did not write", "garbage": True}
    return record


def _write(fd: int, record: dict) -> None:
    data = (json.dumps(record, sort_keys=True) + "\n").encode()
    os.pwrite(fd, data.ljust(max(len(data), os.fstat(fd).st_size)), 0)  # never empty meanwhile
    os.ftruncate(fd, len(data))
    os.fsync(fd)
