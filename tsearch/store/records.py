"""What a run folder records and how: strict JSON files and append-only JSON lines.

Records (``evaluations.jsonl``, ``errors.jsonl``, ``logbook.jsonl``, ``metrics.jsonl``) are
append-only JSON lines, each fsync'd: a line that is there is final. Every JSON file goes
through tsearch.atomic.to_jsonable (numpy values plain, NaN as null: strict JSON).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import atomic
from ..atomic import FolderError, to_jsonable, write_atomic
from ..errors import UserError
from ..tasks import EvalResult, ScoredStep
from . import layout

EVALUATIONS, ERRORS = layout.EVALUATIONS, layout.ERRORS


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), sort_keys=True, allow_nan=False)


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: unreadable JSON ({exc.__class__.__name__})") from None


def append_jsonl(path: str | Path, record: Any, *, root: str | Path | None = None) -> None:
    """Append one JSON line and fsync (tsearch.atomic.append_jsonl): a torn last line left by a
    killed writer is cut back and kept in ``<name>.torn-N`` first, and that is said on stderr."""
    try:
        repaired = atomic.append_jsonl(path, record, dumps=dumps, root=root)
    except FolderError as exc:
        raise UserError(str(exc)) from None
    if repaired:
        warn(repaired)


def read_jsonl(path: str | Path, *, root: str | Path | None = None) -> Iterator[dict]:
    """The records of a JSON-lines file (tsearch.atomic.read_jsonl): a torn last line is
    skipped, a malformed line anywhere else is a one-line UserError naming file and line."""
    try:
        yield from atomic.read_jsonl(path, root=root)
    except FolderError as exc:
        raise UserError(str(exc)) from None


@contextlib.contextmanager
def malformed(path: Path, what: str):
    """Files a user could edit (a checkpoint with its checksum recomputed, a record) must give
    one line, not a traceback, when a field is missing or of the wrong type."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise UserError(f"{path}: malformed {what} ({type(exc).__name__}: {str(exc)[:80]})") from None


def warn(message: str) -> None:
    """One line on stderr: what tsearch did to a folder without being asked (never silent)."""
    print(f"tsearch: warning: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- record lines
def scored_record(s: ScoredStep) -> dict:
    """One scored step: ``step``, every metric at top level, its interval, the loss, extras."""
    return {"step": s.step, **s.metrics, "intervals": s.intervals, "loss": s.loss, "extra": s.extra}


def result_record(result: EvalResult) -> dict:
    """An evaluation without its samples (those go to files) and without wall-clock noise
    mixed into the metrics: timings sit in their own field. ``checkpoints`` (the file's field
    name, kept for existing folders) lists the scored steps."""
    return {"task_id": result.task_id, "ok": result.ok, "error": result.error,
            "checkpoints": [scored_record(s) for s in result.scored],
            "n_params": result.n_params, "timings": result.timings,
            "peak_memory_mb": result.peak_memory_mb, "device": result.device, "form": result.form,
            "chunk_size": result.chunk_size,
            # stop at memorization (train.stop_when_copy): the scored steps never run
            "stopped_at": result.stopped_at, "skipped_steps": list(result.skipped_steps),
            # two-stage scoring (sampler.n_select): the chosen step, fresh full samples
            **({"selected": scored_record(result.selected)} if result.selected is not None else {})}


def steps_stem(genome_hash: str, seed_index: int = 0) -> str:
    """The packed samples file (without .npz) of training ``seed_index`` of an evolve set."""
    return layout.evolve_samples(genome_hash, seed_index, steps=True)
