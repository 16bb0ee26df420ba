"""Checkpoints of a search: the whole state after every generation, loadable without code.

A checkpoint is two files in the checkpoint folder:

    ckpt-000007.npz    the genomes' element arrays, key "<genome hash>_<i>" (np.savez, no pickle)
    ckpt-000007.json   line 1: sha256 of line 2; line 2: {"format", "step", "npz": {file, sha256},
                       "genomes": {hash: number of elements}, "payload": the JSON state,
                       "config_sha256": the run's full config hash, "config": the config}

Each file is written atomically (temporary file, fsync, rename) and the .json last, so it
commits the checkpoint. Loading removes the temporaries of a killed write, checks both
checksums, the document's structure and every genome's hash; a truncated, corrupted or
malformed checkpoint is reported in one line and the previous one is used. A checkpoint whose
config hash is not the run's (another run's, or the config was edited) is refused outright:
``ForeignCheckpoint`` carries its stored config for the driver to name the first difference.
Only the last ``keep`` checkpoints stay on disk; pruning goes by step number over every file,
so a kill during pruning leaves nothing that the next save does not prune.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import clean_stale_temporaries, write_atomic
from ..search.genomes import Genome
from . import layout

FORMAT = "tsearch-evolve-checkpoint/1"
CHECKPOINT_FILE = layout.CHECKPOINT_FILE


@dataclass
class Checkpoint:
    step: int
    payload: dict
    genomes: dict[str, Genome]


class CorruptCheckpoint(Exception):
    pass


class ForeignCheckpoint(Exception):
    """A sound checkpoint whose config hash is not the run's. ``str(exc)`` is one line;
    ``stored_config`` (None if not stored) lets the driver name the first difference."""

    def __init__(self, path: Path, stored_hash: str | None, stored_config: dict | None):
        self.path, self.stored_hash, self.stored_config = path, stored_hash, stored_config
        what = (f"was written for config {stored_hash[:12]}" if stored_hash else
                "stores no config hash (written by an older tsearch)")
        super().__init__(f"{path}: {what}, not this run's config")


class CheckpointStore:
    def __init__(self, directory: str | Path, *, keep: int = 3):
        self.directory = Path(directory)
        self.keep = keep

    def save(self, step: int, payload: dict, genomes: Iterable[Genome], *,
             config_hash: str | None = None, config: dict | None = None) -> Path:
        """Write checkpoint ``step``; ``config_hash`` (and the ``config`` it hashes, so that a
        refusal can name the first difference) identify the run it belongs to."""
        self.directory.mkdir(parents=True, exist_ok=True)
        table, arrays = {}, {}
        for g in genomes:
            table[g.hash] = g.size
            arrays.update({f"{g.hash}_{i}": e for i, e in enumerate(g.elements)})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        name = layout.checkpoint_stem(step)
        write_atomic(self.directory / f"{name}.npz", buffer.getvalue())
        body = json.dumps({"format": FORMAT, "step": step, "genomes": table, "payload": payload,
                           "npz": {"file": f"{name}.npz", "sha256": _sha256(buffer.getvalue())},
                           "config_sha256": config_hash, "config": config},
                          sort_keys=True, allow_nan=False)
        path = self.directory / f"{name}.json"
        write_atomic(path, f"{_sha256(body.encode())}\n{body}\n")
        self._prune()
        return path

    def load_latest(self, *, config_hash: str | None = None) -> tuple[Checkpoint | None, list[str]]:
        """The newest valid checkpoint (None if there is none) and one line per corrupt one
        passed over. With ``config_hash``, every readable checkpoint must carry it:
        :class:`ForeignCheckpoint` otherwise (checked before any is used)."""
        clean_stale_temporaries(self.directory)
        paths = sorted(self._steps("json").values(), reverse=True)
        if config_hash is not None:
            for path in paths:
                _check_identity(path, config_hash)
        problems = []
        for path in paths:
            try:
                return load(path), problems
            except CorruptCheckpoint as exc:
                problems.append(f"checkpoint {path} is corrupt ({exc}); using the previous one")
        return None, problems

    def _steps(self, suffix: str) -> dict[int, Path]:
        """step -> path of the checkpoint files with ``suffix`` (json or npz)."""
        found = {}
        for path in self.directory.glob(layout.checkpoint_glob(suffix)):
            match = CHECKPOINT_FILE.match(path.name)
            if match:
                found[int(match[1])] = path
        return found

    def _prune(self) -> None:
        """Keep the newest ``keep`` committed steps; delete every file of an older step. The
        .json goes first (it commits a checkpoint), so a kill in between leaves an orphan
        .npz, which the step rule deletes next time."""
        kept = sorted(self._steps("json"), reverse=True)[:self.keep]
        if not kept:
            return
        for suffix in ("json", "npz"):
            for step, path in self._steps(suffix).items():
                if step < kept[-1]:
                    path.unlink(missing_ok=True)


def load(path: Path) -> Checkpoint:
    """One checkpoint, every checksum and its structure verified; CorruptCheckpoint says what
    is wrong."""
    doc = _document(path)
    return Checkpoint(doc["step"], doc["payload"], _load_genomes(path.parent, doc))


def _document(path: Path) -> dict:
    """The checked JSON document of a checkpoint: checksum, format and the type of every key
    (an edit with its checksum recomputed must not reach the driver as a KeyError)."""
    try:
        digest, body = path.read_text().split("\n", 2)[:2]
    except (OSError, UnicodeDecodeError, ValueError):
        raise CorruptCheckpoint("unreadable") from None
    if _sha256(body.encode()) != digest:
        raise CorruptCheckpoint("checksum mismatch: truncated or altered")
    try:
        doc = json.loads(body)
    except ValueError:
        raise CorruptCheckpoint("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptCheckpoint(f"unknown format {doc.get('format') if isinstance(doc, dict) else doc!r}")
    _check_structure(doc, path)
    return doc


EXPECTED = {"step": int, "payload": dict, "genomes": dict, "npz": dict}


def _check_structure(doc: dict, path: Path) -> None:
    for key, kind in EXPECTED.items():
        if not isinstance(doc.get(key), kind) or isinstance(doc.get(key), bool):
            raise CorruptCheckpoint(f"key {key!r} missing or not a {kind.__name__}")
    if layout.checkpoint(doc["step"], "json") != path.name:
        raise CorruptCheckpoint(f"step {doc['step']} does not match the file name")
    # the .npz must be this checkpoint's own, never a path elsewhere
    if doc["npz"].get("file") != path.with_suffix(".npz").name or not isinstance(doc["npz"].get("sha256"), str):
        raise CorruptCheckpoint("its 'npz' entry does not name its own .npz file and checksum")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in doc["genomes"].values()):
        raise CorruptCheckpoint("'genomes' must map hashes to element counts")
    for key in ("config_sha256",):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise CorruptCheckpoint(f"key {key!r} is not a string")


def _check_identity(path: Path, config_hash: str) -> None:
    """Raise ForeignCheckpoint if the readable checkpoint at ``path`` is not this run's
    (a corrupt one is left to load_latest, which passes over it)."""
    try:
        doc = _document(path)
    except CorruptCheckpoint:
        return
    if doc.get("config_sha256") != config_hash:
        stored = doc.get("config")
        raise ForeignCheckpoint(path, doc.get("config_sha256"), stored if isinstance(stored, dict) else None)


def _load_genomes(directory: Path, doc: dict) -> dict[str, Genome]:
    try:
        raw = (directory / doc["npz"]["file"]).read_bytes()
    except OSError:
        raise CorruptCheckpoint(f"missing {doc['npz']['file']}") from None
    if _sha256(raw) != doc["npz"]["sha256"]:
        raise CorruptCheckpoint(f"{doc['npz']['file']}: checksum mismatch")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
            genomes = {h: Genome(arrays[f"{h}_{i}"] for i in range(n)) for h, n in doc["genomes"].items()}
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise CorruptCheckpoint(f"{doc['npz']['file']}: {exc.__class__.__name__}") from None
    for h, g in genomes.items():
        if g.hash != h:
            raise CorruptCheckpoint(f"genome {h[:12]} does not match its hash")
    return genomes


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
