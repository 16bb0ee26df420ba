"""Pareto ranking over (maximize the fitness metric, minimize the training-set size).

DEAP's ``sortNondominated`` / ``selNSGA2`` (Deb et al. 2002) see light wrappers carrying a
``base.Fitness`` subclass defined here (not through ``deap.creator``: nothing to recreate in a
worker or a test). A failed evaluation (value None) scores (-1, n_max + 1): dominated by
every success.
"""

from __future__ import annotations

from collections.abc import Sequence

from deap import base, tools

from .genomes import Genome

FAILED = -1.0  # below any metric in [0, 1]


class _TwoObjectives(base.Fitness):
    weights = (1.0, -1.0)  # maximize the metric, minimize the size


class _Ranked:
    """What DEAP's selection sees: a position in our list and its fitness."""

    __slots__ = ("index", "fitness")

    def __init__(self, index: int, value: float, size: int):
        self.index = index
        self.fitness = _TwoObjectives((value, size))


def _wrap(sizes: Sequence[int], values: Sequence[float | None]) -> list[_Ranked]:
    worst = max(sizes, default=0) + 1
    return [_Ranked(i, FAILED, worst) if v is None else _Ranked(i, v, s)
            for i, (s, v) in enumerate(zip(sizes, values))]


def select_nsga2(sizes: Sequence[int], values: Sequence[float | None], k: int) -> list[int]:
    """Indices of the ``k`` survivors of NSGA-II selection, in DEAP's order."""
    return [r.index for r in tools.selNSGA2(_wrap(sizes, values), k)]


def rank_and_crowding(sizes: Sequence[int], values: Sequence[float | None]) -> list[tuple[int, float]]:
    """(front rank, crowding distance) per individual, for binary tournaments."""
    ranked = _wrap(sizes, values)
    out = [(0, 0.0)] * len(ranked)
    for rank, front in enumerate(tools.sortNondominated(ranked, len(ranked))):
        tools.emo.assignCrowdingDist(front)
        for r in front:
            out[r.index] = (rank, r.fitness.crowding_dist)
    return out


class ParetoArchive:
    """The non-dominated (genome, value) points among every genome told so far, each at its
    latest value (a set trained again moves: tsearch.search.resample); one genome per
    (size, value) point, the earliest told keeping it. ``pool`` holds every genome told, in
    the order first told, so the front can be recomputed when a value changes."""

    def __init__(self, pool: Sequence[tuple[Genome, float]] = ()):
        self.pool: dict[str, tuple[Genome, float]] = {g.hash: (g, v) for g, v in pool}
        self.entries: list[tuple[Genome, float]] = []
        self._front()

    def update(self, genomes: Sequence[Genome], values: Sequence[float | None]) -> None:
        """Tell (genome, value) pairs: a new genome joins the pool, a known one takes its new
        value (a failed value, None, is left out of a new genome and does not erase a known one)."""
        for g, v in zip(genomes, values):
            if v is not None:
                self.pool[g.hash] = (self.pool.get(g.hash, (g, v))[0], v)
        self._front()

    def _front(self) -> None:
        pool = list(self.pool.values())
        if not pool:
            self.entries = []
            return
        front = tools.sortNondominated(_wrap([g.size for g, _ in pool], [v for _, v in pool]),
                                       len(pool), first_front_only=True)[0]
        points = {}
        for r in sorted(front, key=lambda r: r.index):  # the earliest genome keeps its point
            points.setdefault((pool[r.index][0].size, pool[r.index][1]), pool[r.index])
        self.entries = sorted(points.values(), key=lambda e: (e[0].size, -e[1], e[0].hash))

    @property
    def genomes(self) -> list[Genome]:
        """The front's genomes."""
        return [g for g, _ in self.entries]

    @property
    def told(self) -> list[Genome]:
        """Every genome told (the pool), in the order first told."""
        return [g for g, _ in self.pool.values()]

    def best(self) -> tuple[Genome, float] | None:
        return max(self.entries, key=lambda e: (e[1], -e[0].size), default=None)

    def state(self) -> list[dict]:
        """The pool, in order (the front is recomputed from it)."""
        return [{"hash": g.hash, "size": g.size, "value": v} for g, v in self.pool.values()]

    @classmethod
    def from_state(cls, state: list[dict], genomes: dict[str, Genome]) -> "ParetoArchive":
        # checkpoints written before the pool was kept held the front only: it is their pool
        return cls([(genomes[e["hash"]], e["value"]) for e in state])
