"""Log-spaced training steps at which a model is sampled and scored."""

from __future__ import annotations

import numpy as np

from ..config import ORACLE_KINDS, Config, TrainConfig


def log_spaced_steps(train: TrainConfig) -> tuple[int, ...]:
    """``n_checkpoints`` steps from ``first_checkpoint`` to ``steps``, log-spaced, distinct."""
    first = min(train.first_checkpoint, train.steps)
    raw = np.geomspace(first, train.steps, train.n_checkpoints)
    return tuple(sorted({int(round(s)) for s in raw} | {train.steps}))


def checkpoint_steps(config: Config) -> tuple[int, ...]:
    return (0,) if config.model.kind in ORACLE_KINDS else log_spaced_steps(config.train)
