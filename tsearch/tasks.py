"""What travels to a worker and back: plain, picklable dataclasses (numpy, no torch).

Vocabulary: a *scored step* is a training step at which the model is sampled and scored
(``EvalTask.scored_steps``, ``EvalResult.scored``); a *checkpoint* is only ever a saved search
state (tsearch.store.checkpoint). Executors, search and run folders import this module
directly: it loads neither torch nor the engine.

Training length has one source of truth, ``TrainConfig.steps_for``: ``train.steps`` for every
training set, or with ``train.epochs`` a budget per training image,

    steps(n) = max(min_steps, ceil(epochs * n / batch_size))   (each step draws batch_size of
                                                               the n images; min_steps: 0 = none)

so a larger set is not simply less trained, and with ``train.min_steps`` a small set is not
trained for only a few dozen steps. The last scored step of a trained task is its
``steps(n)`` (``scored_steps`` always ends there), and so are the task's progress units.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import (
    ORACLE_KINDS,
    Config,
    DiffusionConfig,
    MetricsConfig,
    ModelConfig,
    SamplerConfig,
    TargetConfig,
    TrainConfig,
    config_to_dict,
)


# ----------------------------------------------------------------------------- schedule
def spaced_steps(train: TrainConfig, last: int) -> tuple[int, ...]:
    """``n_checkpoints`` steps from ``first_checkpoint`` to ``last``, distinct, ``last``
    included: geometric (``schedule = "log"``) or evenly spaced (``"linear"``, dense)."""
    first = min(train.first_checkpoint, last)
    space = np.geomspace if train.schedule == "log" else np.linspace
    raw = space(first, last, train.n_checkpoints)
    return tuple(sorted({int(round(s)) for s in raw} | {last}))


def scored_steps(config: Config, n: int | None = None) -> tuple[int, ...]:
    """The training steps at which a task of ``config`` training on ``n`` images is scored
    (an oracle: step 0 only)."""
    if config.model.kind in ORACLE_KINDS:
        return (0,)
    return spaced_steps(config.train, config.train.steps_for(n))


def rung_steps(steps: int, fraction: float) -> int:
    """Training steps of a multi-fidelity rung: ``fraction`` of ``steps``, at least 1."""
    return max(1, round(steps * fraction))


def training_set_size(training_set: dict) -> int | None:
    """n of an EvalTask's training set (``train_images``, ``train_params`` or ``n_train``)."""
    for key in ("train_images", "train_params"):
        if training_set.get(key) is not None:
            return len(training_set[key])
    return training_set.get("n_train")


def best_index(points: Sequence[tuple[int, Any]], metric: str = "g") -> int | None:
    """The one "best scored step" rule: among ``(step, metrics)`` pairs whose ``metric`` is a
    finite number, the largest value, the earliest step on ties; None when there is none."""
    def value(metrics) -> float | None:
        v = metrics.get(metric)
        return float(v) if v is not None and math.isfinite(v) else None

    scored = [i for i, (_, m) in enumerate(points) if value(m) is not None]
    if not scored:
        return None
    return max(scored, key=lambda i: (value(points[i][1]), -points[i][0]))


def best_record(records: Sequence[dict], metric: str = "g") -> dict | None:
    """:func:`best_index` over JSON records (``step`` and the metrics at top level)."""
    i = best_index([(r["step"], r) for r in records], metric)
    return None if i is None else records[i]


def fitness_record(line: dict, metric: str = "g") -> dict | None:
    """The scored record an evaluation's fitness is read from: the fresh full-sample scoring
    at the chosen step (``selected``, two-stage scoring) when the evaluation has one, else the
    best of its scored steps (:func:`best_record`)."""
    if line.get("selected") is not None:
        return line["selected"]
    return best_record(line.get("checkpoints") or [], metric)


# ----------------------------------------------------------------------------- task
@dataclass(frozen=True)
class EvalTask:
    """One training set to train on, sample from and score.

    The training set is given by exactly one of: ``train_images`` (n, H, W) in {-1, +1},
    ``train_params`` (rendered by the target: a genome), or ``n_train`` (sampled from the
    target with the task's seed).
    """

    task_id: str
    target: TargetConfig
    model: ModelConfig
    diffusion: DiffusionConfig
    train: TrainConfig
    sampler: SamplerConfig
    metrics: MetricsConfig
    seed: int
    scored_steps: tuple[int, ...]  # training steps at which to sample and score (oracles: (0,))
    train_images: np.ndarray | None = None
    train_params: tuple | None = None
    n_train: int | None = None
    distinct: bool = False  # with n_train: n distinct support images (drawn without replacement)
    keep_samples: bool = False  # return the binarized samples of every scored step

    @classmethod
    def from_config(cls, config: Config, *, task_id: str, seed: int, fraction: float = 1.0,
                    **training_set) -> "EvalTask":
        """The task of ``config`` for one training set. ``fraction`` < 1: a multi-fidelity rung,
        trained for that fraction of the set's own budget (:func:`rung_steps`; by epochs the
        budget stays per size) and scored at the full schedule's steps below it and at it, so
        a rung's numbers at a shared step are the full evaluation's."""
        steps, train = scored_steps(config, training_set_size(training_set)), config.train
        if fraction < 1:
            budget = rung_steps(max(steps), fraction)
            steps = tuple(s for s in steps if s < budget) + (budget,)
            train = train if train.epochs else dataclasses.replace(train, steps=budget)
        return cls(task_id=task_id, target=config.target, model=config.model,
                   diffusion=config.diffusion, train=train, sampler=config.sampler,
                   metrics=config.metrics, seed=seed, scored_steps=steps, distinct=config.run.distinct,
                   **training_set)

    @property
    def stack_key(self) -> str:
        """Tasks with equal keys can train as one stacked model (same model, image side,
        training, process and sampler): the one grouping rule of the executors' chunks and,
        with the scored steps, of the engine's stacks."""
        return json.dumps(config_to_dict((self.model, self.target.side, self.train, self.diffusion,
                                          self.sampler)), sort_keys=True)

    @property
    def work_units(self) -> int:
        """Progress units: training steps (the last scored step is the last step), 1 for an oracle."""
        return 1 if self.model.kind in ORACLE_KINDS else max(self.scored_steps)


# ----------------------------------------------------------------------------- result
@dataclass
class ScoredStep:
    step: int
    metrics: dict[str, float]  # valid, copy, copy_ratio, novel, g, g_rel, distinct_novel, ...
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # bootstrap CI
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. dot-count histogram
    samples: np.ndarray | None = None  # (M, H, W) int8 in {-1, +1} when keep_samples
    loss: float | None = None  # mean training loss since the previous scored step


@dataclass
class EvalResult:
    task_id: str
    ok: bool
    error: str | None = None
    scored: list[ScoredStep] = field(default_factory=list)
    train_images: np.ndarray | None = None  # (n, H, W) int8, the set actually trained on
    n_params: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # train_s, sample_s, metrics_s
    peak_memory_mb: float = 0.0
    device: str = "cpu"
    form: str = ""  # "vmap" | "loop" | "oracle"
    chunk_size: int = 1  # tasks trained together with this one (timings are shared by them)
    stopped_at: int | None = None  # scored step after which training stopped (memorized, past peak)
    skipped_steps: tuple[int, ...] = ()  # scored steps not run because of that stop
    # two-stage scoring (sampler.n_select > 0): the chosen step scored again with n_samples
    # fresh samples; ``scored`` then holds the n_select selection stage
    selected: ScoredStep | None = None

    def best(self, metric: str = "g") -> ScoredStep | None:
        """The reported scored step: ``selected`` when present, else the best of ``scored``."""
        if self.selected is not None:
            return self.selected
        i = best_index([(s.step, s.metrics) for s in self.scored], metric)
        return None if i is None else self.scored[i]
