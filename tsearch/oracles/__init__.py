"""Oracles: reference score functions that need no training (docs/architecture.md, Oracles).

    score_fn = build_oracle(cfg.model, process=process, train_images=images, target=target, rng=rng)

``empirical``: the exact score of the smoothed training set (memorizes); ``population``: of the
target (generalizes perfectly); ``local``: Kamb & Ganguli's equivariant local score machine.
``score_fn(x, t)`` takes x of shape (..., H, W) and t a 0-dim tensor.
"""

from __future__ import annotations

import numpy as np

from ..config import EmpiricalConfig, LocalConfig, PopulationConfig
from ..diffusion import Process, ScoreFn
from ..targets.base import Target
from .empirical import EmpiricalScore, posterior_mean
from .local import LocalScore
from .population import population_images, population_score

OracleConfig = EmpiricalConfig | PopulationConfig | LocalConfig


def build_oracle(cfg: OracleConfig, *, process: Process, train_images, target: Target | None = None,
                 rng: np.random.Generator | None = None) -> ScoreFn:
    if cfg.kind == "empirical":
        return EmpiricalScore(process=process, images=train_images)
    if cfg.kind == "local":
        return LocalScore(process=process, images=train_images, patch=cfg.patch, padding=cfg.padding)
    if cfg.kind == "population":
        if target is None or rng is None:
            raise ValueError("the population oracle needs the target and an rng")
        return population_score(process=process, target=target, reference_size=cfg.reference_size,
                                rng=rng)
    raise ValueError(f"unknown oracle kind {cfg.kind!r}")  # the config loader rejects it first


__all__ = ["build_oracle", "EmpiricalScore", "LocalScore", "population_score",
           "population_images", "posterior_mean", "OracleConfig"]
