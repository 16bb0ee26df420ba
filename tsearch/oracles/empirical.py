"""The exact score of the Gaussian-smoothed training set: a model that memorizes perfectly.

Symbols (x_t = alpha x_0 + sigma z; training images y_1..y_n, flattened to d pixels):
    p_t(x)      = (1/n) sum_i N(x; alpha y_i, sigma^2 I)
    w_i(x)      = softmax_i( -|x - alpha y_i|^2 / (2 sigma^2) )      (posterior over images)
    x0_hat(x)   = sum_i w_i y_i = E[x_0 | x_t = x]                  (Tweedie)
    score(x, t) = (alpha x0_hat - x) / sigma^2 = grad log p_t(x)
The logits expand as (alpha x.y_i - alpha^2 |y_i|^2 / 2) / sigma^2 - |x|^2 / (2 sigma^2); the last
term is the same for every i and drops out of the softmax, so distances are matrix products.
Repeated images are merged, their multiplicity entering as log-count prior weights (exact).
"""

from __future__ import annotations

import torch

from ..diffusion import Process, score_from_x0
from ..errors import UserError

CHUNK_ELEMENTS = 2**23  # logits held at once (32 MB in float32), whatever the batch


def as_images(images, name: str) -> torch.Tensor:
    """(n, H, W) array-like with n >= 1 -> float32 tensor; a UserError naming ``name`` else."""
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.ndim != 3 or images.shape[0] == 0:
        raise UserError(f"{name}: expected a non-empty stack of images (n, H, W), "
                        f"got shape {tuple(images.shape)}")
    return images


def unique_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, k) -> distinct rows (U, k) and the log of their counts (U,)."""
    unique, counts = torch.unique(rows, dim=0, return_counts=True)
    return unique, counts.float().log()


def posterior_mean(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                   log_prior: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """E[value | query] under the mixture sum_u prior_u N(query; alpha key_u, sigma^2 I).

    queries (R, k), keys (U, k), values (U, m), log_prior (U,) -> (R, m); chunked over R."""
    keys, values, log_prior = (a.to(queries) for a in (keys, values, log_prior))
    bias = log_prior - alpha**2 * keys.square().sum(-1) / (2 * sigma**2)  # (U,)
    rows = max(1, CHUNK_ELEMENTS // keys.shape[0])
    return torch.cat([torch.softmax((alpha / sigma**2) * (q @ keys.T) + bias, dim=-1) @ values
                      for q in queries.split(rows)])


class EmpiricalScore:
    """score_fn(x, t) of the smoothed empirical distribution of ``images`` (n, H, W)."""

    def __init__(self, *, process: Process, images, name: str = "train_images"):
        images = as_images(images, name)
        self.process, self.shape = process, tuple(images.shape[1:])
        self.keys, self.log_prior = unique_rows(images.flatten(1))  # (U, d), (U,)

    def denoise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """E[x_0 | x_t = x]: x (..., H, W) -> (..., H, W)."""
        check_shape(x, self.shape)
        alpha, sigma = self.process.alpha(t), self.process.sigma(t)
        x0_hat = posterior_mean(x.reshape(-1, x.shape[-2] * x.shape[-1]), self.keys, self.keys,
                                self.log_prior, alpha, sigma)
        return x0_hat.reshape(x.shape)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return score_from_x0(self.denoise(x, t), x, self.process.alpha(t), self.process.sigma(t))


def check_shape(x: torch.Tensor, shape: tuple[int, int]) -> None:
    if tuple(x.shape[-2:]) != shape:
        raise UserError(f"oracle: images of shape {shape} cannot score x of shape {tuple(x.shape)}")
