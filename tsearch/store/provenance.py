"""Provenance of a run folder and the resume identity: what run.json says about a run, and
the rule that a folder is continued only under the config it started with.

    run.json       {"kind": "run" | "sweep" | "evolve" | "study", "format", "created", "command", "git_commit",
                    "python", "versions", "config_sha256", "config", ...}
    config.json    the resolved config (tsearch.config.config_to_dict); config.toml the same
                   as a file a command takes back
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import atomic
from ..atomic import FolderError, write_atomic
from ..config import Config, ConfigError, config_from_dict, config_to_dict, config_to_toml
from ..errors import UserError
from . import layout, lock
from .records import dumps, read_json, warn, write_json

KINDS = ("run", "sweep", "evolve", "study")  # study: made by tsearch study --replicates (runs/replicates.py)


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


def now() -> str:
    """The UTC time of a provenance entry, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_provenance(run_dir: Path, kind: str, config: Config, **extra: Any) -> None:
    """config.json, config.toml, then run.json (it commits the folder): everything needed to
    reproduce the run (config.toml is what a command takes back: ``tsearch KIND DIR/config.toml``),
    and the identity a resume checks (the config's hash and the config itself)."""
    resolved = config_to_dict(config)
    write_json(run_dir / layout.CONFIG, resolved)
    write_atomic(run_dir / layout.CONFIG_TOML, config_to_toml(config, kind=kind))
    write_json(run_dir / layout.RUN, {
        "kind": kind,
        "format": layout.FORMAT,
        "created": now(),
        "command": command_line(run_dir),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "versions": package_versions(),
        "config_sha256": config_hash(config),
        "config": resolved,
        **extra,
    })


def command_line(run_dir: str | Path) -> list[str]:
    """argv as typed (tsearch.store.lock.command_line), each absolute path written relative to
    the folder that holds ``run_dir``: a record says how the run was started, not where the
    machine keeps its files (``--out /data/exp1`` is kept as ``--out exp1``)."""
    base = Path(run_dir).resolve().parent
    return [_relative(arg, base) for arg in lock.command_line()]


def _relative(arg: str, base: Path) -> str:
    """``/a/b``, ``--out=/a/b`` and ``key=/a/b`` with the path relative to ``base``; any other
    argument as is."""
    head, sep, tail = ("", "", arg) if Path(arg).is_absolute() else arg.rpartition("=")
    if not Path(tail).is_absolute():
        return arg
    return f"{head}{sep}{Path(os.path.relpath(tail, base)).as_posix()}"


VERSIONED = ("tsearch", "torch", "numpy", "deap", "shapely", "ray", "moocore", "scipy", "scikit-learn", "click")


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


def read_provenance(run_dir: str | Path, kind: str | None = None) -> tuple[Path, dict, Config]:
    """An existing run folder: (path, run.json, config), or a one-line UserError. The folder
    is a closed world: a symlink, hard link or special file inside it is refused first."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"{path}: not a tsearch run folder (no such folder)")
    try:
        atomic.refuse_symlinks(path)
    except FolderError as exc:
        raise UserError(str(exc)) from None
    if not (path / layout.RUN).is_file() or not (path / layout.CONFIG).is_file():
        raise UserError(f"{path}: not a tsearch run folder (no run.json/config.json)")
    meta = read_json(path / layout.RUN)
    if not isinstance(meta, dict) or meta.get("kind") not in KINDS:
        found = meta.get("kind") if isinstance(meta, dict) else f"a JSON {type(meta).__name__}"
        raise UserError(f"{path / layout.RUN}: unknown run kind {found!r} (expected one of {', '.join(KINDS)})")
    if not isinstance(meta.get("format", 1), int) or meta.get("format", 1) > layout.FORMAT:
        raise UserError(f"{path / layout.RUN}: a run folder of format {meta['format']!r}, newer than this "
                        f"tsearch reads ({layout.FORMAT}); open it with the tsearch that made it")
    if kind is not None and meta["kind"] != kind:
        raise UserError(f"{path}: is a {meta['kind']!r} run, not a {kind!r} run")
    stored = read_json(path / layout.CONFIG)
    if not isinstance(stored, dict):
        raise UserError(f"{path / layout.CONFIG}: a JSON {type(stored).__name__}, not a config")
    try:
        config = config_from_dict(stored, source=str(path / layout.CONFIG))
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return path, meta, config


def config_hash(config: Config) -> str:
    return sha256(dumps(config_to_dict(config)).encode())


def identity_hash(config: Config | dict) -> str:
    """The hash that ties checkpoints to their run: the whole config except where it runs
    (the [executor] table may change between a run and its resume) and how long a search
    runs (search.generations grows when a search is extended)."""
    resolved = config_to_dict(config) if not isinstance(config, dict) else config
    kept = {k: v for k, v in resolved.items() if k not in MAY_CHANGE}
    kept["search"] = {k: v for k, v in kept.get("search", {}).items() if k != "generations"}
    return sha256(dumps(kept).encode())


MAY_CHANGE = ("executor",)  # tables a resume may change; their difference is stated, not refused
EXTENDABLE = ("search.generations",)  # keys an extension changes (RunFolder.extend, run.json notes it)


def first_difference(a: Config | dict, b: Config | dict, *, labels=("in the run", "given"),
                     ignore: tuple[str, ...] = ()) -> str | None:
    """The first dotted key (sorted) whose value differs, as 'key: A in the run, B given';
    keys under a table (or equal to a dotted key) of ``ignore`` are skipped."""
    def flat(d, prefix=""):
        for k, v in d.items():
            yield from (flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)])

    fa = dict(flat(a if isinstance(a, dict) else config_to_dict(a)))
    fb = dict(flat(b if isinstance(b, dict) else config_to_dict(b)))
    key = next((k for k in sorted(fa.keys() | fb.keys())
                if fa.get(k) != fb.get(k) and not any(k == i or k.startswith(f"{i}.") for i in ignore)),
               None)
    return None if key is None else f"{key}: {fa.get(key)!r} {labels[0]}, {fb.get(key)!r} {labels[1]}"


def check_identity(path: Path, meta: dict, config: Config) -> None:
    """config.json must be the config the run started with (run.json's hash): an edited one
    is refused naming its first difference; an edit of the [executor] table alone is
    stated in one line (a resume runs where the command line says)."""
    stored_hash = meta.get("config_sha256")
    if stored_hash == config_hash(config):
        return
    original = meta.get("config")
    if not isinstance(original, dict):  # a folder of an older tsearch: the hash alone
        raise UserError(f"{path / 'config.json'}: edited after the run started (its hash is not "
                        "run.json's config_sha256); restore it or start a new run")
    if stored_hash != sha256(dumps(original).encode()):
        raise UserError(f"{path / 'run.json'}: its config and config_sha256 disagree (edited); "
                        "restore it or start a new run")
    why = first_difference(original, config, labels=("when the run started", "in config.json"))
    if why is not None and why.split(".")[0] not in MAY_CHANGE:
        raise UserError(f"{path / 'config.json'}: edited after the run started ({why}); "
                        "restore it or start a new run")
    warn(f"{path / 'config.json'}: its [executor] table was edited ({why}); "
         "ignored: a resume runs where --executor/--address say (local without them)")
