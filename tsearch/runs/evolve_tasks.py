"""The tasks of ``tsearch evolve``: one training of one searched set at one fidelity.

A set's first full-budget training keeps the set's hash as its task id and seed (as when
each set was trained once); further trainings (``#i``) and multi-fidelity rungs (``@fraction``)
are marked, and every training's seed is tsearch.seeding.training_seed.
"""

from __future__ import annotations

from ..config import Config
from ..search import Genome
from ..seeding import training_seed
from ..tasks import EvalTask


def training_id(genome: Genome, seed_index: int, fraction: float = 1.0) -> str:
    """The task id of training ``seed_index`` of a set at a fidelity: the set's hash for its
    first full-budget training (as when each set was trained once), ``#i`` and ``@fraction``
    marking the others."""
    return (genome.hash + (f"#{seed_index}" if seed_index else "")
            + (f"@{fraction:g}" if fraction < 1 else ""))


def evaluation_task(config: Config, genome: Genome, fraction: float, seed_index: int = 0) -> EvalTask:
    """Training ``seed_index`` of ``genome`` (its seed: tsearch.seeding.training_seed) at a
    fidelity: the full budget, or a multi-fidelity rung trained for ``fraction`` of train.steps
    and scored at the full schedule's steps below that budget and at the budget. Same seed at
    every fidelity: a rung's numbers at a shared scored step are the full evaluation's
    (training does not depend on the schedule or the length)."""
    return EvalTask.from_config(config, task_id=training_id(genome, seed_index, fraction),
                                seed=training_seed(config.run.seed, genome.hash, seed_index),
                                fraction=fraction, keep_samples=fraction == 1, **training_set(genome))


def training_set(genome: Genome) -> dict:
    """The EvalTask field of a genome: free images as they are (±1), target parameters to render."""
    if genome.is_images:
        return {"train_images": genome.render(None)}
    return {"train_params": genome.elements}
