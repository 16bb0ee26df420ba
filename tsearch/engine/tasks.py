"""What travels to a worker and back: plain, picklable dataclasses (numpy, no tensors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import (Config, DiffusionConfig, MetricsConfig, ModelConfig, SamplerConfig,
                      TargetConfig, TrainConfig)


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
    checkpoints: tuple[int, ...]  # training steps at which to sample and score (oracles: (0,))
    train_images: np.ndarray | None = None
    train_params: tuple | None = None
    n_train: int | None = None
    keep_samples: bool = False  # return the binarized samples of every checkpoint

    @classmethod
    def from_config(cls, config: Config, *, task_id: str, seed: int, **training_set) -> "EvalTask":
        from .checkpoints import checkpoint_steps
        return cls(task_id=task_id, target=config.target, model=config.model,
                   diffusion=config.diffusion, train=config.train, sampler=config.sampler,
                   metrics=config.metrics, seed=seed, checkpoints=checkpoint_steps(config),
                   **training_set)


@dataclass
class CheckpointResult:
    step: int
    metrics: dict[str, float]  # valid, copy, copy_ratio, novel, g, g_rel, distinct_novel, ...
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # bootstrap CI
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. dot-count histogram
    samples: np.ndarray | None = None  # (M, H, W) int8 in {-1, +1} when keep_samples
    loss: float | None = None  # mean training loss since the previous checkpoint


@dataclass
class EvalResult:
    task_id: str
    ok: bool
    error: str | None = None
    checkpoints: list[CheckpointResult] = field(default_factory=list)
    train_images: np.ndarray | None = None  # (n, H, W) int8, the set actually trained on
    n_params: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # train_s, sample_s, metrics_s
    peak_memory_mb: float = 0.0
    device: str = "cpu"
    form: str = ""  # "vmap" | "loop" | "oracle"
    chunk_size: int = 1  # tasks trained together with this one (timings are shared by them)
    stopped_at: int | None = None  # scored step after which training stopped (memorized)
    skipped_steps: tuple[int, ...] = ()  # scored steps not run because of that stop

    def best(self, metric: str = "g") -> CheckpointResult | None:
        scored = [c for c in self.checkpoints if metric in c.metrics]
        return max(scored, key=lambda c: (c.metrics[metric], -c.step)) if scored else None
