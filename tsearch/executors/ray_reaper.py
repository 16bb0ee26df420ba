"""Stops the processes of a local Ray when the tsearch driver that started it dies.

``ray.shutdown()`` stops a local Ray cleanly, but a driver killed by SIGKILL (or the OOM
killer) never calls it: Ray's raylet and workers follow their driver, yet its dashboard and
runtime-env agents (Ray 2.60) keep running, reparented to init. This watcher is started by
the driver right after ``ray.init`` as a separate session (Ctrl-C does not reach it) and
runs as a plain script (``python ray_reaper.py DRIVER_PID``, no tsearch import):

- while the driver lives, it records every descendant of the driver once a second (pid and
  start time, read from /proc), so a process reparented after the driver's death is known;
- "done" on its stdin: the driver shut Ray down itself; exit;
- end of its stdin without "done" (the driver died, the kernel closed the pipe): SIGTERM
  every recorded process still alive (its start time checked, so a reused pid is never hit),
  then SIGKILL the ones left after ``GRACE_S``.

Linux only (/proc); elsewhere it exits at once and docs/cluster.md says so.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path

POLL_S = 1.0
GRACE_S = 3.0


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or
    None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                table[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return table


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != os.getpid():
                found.add(child)
                todo.append(child)
    return found


def reap(recorded: dict[int, int]) -> None:
    """SIGTERM, then after GRACE_S SIGKILL, the recorded processes that still run."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid, started in recorded.items() if start_time(pid) == started]
        for pid in alive:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + GRACE_S
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in alive if start_time(pid) == recorded[pid]]


def watch(driver: int) -> None:
    recorded: dict[int, int] = {}
    while True:
        for pid in descendants(driver):
            started = start_time(pid)
            if started is not None:
                recorded.setdefault(pid, started)
        ready, _, _ = select.select([sys.stdin], [], [], POLL_S)
        if ready:
            message = sys.stdin.readline()
            if message.strip() == "done":
                return
            if not message:  # end of file: the driver is gone
                reap(recorded)
                return


if __name__ == "__main__":
    if Path("/proc/self/stat").exists():
        watch(int(sys.argv[1]))
