"""``transformer``: a small patch transformer conditioned by adaLN-Zero (Peebles & Xie 2023, DiT).

    tokens h_0 = W_patch patches(x) + P          P: learned position embeddings, one per patch
    (shift_1, scale_1, gate_1, shift_2, scale_2, gate_2) = A_l SiLU(e(sigma))   A_l zero-initialised
    h <- h + gate_1 Attn(LN(h) (1 + scale_1) + shift_1)
    h <- h + gate_2 MLP(LN(h) (1 + scale_2) + shift_2)
    eps_hat = unpatch(W_out (LN(h) (1 + scale) + shift))

The image is zero-padded (right, bottom) to a multiple of ``patch`` and cropped back. Attention is
written out (softmax(q k^T / sqrt(d_head)) v) so it vmaps everywhere. Predicts eps (or x0: model.predicts).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .embedding import NoiseEmbedding


def modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """h (B, N, w); shift, scale (B, w)."""
    return h * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    def __init__(self, *, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, N, w = h.shape
        q, k, v = self.qkv(h).reshape(B, N, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(w // self.heads), dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(B, N, w))  # (B, N, w)


class DiTBlock(nn.Module):
    def __init__(self, *, width: int, heads: int, mlp_ratio: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False)
        self.attn = Attention(width=width, heads=heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(),
                                 nn.Linear(mlp_ratio * width, width))
        self.ada = nn.Linear(time_dim, 6 * width)
        nn.init.zeros_(self.ada.weight)  # every block starts as the identity (adaLN-Zero)
        nn.init.zeros_(self.ada.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(F.silu(emb)).chunk(6, dim=-1)
        h = h + gate1[:, None] * self.attn(modulate(self.norm1(h), shift1, scale1))
        return h + gate2[:, None] * self.mlp(modulate(self.norm2(h), shift2, scale2))


class TransformerScore(nn.Module):
    predicts = "eps"

    def __init__(self, *, side: int, patch: int, width: int, depth: int, heads: int,
                 mlp_ratio: int, time_dim: int, predicts: str = "eps"):
        super().__init__()
        self.side, self.patch, self.predicts = side, patch, predicts
        self.pad = -side % patch
        self.grid = (side + self.pad) // patch  # patches per row
        self.embed = NoiseEmbedding(dim=time_dim)
        self.inp = nn.Linear(patch * patch, width)
        self.position = nn.Parameter(0.02 * torch.randn(self.grid**2, width))
        self.blocks = nn.ModuleList(DiTBlock(width=width, heads=heads, mlp_ratio=mlp_ratio,
                                             time_dim=time_dim) for _ in range(depth))
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.ada = nn.Linear(time_dim, 2 * width)
        self.out = nn.Linear(width, patch * patch)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, side_p, side_p) -> (B, grid^2, patch^2)."""
        B, g, p = x.shape[0], self.grid, self.patch
        return x.reshape(B, g, p, g, p).transpose(2, 3).reshape(B, g * g, p * p)

    def unpatchify(self, t: torch.Tensor) -> torch.Tensor:
        """(B, grid^2, patch^2) -> (B, side_p, side_p)."""
        B, g, p = t.shape[0], self.grid, self.patch
        return t.reshape(B, g, g, p, p).transpose(2, 3).reshape(B, g * p, g * p)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        emb = self.embed(sigma)  # (B, time_dim)
        h = self.inp(self.patchify(F.pad(x, (0, self.pad, 0, self.pad)))) + self.position
        for block in self.blocks:
            h = block(h, emb)  # (B, N, width)
        shift, scale = self.ada(F.silu(emb)).chunk(2, dim=-1)
        y = self.out(modulate(self.norm(h), shift, scale))  # (B, N, patch^2)
        return self.unpatchify(y)[:, :self.side, :self.side]
