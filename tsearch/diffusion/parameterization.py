"""From a network's prediction to a score, and the denoising score-matching loss.

Symbols (x_t = alpha x_0 + sigma z, sigma_hat = sigma / alpha; see processes.py):
    network       net_fn(x_in, sigma_hat) -> eps_hat (predicts "eps") or x0_hat (predicts "x0")
    input scale   x_in = c_in x_t,  c_in = 1 / sqrt(alpha^2 + sigma^2)   (Karras et al. 2022,
                  "EDM", Table 1, with sigma_data = 1 for ±1 pixels): x_in has unit variance at
                  every noise level. The network is conditioned on sigma_hat, the noise level of
                  the equivalent VE process, so a model does not depend on the process kind.
    score         eps:  s = -eps_hat / sigma;   x0:  s = (alpha x0_hat - x_t) / sigma^2
                  (Tweedie: E[x_0 | x_t] = (x_t + sigma^2 grad log p_t) / alpha)
    loss          DSM with weight lambda(t) = sigma^2 (Song et al. 2021, eq. 7; Vincent 2011):
                  L = lambda |s(x_t, t) - grad log p(x_t | x_0)|^2 = |sigma s + z|^2,
                  i.e. |eps_hat - z|^2 for "eps" and |x0_hat - x_0|^2 / sigma_hat^2 for "x0";
                  averaged over pixels so that it reads as a per-pixel MSE.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import torch_seeding
from ..config import PREDICTIONS
from .processes import Process, generator_device

NetFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_in (..., H, W), sigma_hat (...))
ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x (..., H, W), t) -> score
PREDICTS = PREDICTIONS  # what a network may output: "eps" or "x0" (model.predicts)


def score_from_x0(x0_hat: torch.Tensor, x: torch.Tensor, alpha, sigma) -> torch.Tensor:
    """Tweedie's formula solved for the score: (alpha x0_hat - x) / sigma^2."""
    return (alpha * x0_hat - x) / sigma**2


def _per_image(c: torch.Tensor) -> torch.Tensor:
    """A coefficient of shape () or (...) -> broadcastable against images (..., H, W)."""
    return c[..., None, None]


def make_score_fn(net_fn: NetFn, process: Process, predicts: str = "eps") -> ScoreFn:
    """score_fn(x, t) for a network; t is 0-dim (a sampler) or of shape x.shape[:-2] (a loss)."""
    if predicts not in PREDICTS:
        raise ValueError(f"predicts must be one of {PREDICTS}, got {predicts!r}")

    def score_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, sigma = _per_image(process.alpha(t)), _per_image(process.sigma(t))
        sigma_hat = process.sigma_hat(t).expand(x.shape[:-2])  # (...)
        prediction = net_fn(x / torch.sqrt(alpha**2 + sigma**2), sigma_hat).to(x.dtype)
        if predicts == "eps":
            return -prediction / sigma
        return score_from_x0(prediction, x, alpha, sigma)

    return score_fn


def denoising_loss(net_fn: NetFn, x0: torch.Tensor, process: Process,
                   generator: torch_seeding.Generators, predicts: str = "eps") -> torch.Tensor:
    """Per-image DSM loss: x0 (B, H, W) -> (B,), or (P, B, H, W) with P generators -> (P, B).

    t then z are drawn from ``generator`` (slice i from generator[i] alone)."""
    t = process.sample_t(x0.shape[:-2], generator)  # (B,) or (P, B)
    z = torch_seeding.randn(x0.shape, generator, device=generator_device(generator), dtype=x0.dtype)
    sigma = _per_image(process.sigma(t))
    x_t = _per_image(process.alpha(t)) * x0 + sigma * z
    score = make_score_fn(net_fn, process, predicts)(x_t, t)
    return (sigma * score + z).square().mean(dim=(-2, -1))
