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

from .. import atomic
from ..atomic import FolderError, safe_path, to_jsonable, write_atomic
from ..config import Config, ConfigError, config_from_dict, config_to_dict, config_to_toml
from ..errors import UserError
from ..tasks import EvalResult, ScoredStep
from . import integrity, lock
from .grids import save_grid

RESULTS_DIR = Path("results")
ACTIVE: list[Path] = []  # the folder this process is writing: named in a fault's --resume line
EVALUATIONS, ERRORS = "evaluations.jsonl", "errors.jsonl"

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


def warn(message: str) -> None:
    """One line on stderr: what tsearch did to a folder without being asked (never silent)."""
    print(f"tsearch: warning: {message}", file=sys.stderr, flush=True)


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
        for attempt in range(2):  # checked again once locked: another writer may have started
            if path.is_dir() and not path.is_symlink() and unstarted(path):
                if attempt:
                    clear_unstarted(path)
            elif path.exists() and (not path.is_dir() or any(p.name != lock.LOCK_FILE for p in path.iterdir())):
                raise UserError(f"{path}: already exists and is not empty (use --resume to continue a run)")
            if attempt == 0:
                try:
                    path.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise UserError(f"{path}: cannot create ({exc.strerror})") from None
                lock.hold(path)
        return path
    RESULTS_DIR.mkdir(exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or kind
    while True:
        numbers = [int(p.name[:5]) for p in RESULTS_DIR.iterdir() if p.name[:5].isdigit()]
        path = RESULTS_DIR / f"{max(numbers, default=-1) + 1:05d}-{kind}-{slug}"
        try:
            path.mkdir()
            lock.hold(path)
            return path
        except FileExistsError:  # another process took this number: take the next
            continue


# What a start killed before run.json (written last: it commits the folder) can leave behind
UNSTARTED = {"config.json", lock.LOCK_FILE}


def unstarted(path: Path) -> bool:
    """A folder whose start was killed before run.json: only config.json and temporaries."""
    names = [p.name for p in path.iterdir() if p.name != lock.LOCK_FILE]
    return bool(names) and "run.json" not in names and all(
        n in UNSTARTED or atomic.TEMPORARY.match(n) for n in names)


def clear_unstarted(path: Path) -> None:
    warn(f"{path}: an earlier start was killed before writing run.json; starting afresh in it")
    for child in path.iterdir():
        if child.is_file() and not child.is_symlink() and child.name != lock.LOCK_FILE:
            child.unlink()


def write_provenance(run_dir: Path, kind: str, config: Config, **extra: Any) -> None:
    """config.json, config.toml, then run.json (it commits the folder): everything needed to
    reproduce the run (config.toml is what a command takes back: ``tsearch KIND DIR/config.toml``),
    and the identity a resume checks (the config's hash and the config itself)."""
    resolved = config_to_dict(config)
    write_json(run_dir / "config.json", resolved)
    write_atomic(run_dir / "config.toml", config_to_toml(config, kind=kind))
    write_json(run_dir / "run.json", {
        "kind": kind,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(run_dir),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "versions": package_versions(),
        "config_sha256": config_hash(config),
        "config": resolved,
        **extra,
    })


KINDS = ("run", "sweep", "evolve")


def command_line(run_dir: str | Path) -> list[str]:
    """argv as typed (tsearch.runs.lock.command_line), each absolute path written relative to
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
    """An existing run folder: (path, run.json, config), or a one-line UserError. The folder
    is a closed world: a symlink, hard link or special file inside it is refused first."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"{path}: not a tsearch run folder (no such folder)")
    try:
        atomic.refuse_symlinks(path)
    except FolderError as exc:
        raise UserError(str(exc)) from None
    if not (path / "run.json").is_file() or not (path / "config.json").is_file():
        raise UserError(f"{path}: not a tsearch run folder (no run.json/config.json)")
    meta = read_json(path / "run.json")
    if not isinstance(meta, dict) or meta.get("kind") not in KINDS:
        found = meta.get("kind") if isinstance(meta, dict) else f"a JSON {type(meta).__name__}"
        raise UserError(f"{path / 'run.json'}: unknown run kind {found!r} (expected one of {', '.join(KINDS)})")
    if kind is not None and meta["kind"] != kind:
        raise UserError(f"{path}: is a {meta['kind']!r} run, not a {kind!r} run")
    stored = read_json(path / "config.json")
    if not isinstance(stored, dict):
        raise UserError(f"{path / 'config.json'}: a JSON {type(stored).__name__}, not a config")
    try:
        config = config_from_dict(stored, source=str(path / "config.json"))
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
            "chunk_size": result.chunk_size,
            # stop at memorization (train.stop_when_copy): the scored steps never run
            "stopped_at": result.stopped_at, "skipped_steps": list(result.skipped_steps),
            # two-stage scoring (sampler.n_select): the chosen step, fresh full samples
            **({"selected": scored_record(result.selected)} if result.selected is not None else {})}


# ----------------------------------------------------------------------------- samples
def steps_stem(genome_hash: str, seed_index: int = 0) -> str:
    """The packed samples file (without .npz) of training ``seed_index`` of an evolve set."""
    return f"samples/{genome_hash[:16]}{f'-s{seed_index}' if seed_index else ''}_steps"


def pack_samples(result: EvalResult, *, seed: int) -> dict[str, np.ndarray]:
    """What re-scoring an evaluation needs (tsearch score DIR), as arrays of a compressed .npz:
    ``bits`` (S, M, B) uint8 = np.packbits of the white pixels of each sample (row-major, B =
    ceil(H W / 8)) at each of the S scored steps ``steps`` (S,); ``train_bits`` (n, B) the
    training set alike; ``shape`` (H, W); ``seed`` the task's seed (bootstrap resamples)."""
    kept = [s for s in result.scored if s.samples is not None]
    train = np.asarray(result.train_images) > 0
    return {"bits": np.stack([_bits(np.asarray(s.samples) > 0) for s in kept]),
            "steps": np.array([s.step for s in kept], np.int64),
            "train_bits": _bits(train), "shape": np.array(train.shape[1:], np.int64),
            "seed": np.array(seed, np.int64)}


def unpack_samples(arrays: Mapping[str, np.ndarray]) -> tuple[dict[int, np.ndarray], np.ndarray, int]:
    """{step: (M, H, W) float32 ±1}, the training set (n, H, W) ±1 and the seed of a
    pack_samples file."""
    h, w = (int(v) for v in arrays["shape"])
    samples = {int(step): _unbits(bits, h, w) for step, bits in zip(arrays["steps"], arrays["bits"])}
    return samples, _unbits(arrays["train_bits"], h, w), int(arrays["seed"])


def _bits(white: np.ndarray) -> np.ndarray:
    return np.packbits(white.reshape(len(white), -1), axis=1)


def _unbits(bits: np.ndarray, h: int, w: int) -> np.ndarray:
    white = np.unpackbits(bits, axis=1, count=h * w).reshape(len(bits), h, w)
    return np.where(white > 0, 1.0, -1.0).astype(np.float32)


# ----------------------------------------------------------------------------- the folder
@dataclasses.dataclass
class RunFolder:
    path: Path
    meta: dict  # run.json
    config: Config  # config.json
    repaired: bool = False  # resumed with --repair (tsearch.runs.integrity.repair)

    @classmethod
    def create(cls, kind: str, name: str, config: Config, out: str | Path | None = None,
               **extra: Any) -> "RunFolder":
        """A new folder with run.json and config.json: call it once every input is valid."""
        path = new_run_dir(kind, name, out)
        ACTIVE[:] = [path]  # a fault from here on names this folder in its --resume line
        write_provenance(path, kind, config, **extra)
        return cls.open(path, kind)

    @classmethod
    def open(cls, run_dir: str | Path, kind: str | None = None) -> "RunFolder":
        """An existing run folder, or a one-line UserError."""
        return cls(*open_run(run_dir, kind))

    @classmethod
    def read(cls, run_dir: str | Path, kind: str | None = None) -> "RunFolder":
        """An existing run folder to read (export, report, status): its record must hold all
        that its states were built from (tsearch.runs.integrity), else a one-line UserError."""
        folder = cls.open(run_dir, kind)
        integrity.check(folder.path)
        return folder

    @classmethod
    def resume(cls, run_dir: str | Path, kind: str, *, repair: bool = False) -> "RunFolder":
        """A folder to continue: locked (one writer), closed (no symlink inside), its
        temporaries of a killed write removed, config.json the run's own (check_identity), its
        record all that its states were built from (tsearch.runs.integrity; ``repair``: go
        back to the newest state the record covers instead of refusing). A folder whose start
        was killed before run.json is started from its config.json."""
        path = Path(run_dir)
        if path.is_dir() and not path.is_symlink() and not (path / "run.json").exists() \
                and (path / "config.json").is_file() and unstarted(path):
            lock.hold(path)
            return cls._start_unstarted(path, kind)
        folder = cls.open(path, kind)
        lock.hold(folder.path, quiet=True)  # one writer: a second one stops here, before any change
        removed = atomic.clean_stale_temporaries(folder.path)
        if removed:
            warn(f"{folder.path}: removed {len(removed)} temporary file(s) of an interrupted write")
        check_identity(folder.path, folder.meta, folder.config)
        integrity.forget(folder.path)
        folder.repaired = repair and integrity.repair(folder.path, warn)
        if not folder.repaired:
            integrity.check(folder.path, resume=f"tsearch {kind} --resume {folder.path}")
        lock.announce()  # a dead writer's lock taken over: said once the folder is accepted
        ACTIVE[:] = [folder.path]
        return folder

    @classmethod
    def _start_unstarted(cls, path: Path, kind: str) -> "RunFolder":
        atomic.clean_stale_temporaries(path)
        config_dict = read_json(path / "config.json")
        try:
            config = config_from_dict(config_dict, source=str(path / "config.json"))
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        warn(f"{path}: killed before its run.json was written; starting the {kind} from its config.json")
        write_provenance(path, kind, config)
        ACTIVE[:] = [path]
        return cls.open(path, kind)

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
            "key": key, "change": before, "command": command_line(self.path),
            "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}]
        self.meta = {**self.meta, "config_sha256": config_hash(config), "config": config_to_dict(config),
                     "extended": extended}
        write_json(self.path / "run.json", self.meta)
        self.config = config

    # -- files a user keeps, written atomically
    def inside(self, name: str) -> Path:
        """``path / name``, checked to stay inside the folder (no symlink on the way)."""
        try:
            return safe_path(self.path, name)
        except FolderError as exc:
            raise UserError(str(exc)) from None

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.inside(name), obj)

    def read_json(self, name: str) -> Any:
        return read_json(self.inside(name))

    def write_npz(self, name: str, **arrays) -> None:
        self.inside(name).parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        write_atomic(self.inside(name), buffer.getvalue())

    def write_grid(self, name: str, images) -> None:
        self.inside(name).parent.mkdir(parents=True, exist_ok=True)
        save_grid(self.inside(name), images)

    def delete(self, name: str) -> None:
        """Remove a file of the folder (never through a symlink, never outside)."""
        self.inside(name).unlink(missing_ok=True)

    # -- append-only records
    def append(self, name: str, record: Any) -> None:
        append_jsonl(self.inside(name), record, root=self.path)
        if name == EVALUATIONS:  # what the record holds now (tsearch.runs.integrity)
            integrity.appended(self.path, dumps(record))

    def records(self, name: str, key: Callable[[dict], Any] | None = None) -> list[dict]:
        """The complete lines of a record; with ``key``, the first line of each key (a line
        repeated by a resumed run is read once)."""
        lines = list(read_jsonl(self.inside(name), root=self.path))
        if key is None:
            return lines
        seen: dict[Any, dict] = {}
        for line in lines:
            seen.setdefault(key(line), line)
        return list(seen.values())

    def record(self, header: dict, result: EvalResult, *,
               samples: Mapping[str, ScoredStep | None] | None = None, train: str | None = None,
               grids: bool = True, all_steps: tuple[str, int] | None = None) -> bool:
        """One finished evaluation: sample files first (``samples``: file stem -> scored step,
        ``train``: stem of the training set, ``all_steps``: (file stem, task seed) of the
        pack_samples file of every scored step), then its evaluations.jsonl line, so a listed
        evaluation is complete; a failure is an errors.jsonl line. True if it succeeded."""
        if not result.ok:
            self.append(ERRORS, {**header, "error": result.error})
            return False
        if all_steps is not None and any(s.samples is not None for s in result.scored):
            self.write_npz(f"{all_steps[0]}.npz", **pack_samples(result, seed=all_steps[1]))
        if train is not None:
            self.write_npz(f"{train}.npz", images=np.asarray(result.train_images, np.int8))
        for stem, scored in (samples or {}).items():
            if scored is not None and scored.samples is not None:
                self.write_npz(f"{stem}.npz", images=np.asarray(scored.samples, np.int8), step=scored.step)
                if grids:
                    self.write_grid(f"{stem}.png", scored.samples)
        self.append(EVALUATIONS, {**header, **result_record(result)})
        return True
