"""Multi-fidelity evaluation of a generation's offspring: successive halving (Jamieson &
Talwalkar 2016; the inner loop of Hyperband, Li et al. 2018), ranked by the search's own
criterion.

Rungs f_0 < f_1 < ... < f_K = 1 are fractions of the training budget ``train.steps``. All
offspring are trained to f_0; at each rung the best ``ceil(promote * n)`` by NSGA-II (front rank
over (metric, size), then crowding distance; Deb et al. 2002) go on to the next rung, trained
again from the start with the larger budget. The values of the last rung (the full budget)
are the ones the strategy is told; an offspring dropped at a lower rung is not told, as a
dominated candidate leaves NSGA-II's selection.

Cost per generation, with n offspring and promotion p: sum_k n p^k f_k training budgets, against
n for full fidelity (rungs 1/4, 1/2, 1 and p = 1/2: 0.25 + 0.25 + 0.25 = 0.75 n).

Deterministic: promotion depends on the rung's values only (ties in DEAP's order), and
promoted offspring keep their ask order, so the task order is the same on a resume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .archive import select_nsga2
from .genomes import Genome

# (genomes, fraction of train.steps) -> fitness value per genome (None: failed)
EvaluateAt = Callable[[list[Genome], float], list[float | None]]


@dataclass
class Rung:
    fraction: float
    genomes: list[Genome]
    values: list[float | None]


def fractions(rungs: Sequence[float]) -> tuple[float, ...]:
    """The rungs of a search config followed by the full budget."""
    return tuple(rungs) + (1.0,)


def promoted(genomes: Sequence[Genome], values: Sequence[float | None], promote: float) -> list[int]:
    """Indices, in ask order, of the best ``ceil(promote * n)`` genomes by NSGA-II selection."""
    k = min(len(genomes), max(1, math.ceil(promote * len(genomes))))
    return sorted(select_nsga2([g.size for g in genomes], values, k))


def successive_halving(genomes: list[Genome], evaluate_at: EvaluateAt, rungs: Sequence[float],
                       promote: float) -> list[Rung]:
    """Evaluate ``genomes`` rung by rung; one :class:`Rung` per rung evaluated, the full
    budget last (with no ``rungs``: the full budget alone)."""
    out: list[Rung] = []
    for fraction in fractions(rungs):
        if out:
            keep = promoted(out[-1].genomes, out[-1].values, promote)
            genomes = [out[-1].genomes[i] for i in keep]
        out.append(Rung(fraction, list(genomes), list(evaluate_at(genomes, fraction))))
    return out
