"""The one recorder of run folders: layout, atomic writes, append-only records, resume check.

A run folder is created only once its inputs have been validated, and every file users keep
(.json, .npz, .png) is written atomically (temporary file, fsync, rename), so a crash never
leaves half a file. Records (``evaluations.jsonl``, ``errors.jsonl``, ``logbook.jsonl``,
``metrics.jsonl``) are append-only JSON lines, each fsync'd: a line that is there is final.
Layout common to every run kind:

    run.json       {"kind": "run" | "sweep" | "evolve", "created", "command", "git_commit", ...}
    config.json    the resolved config (tsearch.config.config_to_dict)

Drivers write through a :class:`RunFolder`; views only read (``RunFolder.open``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic
from ..config import Config, ConfigError, config_from_dict, config_to_dict, config_to_toml
from ..errors import UserError
from ..tasks import EvalResult, ScoredStep
from .grids import save_grid

RESULTS_DIR = Path("results")
EVALUATIONS, ERRORS = "evaluations.jsonl", "errors.jsonl"

def to_jsonable(value: Any) -> Any:
    """numpy scalars/arrays, tuples and NaN -> plain JSON (NaN becomes null)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


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


def append_jsonl(path: str | Path, record: Any) -> None:
    """Append one JSON line and fsync: a killed process loses at most the line being written.
    A torn last line (a killed writer) is ended first, so the new line stays whole."""
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        torn = fh.tell() > 0 and fh.seek(-1, os.SEEK_END) is not None and fh.read(1) != b"\n"
        fh.write((("\n" if torn else "") + dumps(record) + "\n").encode())
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The complete lines of a JSON-lines file; a torn last line (killed writer) is skipped."""
    path = Path(path)
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_commit() -> str | None:
    """The commit of the tsearch checkout this code runs from (None outside a git checkout)."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def new_run_dir(kind: str, name: str, out: str | Path | None = None) -> Path:
    """Create ``out`` (must not exist or be empty) or the next ``results/NNNNN-kind-name``."""
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError(f"{path}: already exists and is not empty (use --resume to continue a run)")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{path}: cannot create ({exc.strerror})") from None
        return path
    RESULTS_DIR.mkdir(exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or kind
    while True:
        numbers = [int(p.name[:5]) for p in RESULTS_DIR.iterdir() if p.name[:5].isdigit()]
        path = RESULTS_DIR / f"{max(numbers, default=-1) + 1:05d}-{kind}-{slug}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took this number: take the next
            continue


def write_provenance(run_dir: Path, kind: str, config: Config, **extra: Any) -> None:
    """run.json, config.json and config.toml: everything needed to reproduce the run from its
    folder (config.toml is what a command takes back: ``tsearch KIND DIR/config.toml``)."""
    write_json(run_dir / "config.json", config_to_dict(config))
    write_atomic(run_dir / "config.toml", config_to_toml(config, kind=kind))
    write_json(run_dir / "run.json", {
        "kind": kind,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "versions": package_versions(),
        "config_sha256": config_hash(config),
        **extra,
    })


def command_line() -> list[str]:
    """argv as typed: ``python -m tsearch`` runs tsearch/__main__.py, shown as ``tsearch``."""
    program = Path(sys.argv[0]).name
    return ["tsearch" if program == "__main__.py" else program, *sys.argv[1:]]


VERSIONED = ("tsearch", "torch", "numpy", "deap", "shapely", "ray", "moocore", "scipy", "click")


def package_versions() -> dict[str, str]:
    """The installed versions of python and the packages a result depends on (ray only where
    installed); read from package metadata, so nothing is imported."""
    versions = {"python": sys.version.split()[0]}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def open_run(run_dir: str | Path, kind: str | None = None) -> tuple[Path, dict, Config]:
    """An existing run folder: (path, run.json, config), or a one-line UserError."""
    path = Path(run_dir)
    if not (path / "run.json").is_file() or not (path / "config.json").is_file():
        raise UserError(f"{path}: not a tsearch run folder (no run.json/config.json)")
    meta = read_json(path / "run.json")
    if kind is not None and meta.get("kind") != kind:
        raise UserError(f"{path}: is a {meta.get('kind')!r} run, not a {kind!r} run")
    try:
        config = config_from_dict(read_json(path / "config.json"), source=str(path / "config.json"))
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return path, meta, config


def config_hash(config: Config) -> str:
    return sha256(dumps(config_to_dict(config)).encode())


def first_difference(a: Config, b: Config) -> str | None:
    """The first dotted key (sorted) whose value differs, as 'key: A in the run, B given'."""
    def flat(d, prefix=""):
        for k, v in d.items():
            yield from (flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)])

    fa, fb = dict(flat(config_to_dict(a))), dict(flat(config_to_dict(b)))
    key = next((k for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)), None)
    return None if key is None else f"{key}: {fa.get(key)!r} in the run, {fb.get(key)!r} given"


# ----------------------------------------------------------------------------- records
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
            "chunk_size": result.chunk_size}


# ----------------------------------------------------------------------------- the folder
@dataclasses.dataclass
class RunFolder:
    path: Path
    meta: dict  # run.json
    config: Config  # config.json

    @classmethod
    def create(cls, kind: str, name: str, config: Config, out: str | Path | None = None,
               **extra: Any) -> "RunFolder":
        """A new folder with run.json and config.json: call it once every input is valid."""
        path = new_run_dir(kind, name, out)
        write_provenance(path, kind, config, **extra)
        return cls.open(path, kind)

    @classmethod
    def open(cls, run_dir: str | Path, kind: str | None = None) -> "RunFolder":
        """An existing run folder, or a one-line UserError."""
        return cls(*open_run(run_dir, kind))

    def check_resumable(self, given: Config) -> None:
        """The one resume rule: ``given`` must be the run's config, except where it runs
        (the [executor] table); the first difference is named."""
        given = dataclasses.replace(given, executor=self.config.executor)
        if (why := first_difference(self.config, given)) is not None:
            raise UserError(f"{self.path}: belongs to a different config ({why}); "
                            "resume without CONFIG and --set, or with the run's own")

    def extend(self, config: Config, *, key: str) -> None:
        """The run continues under ``config``, which differs from its own by ``key`` alone (an
        extended search): config.json and config.toml are replaced, run.json notes the change."""
        before = first_difference(self.config, config)
        write_json(self.path / "config.json", config_to_dict(config))
        write_atomic(self.path / "config.toml", config_to_toml(config, kind=self.meta["kind"]))
        extended = [*self.meta.get("extended", []), {
            "key": key, "change": before, "command": command_line(),
            "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}]
        self.meta = {**self.meta, "config_sha256": config_hash(config), "extended": extended}
        write_json(self.path / "run.json", self.meta)
        self.config = config

    # -- files a user keeps, written atomically
    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.path / name, obj)

    def read_json(self, name: str) -> Any:
        return read_json(self.path / name)

    def write_npz(self, name: str, **arrays) -> None:
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        write_atomic(self.path / name, buffer.getvalue())

    def write_grid(self, name: str, images) -> None:
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        save_grid(self.path / name, images)

    # -- append-only records
    def append(self, name: str, record: Any) -> None:
        append_jsonl(self.path / name, record)

    def records(self, name: str, key: Callable[[dict], Any] | None = None) -> list[dict]:
        """The complete lines of a record; with ``key``, the first line of each key (a line
        repeated by a resumed run is read once)."""
        lines = list(read_jsonl(self.path / name))
        if key is None:
            return lines
        seen: dict[Any, dict] = {}
        for line in lines:
            seen.setdefault(key(line), line)
        return list(seen.values())

    def record(self, header: dict, result: EvalResult, *,
               samples: Mapping[str, ScoredStep | None] | None = None, train: str | None = None,
               grids: bool = True) -> bool:
        """One finished evaluation: sample files first (``samples``: file stem -> scored step,
        ``train``: stem of the training set), then its evaluations.jsonl line, so a listed
        evaluation is complete; a failure is an errors.jsonl line. True if it succeeded."""
        if not result.ok:
            self.append(ERRORS, {**header, "error": result.error})
            return False
        if train is not None:
            self.write_npz(f"{train}.npz", images=np.asarray(result.train_images, np.int8))
        for stem, scored in (samples or {}).items():
            if scored is not None and scored.samples is not None:
                self.write_npz(f"{stem}.npz", images=np.asarray(scored.samples, np.int8), step=scored.step)
                if grids:
                    self.write_grid(f"{stem}.png", scored.samples)
        self.append(EVALUATIONS, {**header, **result_record(result)})
        return True
