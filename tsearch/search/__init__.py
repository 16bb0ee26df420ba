"""Experiment 3's search over training sets (numpy and DEAP only: never torch).

    strategy = build_strategy(cfg: SearchConfig, target, rng)   # nsga2 | single | random
    genomes = strategy.ask();  strategy.tell(genomes, values);  strategy.state() -> JSON
    FitnessCache(eval_hash): genome hash -> metrics of the best checkpoint
"""

from .archive import ParetoArchive
from .cache import FitnessCache
from .genomes import Genome, random_genome, sample_elements
from .operators import OPERATORS, Rules, build_toolbox, crossover, mutate
from .strategies import (
                         STRATEGIES,
                         NSGA2Strategy,
                         RandomStrategy,
                         SingleStrategy,
                         Strategy,
                         build_baseline,
                         build_strategy,
                         strategy_from_state,
)

__all__ = ["OPERATORS", "STRATEGIES", "FitnessCache", "Genome", "NSGA2Strategy", "ParetoArchive", "RandomStrategy",
           "Rules", "SingleStrategy", "Strategy", "build_baseline", "build_strategy",
           "build_toolbox", "crossover", "mutate", "random_genome", "sample_elements",
           "strategy_from_state"]
