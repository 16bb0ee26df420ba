"""Fitness cache: a training set the search has already evaluated is never evaluated again.

Keyed by genome hash, by a hash of the evaluation config (target, model, training,
sampler, metrics, seed) and by fidelity (the fraction of train.steps of a multi-fidelity rung,
search/fidelity.py): an entry is only reused for the evaluation that produced it. Entries
are plain JSON (the metrics of the best checkpoint), so the cache is part of every checkpoint.
Failed evaluations are not cached: a system failure deserves another try.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class FitnessCache:
    def __init__(self, eval_hash: str, entries: dict[str, dict] | None = None):
        self.eval_hash = eval_hash
        self.entries: dict[str, dict] = dict(entries or {})

    def key(self, genome_hash: str, fidelity: float = 1.0) -> str:
        """Full-budget entries keep their old keys; a rung's entry carries its fraction."""
        rung = "" if fidelity == 1.0 else f"@{fidelity:g}"
        return f"{self.eval_hash[:16]}:{genome_hash}{rung}"

    def get(self, genome_hash: str, fidelity: float = 1.0) -> dict | None:
        return self.entries.get(self.key(genome_hash, fidelity))

    def __contains__(self, genome_hash: str) -> bool:
        return self.key(genome_hash) in self.entries

    def has(self, genome_hash: str, fidelity: float = 1.0) -> bool:
        return self.key(genome_hash, fidelity) in self.entries

    def put(self, genome_hash: str, entry: dict, fidelity: float = 1.0) -> None:
        self.entries[self.key(genome_hash, fidelity)] = _finite(entry)

    def items(self):
        """(genome hash, entry) of every full-budget entry of this evaluation config."""
        prefix = f"{self.eval_hash[:16]}:"
        return [(k[len(prefix):], e) for k, e in self.entries.items()
                if k.startswith(prefix) and "@" not in k]

    def __len__(self) -> int:
        return len(self.entries)

    def state(self) -> dict:
        return {"eval_hash": self.eval_hash, "entries": self.entries}

    @classmethod
    def from_state(cls, state: dict) -> "FitnessCache":
        return cls(state["eval_hash"], state["entries"])


def _finite(value: Any) -> Any:
    """NaN and infinities become None: entries must be strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
