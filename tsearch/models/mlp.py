"""``mlp``: a residual multilayer perceptron on the flattened image (no notion of locality).

    eps_hat(x, sigma) = W_out . LN(h_L),   h_0 = W_in vec(x),
    h_{l+1} = h_l + W_l SiLU(LN(h_l) + U_l SiLU(e(sigma)))          e: NoiseEmbedding

Predicts the noise eps of x = x_0 + sigma eps (preconditioned units), or x_0 itself with
``model.predicts = "x0"``; the diffusion code turns either into a score.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .embedding import NoiseEmbedding


class MLPBlock(nn.Module):
    def __init__(self, *, width: int, time_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.time = nn.Linear(time_dim, width)
        self.linear = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        y = self.norm(h) + self.time(F.silu(emb))  # (B, width)
        return h + self.linear(F.silu(y))


class MLPScore(nn.Module):
    predicts = "eps"

    def __init__(self, *, side: int, width: int, depth: int, time_dim: int, predicts: str = "eps"):
        super().__init__()
        self.predicts = predicts
        self.side = side
        self.embed = NoiseEmbedding(dim=time_dim)
        self.inp = nn.Linear(side * side, width)
        self.blocks = nn.ModuleList(MLPBlock(width=width, time_dim=time_dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, side * side))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        emb = self.embed(sigma)  # (B, time_dim)
        h = self.inp(x.flatten(-2))  # (B, width)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h).reshape(x.shape)
