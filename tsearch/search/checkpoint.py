"""Checkpoints of a search: the whole state after every generation, loadable without code.

A checkpoint is two files in the checkpoint folder:

    ckpt-000007.npz    the genomes' element arrays, key "<genome hash>_<i>" (np.savez, no pickle)
    ckpt-000007.json   line 1: sha256 of line 2; line 2: {"format", "step", "npz": {file, sha256},
                       "genomes": {hash: number of elements}, "payload": the JSON state}

Each file is written atomically (temporary file, fsync, rename) and the .json last, so it
commits the checkpoint. Loading checks both checksums and every genome's hash; a truncated or
corrupted checkpoint is reported in one line and the previous one is used. Only the last
``keep`` checkpoints stay on disk.
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

from ..atomic import write_atomic
from .genomes import Genome

FORMAT = "tsearch-evolve-checkpoint/1"


@dataclass
class Checkpoint:
    step: int
    payload: dict
    genomes: dict[str, Genome]


class CorruptCheckpoint(Exception):
    pass


class CheckpointStore:
    def __init__(self, directory: str | Path, *, keep: int = 3):
        self.directory = Path(directory)
        self.keep = keep

    def save(self, step: int, payload: dict, genomes: Iterable[Genome]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        table, arrays = {}, {}
        for g in genomes:
            table[g.hash] = g.size
            arrays.update({f"{g.hash}_{i}": e for i, e in enumerate(g.elements)})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        name = f"ckpt-{step:06d}"
        write_atomic(self.directory / f"{name}.npz", buffer.getvalue())
        body = json.dumps({"format": FORMAT, "step": step, "genomes": table, "payload": payload,
                           "npz": {"file": f"{name}.npz", "sha256": _sha256(buffer.getvalue())}},
                          sort_keys=True, allow_nan=False)
        path = self.directory / f"{name}.json"
        write_atomic(path, f"{_sha256(body.encode())}\n{body}\n")
        self._prune()
        return path

    def load_latest(self) -> tuple[Checkpoint | None, list[str]]:
        """The newest valid checkpoint (None if there is none) and one line per corrupt one
        passed over."""
        problems = []
        for path in sorted(self.directory.glob("ckpt-*.json"), reverse=True):
            try:
                return load(path), problems
            except CorruptCheckpoint as exc:
                problems.append(f"checkpoint {path} is corrupt ({exc}); using the previous one")
        return None, problems

    def _prune(self) -> None:
        for old in sorted(self.directory.glob("ckpt-*.json"), reverse=True)[self.keep:]:
            old.with_suffix(".npz").unlink(missing_ok=True)
            old.unlink(missing_ok=True)


def load(path: Path) -> Checkpoint:
    """One checkpoint, every checksum verified; CorruptCheckpoint says what is wrong."""
    try:
        digest, body = path.read_text().split("\n", 2)[:2]
    except (OSError, UnicodeDecodeError, ValueError):
        raise CorruptCheckpoint("unreadable") from None
    if _sha256(body.encode()) != digest:
        raise CorruptCheckpoint("checksum mismatch: truncated or altered")
    doc = json.loads(body)
    if doc.get("format") != FORMAT:
        raise CorruptCheckpoint(f"unknown format {doc.get('format')!r}")
    return Checkpoint(doc["step"], doc["payload"], _load_genomes(path.parent, doc))


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
