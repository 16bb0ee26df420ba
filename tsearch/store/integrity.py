"""A record that cannot be cut silently: how much of evaluations.jsonl each state was built from.

A run folder's record (``evaluations.jsonl``) is append-only; a full disk, a copy cut by a job's
time limit or a sync tool can still leave it shorter than it was, and a short record read back
looks like a smaller, finished run. So every state built from the record says how much of it
it was built from, as a *claim* ``{"lines": N, "sha256": D}``: N complete lines and the running
digest D of those lines (``D_i = sha256(D_{i-1} + "\\n" + line_i)``, ``D_0 = ""``):

    record.json                      the writer's claim after every appended line (the final
                                     state of a finished run included), written atomically
    checkpoints/ckpt-N.json          evolve: each checkpoint's payload carries its claim
                                     under "record" (tsearch.runs.evolve)
    outputs.json                     evolve: written last, once pareto.json and the report are:
                                     the claim they were built from (the re-evaluations after
                                     the last checkpoint included) and the generations of each
                                     phase, so that a record cut after the last checkpoint is
                                     found with record.json lost, and a run is complete only when
                                     its outputs rest on its whole record and its config's plan

:func:`problem` compares the record with every claim: fewer lines than a claim, or a digest that
differs, is a one-line refusal naming how many evaluations are missing and after which line the
record is still what a claim says (resume, export, report, status). A torn *last* line written
after the newest claim is not a problem: the next append
trims it (tsearch.atomic.repair_tail). :func:`repair` (``--resume DIR --repair``) goes back to
the newest state the remaining record covers and drops the claims it does not; lines lost (cut
or a gap) leave every other line in place, so only the missing evaluations are computed again:
every evaluation is determined by the run seed and the set, so the run then ends as an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_atomic
from ..errors import UserError
from . import layout

RECORD, MARK, OUTPUTS = layout.EVALUATIONS, layout.RECORD_CLAIM, layout.OUTPUTS
RATE_WINDOW = 50  # appends whose times record.json keeps: the folder's own rate (tsearch status)


def chain(digest: str, line: bytes) -> str:
    return hashlib.sha256(digest.encode() + b"\n" + line).hexdigest()


@dataclass
class Scan:
    """The record as it is: its complete lines and the digest of every prefix."""

    lines: list[bytes]
    digests: list[str]  # digests[i]: of the first i lines

    @property
    def count(self) -> int:
        return len(self.lines)


def scan(path: Path) -> Scan:
    """Complete lines (and a last line that is a whole record without its newline: the next
    append completes it); a torn tail is left out, as readers leave it out."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = b""
    lines = raw.split(b"\n")
    tail = lines.pop()
    if tail.strip() and _whole(tail):
        lines.append(tail)
    lines = [line for line in lines if line.strip()]
    digests = [""]
    for line in lines:
        digests.append(chain(digests[-1], line))
    return Scan(lines, digests)


def _whole(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw.decode()), dict)
    except (UnicodeDecodeError, ValueError):
        return False


# ----------------------------------------------------------------------------- the writer
class RecordClaim:
    """What one writer (a RunFolder) claims of its folder's record: lines and chained digest,
    and when it appended its last lines. Read from the file on first use, then chained."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.current: tuple[int, str] | None = None  # (lines, digest) once read
        self.times: list[float] = []

    def now(self) -> dict:
        """The claim on the record now (read from the file the first time)."""
        if self.current is None:
            s = scan(self.folder / RECORD)
            self.current = (s.count, s.digests[-1])
        lines, digest = self.current
        return {"lines": lines, "sha256": digest}

    def appended(self, line: str) -> None:
        """One line was appended to the record: advance the claim and write record.json. The
        first append reads the whole file back (the append may have trimmed a torn tail),
        later ones chain."""
        if self.current is not None:
            lines, digest = self.current
            self.current = (lines + 1, chain(digest, line.encode()))
        self.times = [*self.times, time.time()][-RATE_WINDOW:]
        self.write_mark(self.now())

    def write_mark(self, mark: dict) -> None:
        """record.json: the claim, and the times of this writer's last appends (epoch seconds)."""
        self.current = (mark["lines"], mark["sha256"])
        times = [round(t, 3) for t in self.times]
        write_atomic(self.folder / MARK, json.dumps({RECORD: mark, "appended_at": times}, sort_keys=True) + "\n")

    def forget(self) -> None:
        """Drop the claim (read again from the file on the next append)."""
        self.current, self.times = None, []

    def write_outputs(self, **plan) -> None:
        """outputs.json, once every output of a finished run is written: the claim now and
        ``plan`` (the generations of each phase, the re-evaluations)."""
        write_atomic(self.folder / OUTPUTS, json.dumps({RECORD: self.now(), **plan}, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------- readers
def claims(folder: Path) -> list[tuple[str, dict]]:
    """(where, claim) of every state built from the record: record.json, then each checkpoint."""
    found = []
    mark = _read_json(folder / MARK)
    if isinstance(mark, dict) and _valid(mark.get(RECORD)):
        found.append(("its last checkpoint", mark[RECORD]))
    for step, doc in checkpoint_claims(folder):
        found.append((f"checkpoint {step}", doc))
    outputs = read_outputs(folder)
    if outputs is not None:
        found.append(("its outputs (outputs.json)", outputs[RECORD]))
    return found


def read_outputs(folder: Path) -> dict | None:
    """outputs.json with a valid claim, or None (absent: not finished, or an older folder)."""
    doc = _read_json(folder / OUTPUTS)
    return doc if isinstance(doc, dict) and _valid(doc.get(RECORD)) else None


def covers(folder: Path, mark: dict) -> bool:
    """Whether ``mark`` claims the whole record as it is now: nothing cut, nothing added."""
    s = scan(folder / RECORD)
    return mark["lines"] == s.count and mark["sha256"] == s.digests[-1]


def checkpoint_claims(folder: Path) -> list[tuple[int, dict]]:
    """(step, claim) of every readable checkpoint, newest first (corrupt ones: the loader
    passes over them and says so)."""
    out = []
    for path in sorted((folder / layout.CHECKPOINTS).glob(layout.checkpoint_glob("json")), reverse=True):
        try:
            digest, body = path.read_text().split("\n", 2)[:2]
            if hashlib.sha256(body.encode()).hexdigest() != digest:
                continue
            doc = json.loads(body)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        record = doc.get("payload", {}).get("record") if isinstance(doc, dict) else None
        if isinstance(doc.get("step"), int) and _valid(record):
            out.append((doc["step"], record))
    return out


def _valid(mark) -> bool:
    return (isinstance(mark, dict) and isinstance(mark.get("lines"), int) and mark["lines"] >= 0
            and isinstance(mark.get("sha256"), str))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def problem(folder: Path) -> str | None:
    """One line if the record is shorter than, or differs from, what a state was built from;
    None if it holds everything every claim says. record.json is read before the record, so a
    writer appending meanwhile cannot make a sound record look cut."""
    found = sorted(claims(folder), key=lambda c: -c[1]["lines"])
    if not found:
        return None
    s = scan(folder / RECORD)
    path = folder / RECORD
    intact = intact_lines(s, found)
    for where, c in found:
        if c["lines"] > s.count:
            where_lost = (f"cut after line {s.count}" if intact == s.count else
                          f"{c['lines'] - s.count} lost: cut after line {s.count}, or a gap after line "
                          f"{intact}, the last line a claim still vouches for")
            return (f"{path} holds {s.count} of the {c['lines']} evaluations {where} was built from "
                    f"({where_lost})")
        if s.digests[c["lines"]] != c["sha256"]:
            return (f"{path}: its first {c['lines']} lines are not those {where} was built from "
                    "(edited or replaced)")
    return None


def intact_lines(s: Scan, found: list[tuple[str, dict]]) -> int:
    """How many first lines of the record a claim still vouches for (the longest it matches)."""
    return max((c["lines"] for _, c in found if c["lines"] <= s.count and s.digests[c["lines"]] == c["sha256"]),
               default=0)


def check(folder: Path, *, resume: str | None = None) -> None:
    """Refuse a record that is not what its states were built from (one line); ``resume``:
    the command whose ``--repair`` recomputes what is missing."""
    why = problem(folder)
    if why is not None:
        hint = f"; `{resume} --repair` recomputes what is missing" if resume else ""
        raise UserError(why + hint)


# ----------------------------------------------------------------------------- --repair
def repair(folder: Path, warn, writer: RecordClaim) -> bool:
    """Go back to the newest state the remaining record covers. Lines lost (the record holds
    fewer than a claim: cut, or a gap in the middle) leave every complete line in place, each
    a whole evaluation, so only the missing ones are computed again; when a line was changed
    (no line lost, a digest differs), the record is cut back to the newest claim it still
    matches (the rest kept aside in ``evaluations.jsonl.repaired-N``). Checkpoints and
    outputs.json built from what is not there are removed; record.json then claims what stays.
    True if anything was repaired."""
    why = problem(folder)
    if why is None:
        return False
    path = folder / RECORD
    s = scan(path)
    keep = s.count
    found = claims(folder)
    lost = any(c["lines"] > s.count for _, c in found)
    if not lost:  # a line was changed: nothing after the newest claim it matches can be trusted
        keep = intact_lines(s, found)
        _cut_back(path, s, keep)
    removed = []
    for step, c in checkpoint_claims(folder):
        if c["lines"] > keep or s.digests[c["lines"]] != c["sha256"]:
            for suffix in ("json", "npz"):
                (folder / layout.CHECKPOINTS / layout.checkpoint(step, suffix)).unlink(missing_ok=True)
            removed.append(step)
    outputs = read_outputs(folder)
    stale = outputs is not None and (outputs[RECORD]["lines"] > keep
                                     or s.digests[outputs[RECORD]["lines"]] != outputs[RECORD]["sha256"])
    if stale:  # the outputs are written again once the missing evaluations are
        (folder / OUTPUTS).unlink()
    left = [step for step, _ in checkpoint_claims(folder)]
    writer.write_mark({"lines": keep, "sha256": s.digests[keep]})
    writer.forget()
    start = f"checkpoint {max(left)}" if left else "the start"
    warn(f"repairing {folder}: {why}; going back to {start}, keeping the {keep} evaluations it holds"
         + (f", {len(removed)} later checkpoint(s) removed" if removed else "")
         + (", its outputs to be written again" if stale else "")
         + "; only the missing evaluations are computed again")
    return True


def _cut_back(path: Path, s: Scan, keep: int) -> None:
    n = 1
    while path.with_name(f"{path.name}.repaired-{n}").exists():
        n += 1
    write_atomic(path.with_name(f"{path.name}.repaired-{n}"), path.read_bytes())
    write_atomic(path, b"".join(line + b"\n" for line in s.lines[:keep]))


def require_records(folder: Path, kind: str | None) -> None:
    """export and report need something recorded: a folder holding only run.json and
    config.json (a run killed before its first evaluation) is one line, not an empty table."""
    names = (layout.METRICS, layout.ERROR) if kind == "run" else (RECORD, layout.ERRORS)
    if not any((folder / n).is_file() and (folder / n).stat().st_size for n in names):
        raise UserError(f"{folder}: no evaluation recorded yet (no {' or '.join(names)}); "
                        "nothing to show until its run has finished one")
