"""Which samples copy a training image: exactly, or nearly (nearest/second-nearest L2 ratio).

Symbols: x (M, d) raw samples, s = sign(x) their binarization (±1), y (n, d) training images.

    exact copy:  s = y_j for some j;  for ±1 vectors Hamming(s, y_j) = (d - s . y_j) / 2,
                 so all M x n distances are one matrix product.
    near copy:   ||x - y_(1)|| / ||x - y_(2)|| < ratio   (ratio = 1/3)
                 with y_(1), y_(2) the nearest and second-nearest *distinct* training images,
                 the rule of Yoon et al. 2023, Gu et al. 2023 and Bonnaire et al. 2025.
                 ||x - y||^2 = ||x||^2 - 2 x . y + ||y||^2, again a matrix product.

Everything runs on the samples' device, in blocks of at most BLOCK distance entries.
"""

from __future__ import annotations

import torch

BLOCK = 2**24  # distance-matrix entries per block: 64 MiB in float32


def min_hamming(s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(M, d) and (n, d) in ±1 -> (M,) Hamming distance from each s to its nearest y."""
    d = s.shape[1]
    overlap = torch.cat([(block @ y.T).amax(dim=1) for block in _blocks(s, len(y))])  # (M,)
    return ((d - overlap) / 2).round().long()


def nearest_ratio(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(M, d) raw and (n, d) distinct images -> (M,) ||x - y_(1)|| / ||x - y_(2)||.

    NaN for every sample when y holds fewer than two images: the rule needs a runner-up.
    """
    if len(y) < 2:
        return torch.full((len(x),), float("nan"), device=x.device)
    y_sq = (y * y).sum(dim=1)  # (n,)
    ratios = []
    for block in _blocks(x, len(y)):
        dist_sq = ((block * block).sum(dim=1, keepdim=True) - 2 * block @ y.T + y_sq).clamp_min(0)
        two = dist_sq.topk(2, dim=1, largest=False).values.sqrt()  # (b, 2), ascending
        ratios.append(two[:, 0] / two[:, 1])
    return torch.cat(ratios)


def _blocks(x: torch.Tensor, n: int):
    return x.split(max(BLOCK // max(n, 1), 1))
