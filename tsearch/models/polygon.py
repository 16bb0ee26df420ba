"""``polygon``: experiment 4's crafted model, a denoiser that can only output polygons.

The network predicts x_0 (``predicts = "x0"``), and its prediction is always the rendering of a
polygon with K = ``max_vertices`` vertices:

    encoder      (x_t, e(sigma)) -> centre c in (0,1)^2, rotation phi, gap logits a_k, radii r_k,
                                    edge sharpness s                       (CNN + MLP, k = 1..K)
    vertices     theta_k = phi + sum_{j<=k} g_j,  g = 2 pi (lambda / K + (1 - lambda) softmax(a))
                 v_k = c + r_k (cos theta_k, sin theta_k),   r_k = sigmoid(.) > 0
    rasterizer   x0_hat(p) = tanh(s * side * SDF(p)),  p = pixel centre ((j + 1/2)/side, (i + 1/2)/side)

Why a star polygon: vertices sorted by angle around a point c with every angular gap g_k < pi
form a polygon whose kernel contains c, hence a *simple* polygon, for every output of the
network; lambda = 1.05 K / (2 (K - 1)) is the smallest floor (plus 5 %) keeping every g_k < pi.
Fewer than K vertices are represented by collinear or nearly coincident vertices, so no mixture
over vertex counts is needed.

Why a signed distance: SDF(p) = +/- (distance from p to the nearest edge), positive iff the winding
number of the polygon around p is non-zero. Its magnitude is differentiable in the vertices (the
winding number only gives the sign, and carries no gradient), and it is exactly 0 on an edge, so
binarizing x0_hat at 0 gives white iff the pixel centre is *strictly* inside: the polygons
target's rasterization, exactly, for any sharpness. The sharpness s (in 1/pixels) is the config's
``sharpness`` times exp(3 tanh(h / 3)), h predicted from (x_t, sigma): at high noise the
posterior mean is blurry and the network may soften its edges; at low noise it sharpens them.

The score then follows from x0_hat by the standard formula (``tsearch.diffusion.make_score_fn``).
Everything is batched tensor algebra (no sort, no data-dependent branches): it vmaps over
stacked parameters like the other models.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .cnn import ConvBlock
from .embedding import NoiseEmbedding

POOLED = 4  # the encoder's features are average-pooled to a POOLED x POOLED grid (side >= 4)


def pixel_centres(side: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """(side^2, 2) points (x, y) = ((j + 1/2)/side, (i + 1/2)/side), row-major over (i, j)."""
    u = (torch.arange(side, device=device, dtype=dtype) + 0.5) / side
    y, x = torch.meshgrid(u, u, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=-1)


def winding_number(vertices: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """vertices (B, K, 2) of a closed polygon, points (N, 2) -> (B, N) winding numbers.

    Sum over edges (a, b) of the signed angle a - p, b - p subtends at p, over 2 pi."""
    pa = vertices[:, None, :, :] - points[None, :, None, :]  # (B, N, K, 2)
    pb = pa.roll(-1, dims=2)
    cross = pa[..., 0] * pb[..., 1] - pa[..., 1] * pb[..., 0]
    dot = (pa * pb).sum(-1)
    return torch.atan2(cross, dot).sum(-1) / (2 * math.pi)


ON_EDGE = 1e-6  # distances below this (unit-square units, ~float32 rounding) are on the boundary


def boundary_distance(squared: torch.Tensor) -> torch.Tensor:
    """sqrt, snapped to exactly 0 (with a zero, not NaN, gradient) on the boundary: a pixel centre
    on an edge is outside (``strictly inside`` convention), whatever the rounding of its winding."""
    off = squared > ON_EDGE**2
    return torch.where(off, torch.where(off, squared, 1.0).sqrt(), 0.0)


def signed_distance(vertices: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """vertices (B, K, 2), points (N, 2) -> (B, N): distance to the boundary, > 0 inside."""
    a = vertices[:, None, :, :]  # (B, 1, K, 2)
    ab = vertices.roll(-1, dims=1)[:, None, :, :] - a
    ap = points[None, :, None, :] - a  # (B, N, K, 2)
    t = ((ap * ab).sum(-1) / ((ab * ab).sum(-1) + 1e-12)).clamp(0.0, 1.0)  # (B, N, K)
    distance = boundary_distance(((ap - t[..., None] * ab) ** 2).sum(-1).amin(-1))  # (B, N)
    inside = winding_number(vertices.detach(), points).abs() > 0.5
    return torch.where(inside, distance, -distance)


def soft_rasterize(vertices: torch.Tensor, *, side: int, sharpness) -> torch.Tensor:
    """vertices (B, K, 2) in unit-square coordinates -> (B, side, side) images in (-1, 1).

    ``sharpness`` (float or (B,) tensor) is in 1/pixels; as it grows, the image tends to the
    hard rasterization (+1 iff the pixel centre is strictly inside, -1 otherwise, 0 on edges)."""
    points = pixel_centres(side, device=vertices.device, dtype=vertices.dtype)
    sdf = signed_distance(vertices, points) * side  # (B, side^2), in pixels
    s = torch.as_tensor(sharpness, dtype=vertices.dtype, device=vertices.device)
    return torch.tanh(s.reshape(-1, 1) * sdf).reshape(-1, side, side)


def star_polygon(centre: torch.Tensor, rotation: torch.Tensor, gap_logits: torch.Tensor,
                 radius: torch.Tensor) -> torch.Tensor:
    """centre (B, 2), rotation (B,), gap_logits (B, K), radius (B, K) > 0 -> vertices (B, K, 2)
    of a polygon that is star-shaped around ``centre`` (every angular gap < pi), hence simple."""
    K = gap_logits.shape[-1]
    floor = min(1.0, 1.05 * K / (2 * (K - 1)))
    gaps = 2 * math.pi * (floor / K + (1 - floor) * torch.softmax(gap_logits, dim=-1))
    theta = rotation[:, None] + gaps.cumsum(-1)  # (B, K)
    return centre[:, None, :] + radius[..., None] * torch.stack([theta.cos(), theta.sin()], -1)


class PolygonScore(nn.Module):
    predicts = "x0"

    def __init__(self, *, side: int, max_vertices: int, channels: int, width: int, time_dim: int,
                 sharpness: float, initial_radius: float = 0.3):
        super().__init__()
        self.side, self.K, self.sharpness = side, max_vertices, sharpness
        self.embed = NoiseEmbedding(dim=time_dim)
        groups = math.gcd(channels, 8)
        # (x_t, x coordinate, y coordinate): the vertices are absolute positions (CoordConv)
        self.inp = nn.Conv2d(3, channels, 3, padding=1)
        self.convs = nn.ModuleList(ConvBlock(channels=channels, kernel_size=3, groups=groups,
                                             time_dim=time_dim) for _ in range(2))
        self.norm = nn.GroupNorm(groups, channels)
        self.fc = nn.Linear(channels * POOLED**2, width)
        self.time = nn.Linear(time_dim, width)
        self.hidden = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, width))
        self.head = nn.Linear(width, 2 * max_vertices + 4)
        # a zero head starts every model at a regular K-gon of radius `initial_radius`, centred
        # (constant tensors, so the engine's seeded re-initialisation keeps them)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.radius_offset = math.log(initial_radius / (1 - initial_radius))

    def encode(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """(B, H, W), (B,) -> (B, width) features (bf16 under autocast is fine here)."""
        emb = self.embed(sigma)  # (B, time_dim)
        coords = pixel_centres(self.side, device=x.device, dtype=x.dtype).T.reshape(2, self.side, self.side)
        h = self.inp(torch.cat([x[:, None], coords.expand(x.shape[0], 2, -1, -1)], dim=1))
        for block in self.convs:
            h = block(h, emb)  # (B, C, H, W)
        h = F.adaptive_avg_pool2d(F.silu(self.norm(h)), POOLED).flatten(1)  # (B, C * 16)
        h = self.fc(h) + self.time(F.silu(emb))  # (B, width)
        return F.silu(h + self.hidden(h))

    def polygon(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The predicted polygon: vertices (B, K, 2) and edge sharpness (B,) in 1/pixels."""
        features = self.encode(x, sigma).float()
        with torch.autocast(x.device.type, enabled=False):  # bf16 would round vertices by ~side/256 px
            out = self.head(features)  # (B, 2K + 4)
        K = self.K
        centre, rotation, log_sharp = torch.sigmoid(out[:, :2]), out[:, 2], out[:, 3]
        gap_logits, radius = out[:, 4:4 + K], torch.sigmoid(out[:, 4 + K:] + self.radius_offset)
        sharpness = self.sharpness * torch.exp(3 * torch.tanh(log_sharp / 3))
        return star_polygon(centre, rotation, gap_logits, radius), sharpness

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        vertices, sharpness = self.polygon(x, sigma)  # float32: autocast casts no op of the rasterizer
        return soft_rasterize(vertices, side=self.side, sharpness=sharpness)
