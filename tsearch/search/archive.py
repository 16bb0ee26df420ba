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
    """Every non-dominated (genome, value) seen so far; one genome per (size, value) point."""

    def __init__(self, entries: Sequence[tuple[Genome, float]] = ()):
        self.entries: list[tuple[Genome, float]] = list(entries)

    def update(self, genomes: Sequence[Genome], values: Sequence[float | None]) -> None:
        known = {g.hash for g, _ in self.entries}
        pool = list(self.entries)
        for g, v in zip(genomes, values):
            if v is not None and g.hash not in known:
                known.add(g.hash)
                pool.append((g, v))
        if not pool:
            return
        front = tools.sortNondominated(_wrap([g.size for g, _ in pool], [v for _, v in pool]),
                                       len(pool), first_front_only=True)[0]
        points = {}
        for r in sorted(front, key=lambda r: r.index):  # the earliest genome keeps its point
            points.setdefault((pool[r.index][0].size, pool[r.index][1]), pool[r.index])
        self.entries = sorted(points.values(), key=lambda e: (e[0].size, -e[1], e[0].hash))

    @property
    def genomes(self) -> list[Genome]:
        return [g for g, _ in self.entries]

    def best(self) -> tuple[Genome, float] | None:
        return max(self.entries, key=lambda e: (e[1], -e[0].size), default=None)

    def state(self) -> list[dict]:
        return [{"hash": g.hash, "size": g.size, "value": v} for g, v in self.entries]

    @classmethod
    def from_state(cls, state: list[dict], genomes: dict[str, Genome]) -> "ParetoArchive":
        return cls([(genomes[e["hash"]], e["value"]) for e in state])
