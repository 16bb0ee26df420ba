"""Copies up to translation (and optionally the 8 symmetries of the square), and the Hamming
distance of a sample to its nearest training image up to translation.

Symbols: s (M, H, W) binarized samples, y (n, H, W) training images, both as white indicators
(1 white, 0 black); T_k y = y translated by k = (dy, dx), allowed when every white pixel of y
stays on the canvas (so |T_k y| = |y|).

    copy_shift(s)  s = T_k g y_j for some j, allowed k and g in G (G = {id} or the dihedral group
                   D4 of the square: rotations and reflections). Two non-empty images are equal
                   up to allowed translation iff their crops to the bounding box of the white
                   pixels are equal, so each image gets a canonical key: the image translated so
                   its bounding box touches the top-left corner. Exact, O(M + n) hashing.
    h(s)           min_{j, g, allowed k} |s XOR T_k g y_j| = min (|s| + |y_j| - 2 max_k C_j(k)),
                   C_j(k) = sum_p s(p) y_j(p - k) the cross-correlation, for all k at once by FFT
                   on a (2H, 2W) grid (no wrap-around: shifts span -(H-1)..H-1).
    h_norm(s)      h(s) / max(|s|, 1): the fraction of the sample's white area that differs.
"""

from __future__ import annotations

import numpy as np
import torch

BLOCK = 2**24  # correlation entries per block (M_b x n x 2H x 2W): 64 MiB in float32


def symmetries(white: np.ndarray, group: str) -> np.ndarray:
    """(n, H, W) -> (g n, H, W): the images under every element of the group ("none" | "d4");
    D4 needs square images."""
    if group == "none":
        return white
    rotations = [np.rot90(white, r, axes=(1, 2)) for r in range(4)]
    return np.concatenate(rotations + [r[:, :, ::-1] for r in rotations])


def top_left(white: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> the same images translated so their white bounding box starts at (0, 0)
    (an empty image stays empty): the canonical representative under allowed translations."""
    n, h, w = white.shape
    r0 = white.any(axis=2).argmax(axis=1)  # (n,) first white row (0 when empty)
    c0 = white.any(axis=1).argmax(axis=1)
    rows = r0[:, None] + np.arange(h)  # (n, H)
    cols = c0[:, None] + np.arange(w)
    inside = (rows < h)[:, :, None] & (cols < w)[:, None, :]
    out = white[np.arange(n)[:, None, None], np.minimum(rows, h - 1)[:, :, None],
                np.minimum(cols, w - 1)[:, None, :]]
    return out & inside


def shift_keys(white: np.ndarray, group: str = "none") -> list[bytes]:
    """One hashable key per image, equal for images equal up to allowed translation (and the
    group: the smallest key over the image's symmetries)."""
    n = len(white)
    aligned = top_left(symmetries(white, group))  # (g n, H, W)
    packed = np.packbits(aligned.reshape(len(aligned), aligned[0].size if n else 0), axis=1)
    keys = [row.tobytes() for row in packed]
    return [min(keys[k::n]) for k in range(n)]  # element k of each group block


def copy_shift(samples: np.ndarray, train: np.ndarray, group: str = "none") -> np.ndarray:
    """(M,) bool: the sample equals a training image up to allowed translation (and group)."""
    seen = set(shift_keys(train, group))
    return np.array([k in seen for k in shift_keys(samples, group)], dtype=bool)


def min_shift_hamming(samples: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """(M, H, W) and (n, H, W) white indicators (0/1 float) -> (M,) h: the Hamming distance to
    the nearest training image under allowed translations, on the samples' device."""
    m, h, w = samples.shape
    size = (2 * h, 2 * w)
    allowed = allowed_shifts(train, size)  # (n, 2H, 2W) bool
    y_hat = torch.fft.rfft2(train, s=size).conj()  # (n, 2H, W + 1)
    y_area = train.sum(dim=(1, 2))  # (n,)
    out = []
    for block in samples.split(max(1, BLOCK // (len(train) * 4 * h * w))):
        corr = torch.fft.irfft2(torch.fft.rfft2(block, s=size)[:, None] * y_hat, s=size)  # (b, n, 2H, 2W)
        best = corr.masked_fill(~allowed, -1.0).amax(dim=(2, 3)).round()  # (b, n) max overlap
        out.append((block.sum(dim=(1, 2))[:, None] + y_area - 2 * best.clamp_min(0)).amin(dim=1))
    return torch.cat(out)


def allowed_shifts(train: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(n, 2H, 2W) bool: shift k (stored at k mod (2H, 2W)) keeps every white pixel of y_j on
    the canvas; an empty image allows the zero shift only."""
    n, h, w = train.shape
    rows, cols = train.any(dim=2), train.any(dim=1)  # (n, H), (n, W)
    k_r = torch.fft.fftfreq(size[0], 1 / size[0], device=train.device).round().long()  # 0..H-1, -H..-1
    k_c = torch.fft.fftfreq(size[1], 1 / size[1], device=train.device).round().long()
    ok_r = _shift_range(rows, k_r, h)  # (n, 2H)
    ok_c = _shift_range(cols, k_c, w)
    return ok_r[:, :, None] & ok_c[:, None, :]


def _shift_range(occupied: torch.Tensor, k: torch.Tensor, length: int) -> torch.Tensor:
    """(n, L) occupied rows (or columns), (2L,) shifts -> (n, 2L) bool: first + k >= 0 and
    last + k <= L - 1 (only k = 0 when nothing is occupied)."""
    index = torch.arange(length, device=occupied.device)
    first = torch.where(occupied, index, length).amin(dim=1)  # (n,)
    last = torch.where(occupied, index, -1).amax(dim=1)
    empty = ~occupied.any(dim=1)
    ok = (first[:, None] + k >= 0) & (last[:, None] + k <= length - 1)
    return torch.where(empty[:, None], k == 0, ok)
