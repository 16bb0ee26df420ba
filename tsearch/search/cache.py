"""Fitness cache: a training set the search has already evaluated is never evaluated again.

Keyed by genome hash and by a hash of the evaluation config (target, model, training,
sampler, metrics, seed): an entry is only reused for the evaluation that produced it. Entries
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

    def key(self, genome_hash: str) -> str:
        return f"{self.eval_hash[:16]}:{genome_hash}"

    def get(self, genome_hash: str) -> dict | None:
        return self.entries.get(self.key(genome_hash))

    def __contains__(self, genome_hash: str) -> bool:
        return self.key(genome_hash) in self.entries

    def put(self, genome_hash: str, entry: dict) -> None:
        self.entries[self.key(genome_hash)] = _finite(entry)

    def items(self):
        """(genome hash, entry) of every entry of this evaluation config."""
        prefix = f"{self.eval_hash[:16]}:"
        return [(k[len(prefix):], e) for k, e in self.entries.items() if k.startswith(prefix)]

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
