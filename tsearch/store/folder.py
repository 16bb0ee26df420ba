"""The one recorder of run folders: creating, opening and resuming them, and writing into them.

A run folder is created only once its inputs have been validated, and every file users keep
(.json, .npz, .png) is written atomically (temporary file, fsync, rename), so a crash never
leaves half a file. What the folder records: tsearch.store.records; what run.json says and the
resume identity: tsearch.store.provenance; its images: tsearch.store.images.

Drivers write through a :class:`RunFolder`; views only read (``RunFolder.open``).
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..atomic import FolderError, safe_path, write_atomic
from ..config import Config, ConfigError, config_from_dict, config_to_dict, config_to_toml
from ..errors import UserError
from ..tasks import EvalResult, ScoredStep
from . import integrity, layout
from .images import pack_samples, save_grid
from .lock import FolderLock
from .provenance import (
    check_identity,
    command_line,
    config_hash,
    first_difference,
    now,
    read_provenance,
    write_provenance,
)
from .records import ERRORS, EVALUATIONS, append_jsonl, dumps, read_json, read_jsonl, result_record, warn, write_json

RESULTS_DIR = Path("results")
ACTIVE: list[Path] = []  # the folder this process is writing: named in a fault's --resume line


NAME_MAX, PATH_MAX = 255, 4096  # bytes, Linux's (and most file systems')


def check_path_length(path: Path, what: str) -> None:
    """A path the file system cannot hold is one line naming it, not an OSError later."""
    longest = max((len(part.encode()) for part in path.parts), default=0)
    if longest > NAME_MAX or len(str(path).encode()) > PATH_MAX:
        raise UserError(f"{what} {str(path)[:60]}...: a name of {longest} bytes or a path of "
                        f"{len(str(path).encode())}; file systems allow {NAME_MAX} per name and {PATH_MAX} in all")


def new_run_dir(kind: str, name: str, out: str | Path | None = None) -> tuple[Path, FolderLock]:
    """Create ``out`` (must not exist or be empty) or the next ``results/NNNNN-kind-name``; the
    folder comes locked (its lock is handed to the RunFolder that writes it)."""
    if out is not None:
        path = Path(out)
        check_path_length(path, "--out")
        held = FolderLock(path)
        for attempt in range(2):  # checked again once locked: another writer may have started
            if path.is_dir() and not path.is_symlink() and unstarted(path):
                if attempt:
                    clear_unstarted(path)
            elif path.exists() and (not path.is_dir() or any(p.name != layout.LOCK for p in path.iterdir())):
                held.release()
                raise UserError(f"{path}: already exists and is not empty (use --resume to continue a run)")
            if attempt == 0:
                try:
                    path.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise UserError(f"{path}: cannot create ({exc.strerror})") from None
                held.take()
        return path, held
    RESULTS_DIR.mkdir(exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or kind
    while True:
        numbers = [int(p.name[:5]) for p in RESULTS_DIR.iterdir() if p.name[:5].isdigit()]
        path = RESULTS_DIR / f"{max(numbers, default=-1) + 1:05d}-{kind}-{slug}"
        try:
            path.mkdir()
            held = FolderLock(path)
            held.take()
            return path, held
        except FileExistsError:  # another process took this number: take the next
            continue


# What a start killed before run.json (written last: it commits the folder) can leave behind
UNSTARTED = {layout.CONFIG, layout.LOCK}


def unstarted(path: Path) -> bool:
    """A folder whose start was killed before run.json: only config.json and temporaries."""
    names = [p.name for p in path.iterdir() if p.name != layout.LOCK]
    return bool(names) and layout.RUN not in names and all(
        n in UNSTARTED or atomic.TEMPORARY.match(n) for n in names)


def clear_unstarted(path: Path) -> None:
    warn(f"{path}: an earlier start was killed before writing run.json; starting afresh in it")
    for child in path.iterdir():
        if child.is_file() and not child.is_symlink() and child.name != layout.LOCK:
            child.unlink()


# ----------------------------------------------------------------------------- the folder
@dataclasses.dataclass
class RunFolder:
    """A run folder, and the one way to read or write it. What it guarantees:

    - **Atomic files.** Every file users keep (.json, .npz, .png) is written to a temporary
      file, fsynced and renamed: a crash never leaves half a file (tsearch.atomic).
    - **Append-only records.** evaluations.jsonl, logbook.jsonl, metrics.jsonl only grow, a
      line at a time; a torn last line is trimmed by the next append (store.records).
    - **One writer.** A folder is written by one RunFolder of one process, which holds its lock
      (``lock``, store.lock) from ``create`` or ``resume`` until the command ends
      (``with folder:``); a second writer is refused with one line naming the holder.
    - **Integrity.** The writer's claim on its record (``claim``, store.integrity) is in
      record.json after every line, in each checkpoint and in outputs.json: a record cut
      short is refused, never read as a smaller run.
    - **Identity.** config.json is the run's identity: a resume under another config is refused,
      naming the first difference (store.provenance); run.json says how the folder was made.

    Files are named by store.layout only. A command resolves ``str | Path | RunFolder`` once at
    its edge (:func:`as_folder`) and hands the object on; it never reopens what it holds.
    """

    path: Path
    meta: dict  # run.json
    config: Config  # config.json
    repaired: bool = False  # resumed with --repair (tsearch.store.integrity.repair)
    lock: FolderLock = dataclasses.field(init=False, repr=False, compare=False)
    claim: integrity.RecordClaim = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.lock = FolderLock(self.path)
        self.claim = integrity.RecordClaim(self.path)

    @classmethod
    def create(cls, kind: str, name: str, config: Config, out: str | Path | None = None,
               **extra: Any) -> "RunFolder":
        """A new folder with run.json and config.json, locked: call it once every input is
        valid, and release it when the command ends (``with folder:``)."""
        path, held = new_run_dir(kind, name, out)

        def start() -> RunFolder:
            ACTIVE[:] = [path]  # a fault from here on names this folder in its --resume line
            write_provenance(path, kind, config, **extra)
            return cls.open(path, kind)

        return _handed(held, start)

    @classmethod
    def open(cls, run_dir: str | Path, kind: str | None = None) -> "RunFolder":
        """An existing run folder, or a one-line UserError."""
        return cls(*read_provenance(run_dir, kind))

    @classmethod
    def read(cls, run_dir: str | Path, kind: str | None = None) -> "RunFolder":
        """An existing run folder to read (export, report, status): its record must hold all
        that its states were built from (tsearch.store.integrity), else a one-line UserError."""
        folder = cls.open(run_dir, kind)
        integrity.check(folder.path)
        return folder

    @classmethod
    def resume(cls, run_dir: str | Path, kind: str, *, repair: bool = False) -> "RunFolder":
        """A folder to continue: locked (one writer), closed (no symlink inside), its
        temporaries of a killed write removed, config.json the run's own (check_identity), its
        record all that its states were built from (tsearch.store.integrity; ``repair``: go
        back to the newest state the record covers instead of refusing). A folder whose start
        was killed before run.json is started from its config.json."""
        path = Path(run_dir)
        if path.is_dir() and not path.is_symlink() and not (path / layout.RUN).exists() \
                and (path / layout.CONFIG).is_file() and unstarted(path):
            held = FolderLock(path)
            held.take()
            return _handed(held, lambda: cls._start_unstarted(path, kind))
        folder = cls.open(path, kind)
        folder.hold(quiet=True)  # one writer: a second one stops here, before any change
        try:
            removed = atomic.clean_stale_temporaries(folder.path)
            if removed:
                warn(f"{folder.path}: removed {len(removed)} temporary file(s) of an interrupted write")
            check_identity(folder.path, folder.meta, folder.config)
            folder.repaired = repair and integrity.repair(folder.path, warn, folder.claim)
            if not folder.repaired:
                integrity.check(folder.path, resume=f"tsearch {kind} --resume {folder.path}")
        except BaseException:
            folder.release()
            raise
        folder.lock.announce()  # a dead writer's lock taken over: said once the folder is accepted
        ACTIVE[:] = [folder.path]
        return folder

    # -- the writer's lock: held from create or resume until the command ends
    def hold(self, *, quiet: bool = False) -> None:
        """Take the folder's lock, to write a folder opened to read (tsearch report DIR)."""
        self.lock.take(quiet=quiet)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    @classmethod
    def _start_unstarted(cls, path: Path, kind: str) -> "RunFolder":
        atomic.clean_stale_temporaries(path)
        config_dict = read_json(path / layout.CONFIG)
        try:
            config = config_from_dict(config_dict, source=str(path / layout.CONFIG))
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        warn(f"{path}: killed before its run.json was written; starting the {kind} from its config.json")
        write_provenance(path, kind, config)
        ACTIVE[:] = [path]
        return cls.open(path, kind)

    def check_resumable(self, given: Config) -> None:
        """The one resume rule: ``given`` must be the run's config, except where it runs
        (the [executor] table); the first difference is named. A given ``engine.bf16 = auto``
        means the precision the run pinned when it started."""
        given = dataclasses.replace(given, executor=self.config.executor)
        if given.engine.bf16 == "auto":
            given = dataclasses.replace(given, engine=dataclasses.replace(
                given.engine, bf16=self.config.engine.bf16))
        if (why := first_difference(self.config, given)) is not None:
            raise UserError(f"{self.path}: belongs to a different config ({why}); "
                            "resume without CONFIG and --set, or with the run's own")

    def extend(self, config: Config, *, key: str) -> None:
        """The run continues under ``config``, which differs from its own by ``key`` alone (an
        extended search): config.json and config.toml are replaced, run.json notes the change."""
        before = first_difference(self.config, config)
        write_json(self.path / layout.CONFIG, config_to_dict(config))
        write_atomic(self.path / layout.CONFIG_TOML, config_to_toml(config, kind=self.meta["kind"]))
        extended = [*self.meta.get("extended", []), {
            "key": key, "change": before, "command": command_line(self.path),
            "at": now()}]
        self.meta = {**self.meta, "config_sha256": config_hash(config), "config": config_to_dict(config),
                     "extended": extended}
        write_json(self.path / layout.RUN, self.meta)
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
        if name == EVALUATIONS:  # what the record holds now (tsearch.store.integrity)
            self.claim.appended(dumps(record))

    def write_outputs(self, **plan) -> None:
        """outputs.json, written last: the outputs are complete and rest on this much of the
        record (store.integrity)."""
        self.claim.write_outputs(**plan)

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


def _handed(held: FolderLock, make: Callable[[], RunFolder]) -> RunFolder:
    """The folder ``make`` opens, holding the lock ``held`` took for it; released if it fails."""
    try:
        folder = make()
    except BaseException:
        held.release()
        raise
    folder.lock = held
    return folder


def as_folder(run: "str | Path | RunFolder", kind: str | None = None) -> RunFolder:
    """The edge of a command: a RunFolder as given, or the folder at that path opened."""
    return run if isinstance(run, RunFolder) else RunFolder.open(run, kind)
