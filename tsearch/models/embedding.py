"""Noise-level embedding shared by every score model.

The networks are conditioned on c_noise = log(sigma) / 4 (Karras et al. 2022, "Elucidating the
Design Space of Diffusion-Based Generative Models", Table 1, preconditioning column of EDM):

    e(sigma) = MLP([cos(pi f_k c_noise), sin(pi f_k c_noise)]_{k < dim/2}),   f_k geometric in [1, 64]

The frequencies are computed in ``forward`` (no buffers, no randomness), so the embedding is a
pure function of its two Linear layers' parameters and vmaps over stacked copies.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def fourier_features(sigma: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) noise levels -> (B, dim) sinusoidal features of c_noise = log(sigma) / 4."""
    c_noise = sigma.log() / 4  # (B,)
    half = dim // 2
    freqs = math.pi * torch.logspace(0, 6, half, base=2.0, device=sigma.device, dtype=sigma.dtype)
    angles = c_noise[..., None] * freqs  # (B, half)
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


class NoiseEmbedding(nn.Module):
    """sigma (B,) -> (B, dim): Fourier features of log(sigma)/4 followed by a 2-layer MLP."""

    def __init__(self, *, dim: int):
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"noise embedding dim must be even and >= 2, got {dim}")
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        return self.mlp(fourier_features(sigma, self.dim))
