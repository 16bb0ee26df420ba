"""A search that does not believe lucky evaluations: resampling in the strategy, not the evaluation.

The fitness of a training set is noisy: two trainings of the same set with different seeds
differ (in experiment 2's regime, sd between seeds ~0.06 against ~0.14 between sets). Noisy
evolutionary algorithms meet this in three ways (Jin & Branke 2005, "Evolutionary optimization
in uncertain environments -- a survey", IEEE TEC 9(3)): a larger population (implicit
averaging), sampling each individual several times (explicit averaging), and re-evaluating the
individuals that survive, so that an elitist algorithm does not keep a lucky one forever
(Arnold & Beyer 2003; Fieldsend & Everson 2015 for the multi-objective case). Racing
(Maron & Moore 1997) spends samples until two candidates can be told apart: sharp, but its
sample count depends on every value so far and it needs many samples per decision. Here:

    a new set           trained ``seeds_per_set`` times (seed indices 0 .. k-1)
    a survivor          trained once more every generation it stays in the population
                        (``resample_survivors``), up to ``max_seeds_per_set`` trainings
    a set's fitness     the mean over its trainings, with its standard error
                        (tsearch.search.cache); selection, the front and the archive use it

so an elitist NSGA-II keeps a set only while its running mean deserves it: a lucky single
value regresses to the set's mean within a few generations, at a cost of one training per
survivor and generation. The control arm gets exactly as many trainings at each size
(tsearch.search.control), and the final comparison is still made on fresh seeds.

One evaluation is one training (an EvalTask with one seed): the seed of training i of a set is
derived from (run seed, "evolve", set hash) for i = 0 (the seed of single-training searches)
and (run seed, "evolve", set hash, i) beyond; the driver derives it (tsearch.seeding).
"""

from __future__ import annotations

from collections.abc import Iterable

from .cache import FitnessCache
from .genomes import Genome


def wanted_trainings(asked: Iterable[Genome], survivors: Iterable[Genome], trainings_for,
                     cache: FitnessCache, step: int, max_seeds: int,
                     fidelity: float = 1.0) -> list[tuple[Genome, int]]:
    """Every (set, seed index) training generation ``step`` wants to exist, in ask order.

    An asked set wants ``trainings_for(set)`` trainings in all (a set already trained that
    often costs nothing); a survivor one more than it had before this generation, up to
    ``max_seeds``. Counting "before this generation" (not "now") makes a generation asked again
    after a kill want the same trainings as the first time."""
    want: dict[str, tuple[Genome, int]] = {}
    for g in asked:
        want[g.hash] = (g, max(trainings_for(g), want.get(g.hash, (g, 0))[1]))
    for g in survivors:
        again = min(max_seeds, cache.done_before(g.hash, step, fidelity) + 1)
        want[g.hash] = (g, max(again, want.get(g.hash, (g, 0))[1]))
    return [(g, i) for g, k in want.values() for i in range(k)]


def missing(wanted: Iterable[tuple[Genome, int]], cache: FitnessCache,
            fidelity: float = 1.0) -> list[tuple[Genome, int]]:
    """The wanted trainings not in the cache: what the executor runs."""
    return [(g, i) for g, i in wanted if not cache.has(g.hash, fidelity, seed_index=i)]


def ran_this_generation(wanted: Iterable[tuple[Genome, int]], cache: FitnessCache, step: int,
                        fidelity: float = 1.0) -> list[tuple[Genome, int]]:
    """The wanted trainings that generation ``step`` ran: those not in the cache yet, and those
    recorded at ``step`` or later (by this generation, before a kill)."""
    out = []
    for g, i in wanted:
        entry = cache.get(g.hash, fidelity)
        training = entry and entry["trainings"].get(str(i))
        if training is None or training["step"] >= step:
            out.append((g, i))
    return out
