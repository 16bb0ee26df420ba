"""Fitness cache: what the search knows of each training set it has trained on.

A noisy fitness is kept here, not in the evaluation: one evaluation is one training of one
model with one seed (seed index i of a set), and a set's entry aggregates its trainings,

    value = mean_i v_i        se = sd_i(v_i) / sqrt(m)        (m trainings with a finite v_i)

so a set trained again with a new seed regresses to its mean (tsearch.search.resample). The
cache is keyed by genome hash, by a hash of the evaluation config (target, model, training,
sampler, metrics, seed) and by fidelity (the fraction of train.steps of a multi-fidelity rung,
search/fidelity.py): an entry is only reused for the evaluation that produced it. It is
rebuilt from evaluations.jsonl on resume (tsearch.search.state), the first line of each
(set, seed index) winning. Failed evaluations are not cached: a system failure deserves
another try.

An entry: ``size``, ``step`` (generation of its first training), ``value``, ``se``, ``n``
(trainings with a finite value), ``trainings`` {seed index: {step, value, best_step}},
``best_step`` (of its first training) and ``metrics`` (each metric's mean over trainings).
"""

from __future__ import annotations

import math

import numpy as np

from ..atomic import to_jsonable


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

    def has(self, genome_hash: str, fidelity: float = 1.0, seed_index: int | None = None) -> bool:
        """Any training of the set (``seed_index`` None), or that one."""
        entry = self.get(genome_hash, fidelity)
        return entry is not None and (seed_index is None or str(seed_index) in entry["trainings"])

    def put(self, genome_hash: str, training: dict, fidelity: float = 1.0, seed_index: int = 0) -> None:
        """Add one training (tsearch.search.state.fitness_entry of its line); a training already
        known keeps its first value (a line repeated by a resumed run)."""
        training = to_jsonable(training)  # entries are strict JSON: NaN becomes None
        key = self.key(genome_hash, fidelity)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = {"size": training["size"], "step": training["step"],
                                         "best_step": training["best_step"], "trainings": {},
                                         "per_training_metrics": {}}
        if str(seed_index) in entry["trainings"]:
            return
        entry["trainings"][str(seed_index)] = {k: training[k] for k in ("step", "value", "best_step")}
        entry["per_training_metrics"][str(seed_index)] = training.get("metrics", {})
        entry["step"] = min(entry["step"], training["step"])
        _aggregate(entry)

    def done_before(self, genome_hash: str, step: int, fidelity: float = 1.0) -> int:
        """Trainings of the set recorded at a generation before ``step``."""
        entry = self.get(genome_hash, fidelity)
        return 0 if entry is None else sum(t["step"] < step for t in entry["trainings"].values())

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


def _aggregate(entry: dict) -> None:
    """The set's statistics over its trainings (see the module docstring)."""
    values = [t["value"] for t in entry["trainings"].values() if t["value"] is not None]
    entry["n"] = len(values)
    entry["value"] = float(np.mean(values)) if values else None
    entry["se"] = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) >= 2 else None
    metrics = list(entry["per_training_metrics"].values())
    names = sorted({k for m in metrics for k in m})
    entry["metrics"] = {k: _mean([m.get(k) for m in metrics]) for k in names}


def _mean(values: list) -> float | None:
    ok = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    return float(np.mean(ok)) if ok else None


