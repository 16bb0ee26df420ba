"""``unet``: the typical image score model (Ho et al. 2020; Song et al. 2021), small.

    levels l = 0..L-1 at resolutions side_p / 2^l, channels c_l = channels[l];
    down:  h <- ResBlock(h, e) (blocks_per_level times, each output kept as a skip), then AvgPool 2
    mid:   h <- ResBlock(h, e)
    up:    h <- ResBlock([h, skip], e) (blocks_per_level times), then nearest-neighbour Upsample 2
    ResBlock(h, e) = S h + Conv(SiLU(GN(Conv(SiLU(GN(h))) + U SiLU(e(sigma)))))

The image is zero-padded (right, bottom) to side_p, a multiple of 2^(L-1), and cropped back, so
any side works. Predicts eps (or x0: model.predicts).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .embedding import NoiseEmbedding


class ResBlock(nn.Module):
    def __init__(self, *, c_in: int, c_out: int, groups: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.silu(self.norm1(h))) + self.time(F.silu(emb))[:, :, None, None]
        return self.skip(h) + self.conv2(F.silu(self.norm2(y)))


def upsample(h: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, 2H, 2W), nearest neighbour."""
    return h.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


class UNetScore(nn.Module):
    predicts = "eps"

    def __init__(self, *, side: int, channels: tuple[int, ...], blocks_per_level: int, groups: int,
                 time_dim: int, predicts: str = "eps"):
        super().__init__()
        self.side, self.predicts = side, predicts
        multiple = 2 ** (len(channels) - 1)
        self.pad = -side % multiple
        self.embed = NoiseEmbedding(dim=time_dim)
        self.inp = nn.Conv2d(1, channels[0], 3, padding=1)
        block = dict(groups=groups, time_dim=time_dim)
        self.down = nn.ModuleList()
        ch, skips = channels[0], []
        for c in channels:
            level = nn.ModuleList()
            for _ in range(blocks_per_level):
                level.append(ResBlock(c_in=ch, c_out=c, **block))
                ch = c
                skips.append(c)
            self.down.append(level)
        self.mid = ResBlock(c_in=ch, c_out=ch, **block)
        self.up = nn.ModuleList()
        for c in reversed(channels):
            level = nn.ModuleList()
            for _ in range(blocks_per_level):
                level.append(ResBlock(c_in=ch + skips.pop(), c_out=c, **block))
                ch = c
            self.up.append(level)
        self.out = nn.Sequential(nn.GroupNorm(groups, ch), nn.SiLU(), nn.Conv2d(ch, 1, 3, padding=1))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        emb = self.embed(sigma)  # (B, time_dim)
        h = self.inp(F.pad(x, (0, self.pad, 0, self.pad))[:, None])  # (B, c_0, side_p, side_p)
        skips = []
        for i, level in enumerate(self.down):
            if i > 0:
                h = F.avg_pool2d(h, 2)
            for block in level:
                h = block(h, emb)
                skips.append(h)
        h = self.mid(h, emb)
        for i, level in enumerate(self.up):
            if i > 0:
                h = upsample(h)
            for block in level:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)[:, 0, :self.side, :self.side]
