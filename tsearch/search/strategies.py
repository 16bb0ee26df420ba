"""Search strategies with ask / tell, whose whole state is JSON (plus the genomes it names).

    strategy = build_strategy(cfg, target, rng)      # nsga2 | single | random
    while not strategy.done:
        genomes = strategy.ask()                      # draws only from `rng`
        strategy.tell(genomes, values)                # values: fitness metric, None = failed

``nsga2``: NSGA-II (Deb et al. 2002) over (maximize the metric, minimize the size): parents by
binary tournament on (front rank, crowding distance), offspring by DEAP-toolbox crossover and
mutation, survivors by ``selNSGA2`` over parents + offspring (elitist). ``single``: the same
loop at one fixed size, tournaments and (mu + lambda) truncation on the metric. ``random``:
training sets drawn from the target, ``per_size`` at each size of ``size_grid`` per generation:
the baseline. Every strategy keeps a Pareto archive of all it was told.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import SearchConfig
from .archive import FAILED, ParetoArchive, rank_and_crowding, select_nsga2
from .genomes import Genome
from .operators import Rules, build_toolbox
from .screening import outcome as screening_outcome


class Strategy:
    kind = ""

    def __init__(self, *, cfg: SearchConfig, target: Any, rng: np.random.Generator,
                 generations: int | None = None):
        self.cfg, self.target, self.rng = cfg, target, rng
        self.generations = cfg.generations if generations is None else generations
        self.rules = self.make_rules()
        self.toolbox = build_toolbox(self.rules, rng, cfg.weights)
        self.generation = 0
        self.population: list[Genome] = []
        self.values: list[float | None] = []
        self.archive = ParetoArchive()
        self.screener = None  # tsearch.search.screening.attach sets it (search.screen_factor > 1)
        self.screen_record: dict | None = None

    def make_rules(self) -> Rules:
        return Rules(target=self.target, n_min=self.cfg.n_min, n_max=self.cfg.n_max,
                     allow_duplicates=self.cfg.allow_duplicates, sigma=self.cfg.vertex_sigma,
                     **image_rules(self.cfg))

    @property
    def done(self) -> bool:
        return self.generation >= self.generations

    def ask(self) -> list[Genome]:
        """This generation's sets to train. With a screener (search.screen_factor > 1,
        tsearch.search.screening), ``screen_factor`` x as many candidates are made by the same
        operators and the screener picks ``population`` of them; ``screen_record`` says how."""
        self.screen_record = None
        if self.screener is None:
            return self.initial() if self.generation == 0 else self.offspring()
        k = self.cfg.screen_factor
        candidates = self.initial(k) if self.generation == 0 else self.offspring(k * self.cfg.population)
        picks, self.screen_record = self.screener.pick(candidates, self.cfg.population, self.archive, self.rng)
        return picks

    def screening(self) -> dict | None:
        """This generation's screening record with the picks' measured values (once told)."""
        if self.screen_record is None:
            return None
        return screening_outcome(self.screen_record, lambda h: self.archive.pool.get(h, (None, None))[1])

    def tell(self, genomes: list[Genome], values: list[float | None]) -> None:
        self.archive.update(genomes, values)
        pool = _unique(self.population + list(genomes), self.values + list(values))
        keep = self.survivors([g.size for g, _ in pool], [v for _, v in pool])
        self.population = [pool[i][0] for i in keep]
        self.values = [pool[i][1] for i in keep]
        self.generation += 1

    def survivors_to_resample(self) -> list[Genome]:
        """The sets kept from the previous generation, trained again with a new seed before
        this generation's selection (tsearch.search.resample); none for strategies without
        survivors (random, control)."""
        return list(self.population) if self.cfg.resample_survivors and self.generation > 0 else []

    def trainings_for(self, genome: Genome) -> int:
        """Trainings (seeds) a newly asked set gets."""
        return self.cfg.seeds_per_set

    def revalue(self, value_of) -> None:
        """Take the current (running-mean) values of the population: a survivor trained again
        competes, and stands on the front, at its new mean."""
        self.values = [value_of(g) for g in self.population]
        self.archive.update(self.population, self.values)

    # ------------------------------------------------------------------ to specialize
    def initial(self, repeats: int = 1) -> list[Genome]:
        """The first generation (``repeats`` x as many when screened)."""
        raise NotImplementedError

    def survivors(self, sizes: list[int], values: list[float | None]) -> list[int]:
        raise NotImplementedError

    def tournament_keys(self) -> list[tuple]:
        """Per individual of the population: smaller is better in a binary tournament."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared GA step
    def offspring(self, n: int | None = None) -> list[Genome]:
        """``n`` (default ``population``) children: tournament parents, pairwise crossover with
        probability ``crossover_prob``, then each child mutated with probability ``mutation_prob``."""
        keys, n = self.tournament_keys(), n or self.cfg.population
        parents = [self.population[self._tournament(keys)] for _ in range(n + n % 2)]
        children = []
        for a, b in zip(parents[::2], parents[1::2]):
            if self.rng.random() < self.cfg.crossover_prob:
                a, b = self.toolbox.mate(a, b)
            children += [self.toolbox.mutate(c) if self.rng.random() < self.cfg.mutation_prob
                         else c for c in (a, b)]
        return children[:n]

    def _tournament(self, keys: list[tuple]) -> int:
        i, j = (int(k) for k in self.rng.integers(len(keys), size=2))
        return min((keys[i], i), (keys[j], j))[1]

    # ------------------------------------------------------------------ checkpoints
    def params(self) -> dict:
        return {"generations": self.generations}

    def genomes(self) -> list[Genome]:
        """Every genome the state refers to (they go to the checkpoint's .npz)."""
        return self.population + self.archive.told

    def state(self) -> dict:
        return {"kind": self.kind, "params": self.params(), "generation": self.generation,
                "rng": self.rng.bit_generator.state,
                "population": [g.hash for g in self.population], "values": list(self.values),
                "archive": self.archive.state()}

    def restore(self, state: dict, genomes: dict[str, Genome]) -> None:
        self.rng.bit_generator.state = state["rng"]  # the toolbox holds this same generator
        self.generation = state["generation"]
        self.population = [genomes[h] for h in state["population"]]
        self.values = list(state["values"])
        self.archive = ParetoArchive.from_state(state["archive"], genomes)


class NSGA2Strategy(Strategy):
    kind = "nsga2"

    def initial(self, repeats: int = 1) -> list[Genome]:
        # sizes spread evenly over [n_min, n_max]: the front is explored from the start
        sizes = np.linspace(self.cfg.n_min, self.cfg.n_max, self.cfg.population).round()
        return [self.toolbox.sample(int(s)) for s in np.tile(sizes, repeats)]

    def survivors(self, sizes, values):
        return select_nsga2(sizes, values, min(self.cfg.population, len(sizes)))

    def tournament_keys(self):
        return [(rank, -crowding) for rank, crowding in
                rank_and_crowding([g.size for g in self.population], self.values)]


class SingleStrategy(Strategy):
    """Maximize the metric at one training-set size (``search.fixed_size``, default n_max)."""

    kind = "single"

    def make_rules(self) -> Rules:
        n = self.cfg.size  # n_min = n_max: no operator changes the size
        return Rules(target=self.target, n_min=n, n_max=n, allow_duplicates=self.cfg.allow_duplicates,
                     sigma=self.cfg.vertex_sigma, **image_rules(self.cfg))

    def initial(self, repeats: int = 1):
        return [self.toolbox.sample(self.cfg.size) for _ in range(repeats * self.cfg.population)]

    def survivors(self, sizes, values):
        order = sorted(range(len(values)), key=lambda i: -_score(values[i]))  # stable
        return order[:self.cfg.population]

    def tournament_keys(self):
        return [(-_score(v),) for v in self.values]


class RandomStrategy(Strategy):
    """Training sets drawn from the target: ``per_size`` at each size of ``size_grid``."""

    kind = "random"

    def __init__(self, *, per_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.per_size = (per_size if per_size is not None
                         else max(1, self.cfg.population // len(self.cfg.size_grid)))

    def ask(self):
        return [self.toolbox.sample(n) for n in self.cfg.size_grid for _ in range(self.per_size)]

    def tell(self, genomes, values):
        self.archive.update(genomes, values)
        self.population, self.values = list(genomes), list(values)
        self.generation += 1

    def survivors_to_resample(self) -> list[Genome]:
        return []  # every generation is new sets: nothing survives

    def params(self):
        return {**super().params(), "per_size": self.per_size}


STRATEGIES = {cls.kind: cls for cls in (NSGA2Strategy, SingleStrategy, RandomStrategy)}


def build_strategy(cfg: SearchConfig, target: Any, rng: np.random.Generator, **params) -> Strategy:
    """The strategy ``cfg.strategy`` (``params`` override its defaults, e.g. the baseline's
    ``generations=1, per_size=cfg.baseline_per_size``)."""
    return STRATEGIES[params.pop("kind", cfg.strategy)](cfg=cfg, target=target, rng=rng, **params)


def build_baseline(cfg: SearchConfig, target: Any, rng: np.random.Generator) -> RandomStrategy:
    """The random baseline every search is compared against: one generation of
    ``baseline_per_size`` training sets per size of ``size_grid``."""
    return build_strategy(cfg, target, rng, kind="random", generations=1,
                          per_size=cfg.baseline_per_size)


def strategy_from_state(state: dict, *, cfg: SearchConfig, target: Any,
                        genomes: dict[str, Genome]) -> Strategy:
    strategy = build_strategy(cfg, target, np.random.default_rng(0), kind=state["kind"],
                              **state["params"])
    strategy.restore(state, genomes)
    return strategy


def image_rules(cfg: SearchConfig) -> dict:
    """The Rules fields of the genome kind (search.genome)."""
    return {"images": cfg.genome == "images", "flip_rate": cfg.flip_rate, "splice_prob": cfg.splice_prob}


def _score(value: float | None) -> float:
    return FAILED if value is None else value


def _unique(genomes: list[Genome], values: list) -> list[tuple[Genome, Any]]:
    """(genome, value) pairs, the first of each genome only: survivors are distinct."""
    seen, out = set(), []
    for g, v in zip(genomes, values):
        if g.hash not in seen:
            seen.add(g.hash)
            out.append((g, v))
    return out
