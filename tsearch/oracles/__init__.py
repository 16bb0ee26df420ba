"""Oracles: reference score functions that need no training (docs/architecture.md, Oracles).

    score_fn = build_oracle(cfg.model, process=process, train_images=images, target=target, rng=rng)

``empirical``: the exact score of the smoothed training set (memorizes); ``population``: of the
target (generalizes perfectly); ``local``: Kamb & Ganguli's equivariant local score machine.
``score_fn(x, t)`` takes x of shape (..., H, W) and t a 0-dim tensor.
"""

from __future__ import annotations

import numpy as np

from ..config import MODELS, ORACLE_KINDS, EmpiricalConfig, LocalConfig, PopulationConfig
from ..diffusion import Process, ScoreFn
from ..targets.base import Target
from .empirical import EmpiricalScore, posterior_mean
from .local import LocalScore
from .population import population_images, population_score

OracleConfig = EmpiricalConfig | PopulationConfig | LocalConfig


def build_oracle(cfg: OracleConfig, *, process: Process, train_images, target: Target | None = None,
                 rng: np.random.Generator | None = None) -> ScoreFn:
    """The score function of an oracle ``[model]`` table; each kind takes the keywords it
    registered (tsearch.config.MODELS): empirical and local the training images, population
    the target and an rng."""
    if cfg.kind not in ORACLE_KINDS:
        raise ValueError(f"model kind {cfg.kind!r} is not an oracle")  # a bug: callers check the role
    return MODELS.build(cfg, process=process, images=train_images, target=target, rng=rng)


__all__ = ["build_oracle", "EmpiricalScore", "LocalScore", "population_score",
           "population_images", "posterior_mean", "OracleConfig"]
