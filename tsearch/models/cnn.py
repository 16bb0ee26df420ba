"""``cnn``: plain same-padded convolutions at full resolution, no down-sampling.

    h_1 = Conv_k(x),   h_{l+1} = h_l + Conv_k(SiLU(GN(h_l) + U_l SiLU(e(sigma)))),  l = 1..depth-1
    eps_hat = Conv_1x1(SiLU(GN(h_depth)))

``depth`` k x k convolutions in a chain: the receptive field is 1 + depth (k - 1) pixels wide, so
the model is local (Kamb & Ganguli 2025, "An analytic theory of creativity in convolutional
diffusion models"). Zero padding lets it know where the border is. Predicts eps (or x0: model.predicts).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .embedding import NoiseEmbedding


class ConvBlock(nn.Module):
    def __init__(self, *, channels: int, kernel_size: int, groups: int, time_dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.time = nn.Linear(time_dim, channels)
        self.conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        y = self.norm(h) + self.time(F.silu(emb))[:, :, None, None]  # (B, C, H, W)
        return h + self.conv(F.silu(y))


class CNNScore(nn.Module):
    predicts = "eps"

    def __init__(self, *, side: int, channels: int, depth: int, kernel_size: int, groups: int,
                 time_dim: int, predicts: str = "eps"):
        super().__init__()
        self.side, self.predicts = side, predicts
        self.embed = NoiseEmbedding(dim=time_dim)
        self.inp = nn.Conv2d(1, channels, kernel_size, padding=kernel_size // 2)
        self.blocks = nn.ModuleList(
            ConvBlock(channels=channels, kernel_size=kernel_size, groups=groups, time_dim=time_dim)
            for _ in range(depth - 1))
        self.out = nn.Sequential(nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, 1, 1))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        emb = self.embed(sigma)  # (B, time_dim)
        h = self.inp(x[:, None])  # (B, C, H, W)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)[:, 0]
