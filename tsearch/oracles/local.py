"""The equivariant local score (ELS) machine: a patch-wise memorizer that creates new images.

Kamb & Ganguli 2025, "An analytic theory of creativity in convolutional diffusion models", eq. 8:
each pixel is denoised from its own P x P neighbourhood alone, matched against every P x P patch
of every training image at every position (translation equivariance):
    x_p          the patch of x centred on pixel p                         (P^2,)
    y_q^i        the patch of training image i centred on pixel q          (P^2,)
    w_{i,q}(x_p) = softmax_{i,q}( -|x_p - alpha y_q^i|^2 / (2 sigma^2) )
    x0_hat(p)    = sum_{i,q} w_{i,q}(x_p) y^i(q)          (the centre pixel of each patch)
    score(x, t)  = (alpha x0_hat - x) / sigma^2
Borders (``padding``, config ``model.padding``; docs/metrics.md, "The local oracle"):
    circular  the image is a torus: patches wrap around. The machine is then exactly
              translation-equivariant (a cyclic shift of x shifts x0_hat), Kamb & Ganguli's ELS.
    black     the canvas continues black beyond the frame: training images are padded with -1,
              x with its noise-free value alpha * (-1), so a border patch of x matches an interior
              patch that has black pixels at those slots exactly (no knowledge of the border).
    zero      both padded with 0 (the value halfway between black and white), like the
              zero-padded convolutions of the CNNs: alpha * 0 = 0, so a padded slot of x matches
              a padded slot of a training patch exactly and border pixels prefer border patches
              (the machine can tell where the border is: Kamb & Ganguli's boundary-aware ELS).
Identical training patches are merged with log-count weights (exact), which bounds the work by
the number of distinct patches (<= 3^(P^2) for ±1 images).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..diffusion import Process, score_from_x0
from .empirical import CHUNK_ELEMENTS, as_images, check_shape, posterior_mean, unique_rows

PADDINGS = ("circular", "black", "zero")


def pad(images: torch.Tensor, r: int, padding: str, fill: float) -> torch.Tensor:
    """(N, H, W) -> (N, H + 2r, W + 2r): wrapped around (circular) or filled with ``fill``."""
    if padding == "circular":
        return F.pad(images[:, None], (r, r, r, r), mode="circular")[:, 0]
    return F.pad(images, (r, r, r, r), value=fill)


def patches(images: torch.Tensor, patch: int, padding: str = "zero", fill: float = 0.0) -> torch.Tensor:
    """(N, H, W) -> (N, H*W, P^2): the padded patch centred on every pixel.

    Strided views of the padded images (F.unfold, im2col, measured 100x slower on CPU)."""
    r = patch // 2
    windows = pad(images, r, padding, fill).unfold(-2, patch, 1).unfold(-2, patch, 1)  # (N, H, W, P, P)
    return windows.reshape(images.shape[0], -1, patch * patch)


class LocalScore:
    """score_fn(x, t) of the ELS machine with ``patch`` x ``patch`` patches of ``images``."""

    def __init__(self, *, process: Process, images, patch: int = 3, padding: str = "black"):
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        images = as_images(images, "train_images")
        self.process, self.patch, self.shape = process, patch, tuple(images.shape[1:])
        self.padding = padding
        self.black = -1.0 if padding == "black" else 0.0  # the clean value beyond the frame
        all_patches = patches(images, patch, padding, self.black).reshape(-1, patch * patch)  # (n H W, P^2)
        self.keys, self.log_prior = unique_rows(all_patches)  # (U, P^2), (U,)
        self.centres = self.keys[:, patch * patch // 2, None]  # (U, 1)

    def denoise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Pixel-wise E[x_0(p) | x_p]: x (..., H, W) -> (..., H, W)."""
        check_shape(x, self.shape)
        alpha, sigma = self.process.alpha(t), self.process.sigma(t)
        flat = x.reshape(-1, *self.shape)  # (N, H, W)
        per_image = flat[0].numel() * self.patch**2  # unfolded size of one image
        fill = float(alpha) * self.black  # x beyond the frame: the noise-free alpha x_0
        chunks = [posterior_mean(patches(c, self.patch, self.padding, fill).reshape(-1, self.patch**2),
                                 self.keys, self.centres, self.log_prior, alpha, sigma)
                  for c in flat.split(max(1, CHUNK_ELEMENTS // per_image))]
        return torch.cat(chunks).reshape(x.shape)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return score_from_x0(self.denoise(x, t), x, self.process.alpha(t), self.process.sigma(t))
