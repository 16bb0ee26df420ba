"""Diffusion: forward processes, the denoising score-matching loss, samplers. Pure torch, no I/O.

    process = build_process(cfg.diffusion)
    score_fn = make_score_fn(net_fn, process, predicts="eps")
    loss = denoising_loss(net_fn, x0, process, generator, predicts="eps")   # (B,) or (P, B)
    samples = build_sampler(cfg.sampler, process).sample(score_fn, shape, generator)

Kinds are registered with their config fields in ``tsearch.config.PROCESSES`` / ``SAMPLERS``.
"""

from ..config import PROCESSES, SAMPLERS, DiffusionConfig, SamplerConfig
from .parameterization import PREDICTS, NetFn, ScoreFn, denoising_loss, make_score_fn, score_from_x0
from .processes import OUProcess, Process, VEProcess, generator_device
from .samplers import AnnealedLangevinSampler, ProbabilityFlowSampler, ReverseSDESampler, Sampler, tweedie


def build_process(cfg: DiffusionConfig) -> Process:
    """The forward process of the ``[diffusion]`` table."""
    return PROCESSES.build(cfg)


def build_sampler(cfg: SamplerConfig, process: Process) -> Sampler:
    """The sampler of the ``[sampler]`` table, driving ``process`` in reverse."""
    return SAMPLERS.build(cfg, process=process)


__all__ = [
    "PREDICTS", "NetFn", "ScoreFn", "denoising_loss", "make_score_fn", "score_from_x0",
    "OUProcess", "Process", "VEProcess", "build_process", "generator_device",
    "AnnealedLangevinSampler", "ProbabilityFlowSampler", "ReverseSDESampler", "Sampler",
    "build_sampler", "tweedie",
]
