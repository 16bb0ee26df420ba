"""Diffusion: forward processes, the denoising score-matching loss, samplers. Pure torch, no I/O.

    process = build_process(cfg.diffusion)
    score_fn = make_score_fn(net_fn, process, predicts="eps")
    loss = denoising_loss(net_fn, x0, process, generator, predicts="eps")   # (B,) or (P, B)
    samples = build_sampler(cfg.sampler, process).sample(score_fn, shape, generator)
"""

from .parameterization import PREDICTS, NetFn, ScoreFn, denoising_loss, make_score_fn, score_from_x0
from .processes import OUProcess, Process, VEProcess, build_process, generator_device
from .samplers import (AnnealedLangevinSampler, ProbabilityFlowSampler, ReverseSDESampler, Sampler,
                       build_sampler, tweedie)

__all__ = [
    "PREDICTS", "NetFn", "ScoreFn", "denoising_loss", "make_score_fn", "score_from_x0",
    "OUProcess", "Process", "VEProcess", "build_process", "generator_device",
    "AnnealedLangevinSampler", "ProbabilityFlowSampler", "ReverseSDESampler", "Sampler",
    "build_sampler", "tweedie",
]
