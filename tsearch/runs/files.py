"""Run folders and the files in them: numbered folders, atomic writes, JSON lines, provenance.

A run folder is created only once its inputs have been validated, and every file users keep
is written atomically (temporary file, fsync, rename), so a crash never leaves half a file.
Layout common to every run kind:

    run.json       {"kind": "run" | "sweep" | "evolve", "created", "command", "git_commit", ...}
    config.json    the resolved config (tsearch.config.config_to_dict)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..atomic import write_atomic
from ..config import Config, ConfigError, config_from_dict, config_to_dict
from ..errors import UserError

RESULTS_DIR = Path("results")


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
    """Append one JSON line and fsync: a killed process loses at most the line being written."""
    with open(path, "a") as fh:
        fh.write(dumps(record) + "\n")
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
    """run.json and config.json: everything needed to reproduce the run from its folder."""
    write_json(run_dir / "config.json", config_to_dict(config))
    write_json(run_dir / "run.json", {
        "kind": kind,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "config_sha256": config_hash(config),
        **extra,
    })


def config_hash(config: Config) -> str:
    return sha256(dumps(config_to_dict(config)).encode())


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
