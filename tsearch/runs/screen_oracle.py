"""``search.screen_oracle``: the local (ELS) oracle's train-free fitness of a set, a feature of
the screening surrogate (tsearch.search.screening).

The local oracle (tsearch.oracles.local: Kamb & Ganguli 2025, patch 3, black padding) is what a
convolutional score model generates from the set, with no training; its samples are scored by
the run's own metrics and the value of ``search.fitness_metric`` is the feature "oracle". Its
sampling seed comes from (run seed, "oracle", set hash), so a resumed search sees the same
values. The oracle evaluations run on the run's executor, are not trainings (no line in
evaluations.jsonl, not part of either arm's budget) and are computed again on a resume.
"""

from __future__ import annotations

from ..config import Config, config_from_dict, config_to_dict
from ..search import Genome
from ..seeding import derive_seed
from ..tasks import EvalTask
from .evolve_tasks import training_set
from .pipeline import results

ORACLE_MODEL = {"kind": "local", "patch": 3, "padding": "black"}


def oracle_config(config: Config) -> Config:
    data = config_to_dict(config)
    data["model"] = dict(ORACLE_MODEL)
    return config_from_dict(data, source="<screen_oracle>")


def attach(state, config: Config, executor) -> None:
    """Give the search's screener the oracle feature (when search.screen_oracle is on)."""
    screener = getattr(state.strategies.get("search"), "screener", None)
    if screener is None or not config.search.screen_oracle:
        return
    oracle, metric = oracle_config(config), config.search.fitness_metric

    def values(genomes: list[Genome]) -> dict[str, dict]:
        tasks = [EvalTask.from_config(oracle, task_id=g.hash, seed=derive_seed(config.run.seed, "oracle", g.hash),
                                      **training_set(g)) for g in genomes]
        out = {}
        for result in results(executor, tasks, lambda k: None):
            best = result.best(metric) if result.ok else None
            out[result.task_id] = {"oracle": None if best is None else best.metrics.get(metric)}
        return out

    screener.extra_of, screener.extra_names = values, ("oracle",)
