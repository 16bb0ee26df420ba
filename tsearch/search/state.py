"""The state of a search run, and what of it a checkpoint keeps.

    strategies  phase name -> strategy (RNG state, population, archive): in every checkpoint;
                phases in order: baseline, search, control (tsearch.search.control)
    cache       genome hash -> fitness entry: rebuilt from evaluations.jsonl on load
    logbook     one entry per generation: rebuilt from logbook.jsonl on load

evaluations.jsonl is the record of a search (one line per finished evaluation: one training of
one set with one seed, fsync'd); a checkpoint holds only what cannot be rebuilt from it. A
training's fitness is read at its fitness record (tsearch.tasks.fitness_record), so an
evaluation read back from the record and one just finished give the same entry; a set's entry
aggregates its trainings (tsearch.search.cache).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..config import Config, SearchConfig, config_to_dict
from ..tasks import fitness_record
from .cache import FitnessCache
from .control import build_control, control_from_state
from .genomes import Genome
from .screening import attach as attach_screener
from .strategies import Strategy, build_baseline, build_strategy, strategy_from_state

EVALUATED_TABLES = ("target", "model", "diffusion", "train", "sampler", "metrics")
PHASES = ("baseline", "search", "control")  # the order in which a search runs its strategies
NOT_METRICS = ("step", "intervals", "loss", "extra")  # the other fields of a scored-step record


def eval_hash(config: Config) -> str:
    """What an evaluation's numbers depend on, besides the genome: the fitness cache key."""
    parts = {t: config_to_dict(getattr(config, t)) for t in EVALUATED_TABLES}
    text = json.dumps({**parts, "seed": config.run.seed}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def fitness_entry(line: dict, metric: str) -> dict:
    """The cache's record of one training: its evaluations.jsonl line (``step``, ``size``,
    ``checkpoints``) read at its fitness record (tsearch.tasks.fitness_record)."""
    best = fitness_record(line, metric)
    return {"size": line["size"], "step": line["step"],
            "value": None if best is None else best[metric],
            "best_step": None if best is None else best["step"],
            "metrics": {} if best is None else {k: v for k, v in best.items() if k not in NOT_METRICS}}


@dataclass
class SearchState:
    strategies: dict[str, Strategy]  # phase name -> strategy, in phase order
    cache: FitnessCache
    logbook: list[dict]

    @classmethod
    def fresh(cls, config: Config, target, rng_of: Callable[[str], np.random.Generator]) -> "SearchState":
        """New strategies; ``rng_of(phase)`` is the phase's generator (the driver derives it
        from the run seed with tsearch.seeding.numpy_rng)."""
        s = config.search
        strategies = {}
        if s.baseline_per_size:
            strategies["baseline"] = build_baseline(s, target, rng_of("baseline"))
        strategies["search"] = build_strategy(s, target, rng_of("search"))
        if s.strategy != "random" and s.control == "random_search":
            strategies["control"] = build_control(s, target, rng_of("control"))
        attach_screener(strategies, s, target)
        return cls(strategies, FitnessCache(eval_hash(config)), [])

    def payload(self) -> dict:
        """A checkpoint's JSON: the strategies, and the evaluation config they belong to."""
        return {"strategies": {k: s.state() for k, s in self.strategies.items()},
                "eval_hash": self.cache.eval_hash}

    def genomes(self) -> list[Genome]:
        return [g for s in self.strategies.values() for g in s.genomes()]

    @classmethod
    def restore(cls, payload: dict, genomes: dict, cfg: SearchConfig, target) -> "SearchState":
        """The strategies of a checkpoint, with an empty cache and logbook (see :meth:`replay`)."""
        saved = payload["strategies"]  # JSON with sorted keys: put back in phase order
        strategies = {k: (control_from_state if saved[k]["kind"] == "control" else strategy_from_state)(
                          saved[k], cfg=cfg, target=target, genomes=genomes)
                      for k in sorted(saved, key=PHASES.index)}
        attach_screener(strategies, cfg, target)
        # checkpoints written before the record became the source of truth kept a whole cache
        hash_ = payload["eval_hash"] if "eval_hash" in payload else payload["cache"]["eval_hash"]
        return cls(strategies, FitnessCache(hash_), [])

    def replay(self, evaluations: Iterable[dict], logbook: Iterable[dict], generations: int,
               metric: str) -> None:
        """Rebuild the cache from the search's evaluation lines (the first line of a genome
        wins; an interrupted generation's lines are kept, so its work is not redone) and the
        logbook from its first ``generations`` entries (one per step)."""
        for line in evaluations:
            fidelity = line.get("fidelity", 1.0)  # a multi-fidelity rung (search/fidelity.py)
            if line.get("phase") != "reevaluate":  # the cache keeps the first line per training
                self.cache.put(line["hash"], fitness_entry(line, metric), fidelity,
                               seed_index=line.get("seed_index", 0))
        by_step = {}
        for entry in logbook:
            by_step.setdefault(entry["step"], entry)
        self.logbook = [by_step[step] for step in range(generations)]
