"""The control arm of experiment 3: a random search with exactly the search's evaluation budget.

Does the genetic search find training sets that generalize better than sets drawn from the
target? Only against a control that had the same chance: as many evaluations, at the same
sizes, by the same loop, the same evaluation and the same seeding rule.

The budget. The search ("search" phase) *evaluated* a training set at generation s when it
trained a model on it at s: once per distinct set not already in the fitness cache (a set asked
again while cached costs nothing and does not count; a failed evaluation counts, it cost the
same). Its evaluations are the distinct (generation step, genome hash) pairs of the search
phase's lines in evaluations.jsonl and errors.jsonl -- the sum of the logbook's ``evaluations``
over the search phase. The baseline and the re-evaluations are not part of it. With
multi-fidelity rungs (search.rungs) an evaluation at a fraction f of the training budget counts
f, and the control's count at each size is the rounded sum (it trains at the full budget).

The control. For each size n, the control evaluates exactly as many training sets of n images
as the search did (its size histogram is the search's; with ``train.epochs`` a set's training
cost depends on n alone, so both arms also train the same number of steps). Its sets are drawn
from the target (:func:`random_genome`, the baseline's sampler) by its own generator, each
distinct and none already evaluated by the baseline or the search, so each costs one
evaluation: B evaluations exactly. It asks ``search.population`` sets per generation, smallest
sizes first, and keeps a Pareto archive like the search: its front is what a random search of
budget B would report.

Why the sizes the search explored and not only those its front reaches: the front is known only
after the search, which paid for every size it tried; matching the whole histogram gives both
arms the same evaluations (and, with epochs, the same training steps) at every size, and the
comparison (tsearch.analysis.compare) then judges the sets each arm reports for "at most n".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..config import SearchConfig
from ..errors import UserError
from .genomes import Genome, random_genome
from .strategies import RandomStrategy

MAX_DRAWS = 1000  # redraws of one set before the target's support is declared too small


def search_evaluations(lines: Iterable[dict], steps: set[int]) -> dict[tuple, tuple[int, float]]:
    """(step, genome hash, seed index, fidelity) -> (size, fidelity) of every evaluation (one
    training) the search ran at ``steps`` (its generations), from evaluations.jsonl and
    errors.jsonl lines: a line repeated by a resumed run, or a failure redone there, is one
    evaluation. ``fidelity`` is the fraction of the full training budget (multi-fidelity rungs,
    tsearch.search.fidelity; 1 otherwise)."""
    # a re-evaluation's step is the number of generations so far: an extended search's first
    return {(line["step"], line["hash"], line.get("seed_index", 0), line.get("fidelity", 1.0)):
            (line["size"], line.get("fidelity", 1.0)) for line in lines
            if line["step"] in steps and line.get("phase") != "reevaluate"}


def control_plan(evaluations: dict[tuple, tuple[int, float]]) -> list[int]:
    """The sizes the control evaluates, one entry per evaluation, smallest first: at each size,
    the search's evaluations of that size in full-budget equivalents (sum of fidelities,
    rounded half up; without multi-fidelity rungs, exactly their number)."""
    per_size: dict[int, float] = {}
    for size, fidelity in evaluations.values():
        per_size[size] = per_size.get(size, 0.0) + fidelity
    return [n for n in sorted(per_size) for _ in range(math.floor(per_size[n] + 0.5))]


def control_sets(plan: list[int], seeds_per_set: int) -> list[tuple[int, int]]:
    """(size, trainings) of each set the control draws: at each size, sets of
    ``seeds_per_set`` trainings, the last one holding the remainder, so that the control trains
    exactly as many models at each size as the plan (one entry per training) says."""
    sets = []
    for n in sorted(set(plan)):
        whole, rest = divmod(plan.count(n), seeds_per_set)
        sets += [(n, seeds_per_set)] * whole + ([(n, rest)] if rest else [])
    return sets


class ControlStrategy(RandomStrategy):
    """Random training sets at the sizes of ``plan`` (``search.population`` per generation).

    Built before the search runs (the plan is not known yet: ``planned`` is False) and planned
    by :meth:`set_plan` once it has finished; the plan and the hashes it must avoid are part of
    its state, so a resumed run asks the same sets.
    """

    kind = "control"

    def __init__(self, *, plan: list[int] | None = None, top_ups: Iterable[list[int]] = (),
                 taken: Iterable[str] = (), **kwargs):
        super().__init__(**kwargs)
        self.plan = None
        self.parts: list[list[int]] = []  # the plan, then each top-up of an extended search
        self.sets: list[tuple[int, int] | None] = []  # None: no set (a part starts a generation)
        self.seeds: dict[str, int] = {}  # hash -> trainings, of the sets asked (not saved: asked again on resume)
        self.taken: set[str] = set(taken)
        if plan is not None:
            self.set_plan(plan, ())
            for extra in top_ups:
                self.add_plan(extra)

    @property
    def planned(self) -> bool:
        return self.plan is not None

    @property
    def done(self) -> bool:
        return self.planned and self.generation >= self.generations

    def set_plan(self, plan: list[int], taken: Iterable[str]) -> None:
        """Train models on sets of these sizes (one entry per training, grouped into sets by
        :func:`control_sets`); never on one of ``taken`` (hashes already evaluated)."""
        self.plan, self.parts = list(plan), [list(plan)]
        self.sets = control_sets(self.plan, self.cfg.seeds_per_set)
        self.generations = math.ceil(len(self.sets) / self.cfg.population)
        self.taken |= set(taken)

    def add_plan(self, extra: list[int]) -> None:
        """More trainings (an extended search's), in generations of their own after the planned
        ones: the sets already asked stay as they were."""
        population = self.cfg.population
        self.sets += [None] * (-len(self.sets) % population)
        self.sets += control_sets(extra, self.cfg.seeds_per_set)
        self.plan, self.parts = self.plan + list(extra), [*self.parts, list(extra)]
        self.generations = math.ceil(len(self.sets) / population)

    def plan_from(self, state, lines: Iterable[dict]) -> None:
        """Plan from a search state whose search phase has finished (its logbook holds the
        baseline and search generations) and the lines of evaluations.jsonl + errors.jsonl.
        Taken: every set evaluated before the control's first generation."""
        start = len(state.logbook)
        steps = {e["step"] for e in state.logbook if e["phase"] == "search"}
        taken = {h for h, entry in state.cache.items() if entry["step"] < start}
        self.set_plan(control_plan(search_evaluations(lines, steps)), taken)

    def top_up(self, state, lines: Iterable[dict]) -> int:
        """A search extended after its control ran (more generations): the trainings the
        search added since, at their sizes, on sets not evaluated before, so that both arms
        train as many models at each size again. Returns how many trainings were added."""
        steps = {e["step"] for e in state.logbook if e["phase"] == "search"}
        extra = Counter(control_plan(search_evaluations(lines, steps))) - Counter(self.plan)
        if extra:
            self.taken |= {h for h, _ in state.cache.items()}
            self.add_plan(sorted(extra.elements()))
        return extra.total()

    def ask(self) -> list[Genome]:
        start = self.generation * self.cfg.population
        genomes = []
        for n, trainings in filter(None, self.sets[start:start + self.cfg.population]):
            genomes.append(self.draw(n))
            self.seeds[genomes[-1].hash] = trainings
        return genomes

    def trainings_for(self, genome: Genome) -> int:
        return self.seeds.get(genome.hash, self.cfg.seeds_per_set)

    def draw(self, n: int) -> Genome:
        """A training set of ``n`` images drawn from the target, not taken before."""
        for _ in range(MAX_DRAWS):
            genome = random_genome(self.target, n, self.rng, allow_duplicates=self.cfg.allow_duplicates)
            if genome.hash not in self.taken:
                self.taken.add(genome.hash)
                return genome
        raise UserError(f"search.control: cannot draw a training set of {n} images that was not "
                        f"evaluated yet in {MAX_DRAWS} tries (the target's support is too small "
                        "for a control arm; set search.control = \"none\")")

    def params(self) -> dict:
        parts = self.parts or [None]
        return {**super().params(), "plan": parts[0], **({"top_ups": parts[1:]} if parts[1:] else {})}

    def state(self) -> dict:
        return {**super().state(), "taken": sorted(self.taken)}

    def restore(self, state: dict, genomes: dict[str, Genome]) -> None:
        super().restore(state, genomes)
        self.taken = set(state["taken"])


def build_control(cfg: SearchConfig, target: Any, rng: np.random.Generator) -> ControlStrategy:
    """The control arm before the search has run: its generations are an estimate (the
    search's) until :meth:`ControlStrategy.set_plan`."""
    return ControlStrategy(cfg=cfg, target=target, rng=rng)


def control_from_state(state: dict, *, cfg: SearchConfig, target: Any,
                       genomes: dict[str, Genome]) -> ControlStrategy:
    control = ControlStrategy(cfg=cfg, target=target, rng=np.random.default_rng(0), **state["params"])
    control.restore(state, genomes)
    return control
