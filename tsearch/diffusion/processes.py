"""Forward noising processes: x_t = alpha(t) x_0 + sigma(t) z,  z ~ N(0, I).

Symbols (Song et al. 2021, "Score-Based Generative Modeling through SDEs", eq. 5):
    forward SDE      dx = f(x, t) dt + g(t) dW,     drift(x, t) = f,  diffusion(t) = g
    marginal         p_t(x | x_0) = N(alpha(t) x_0, sigma(t)^2 I)
    noise level      sigma_hat(t) = sigma(t) / alpha(t)   (Karras et al. 2022, "EDM", sec. 4:
                     every such process is a rescaled variance-exploding one, x_t / alpha(t) =
                     x_0 + sigma_hat(t) z; networks are conditioned on sigma_hat)

Kinds:
    ``ou`` (default, Biroli's lectures): dx = -x dt + sqrt(2) dW, so alpha = e^{-t},
           sigma = sqrt(1 - e^{-2t}), t in [t_min, t_max]; the prior N(0, I) is its stationary law.
    ``ve`` (Song & Ermon 2019, NCSN): time is the noise level itself, t = sigma in
           [sigma_min, sigma_max], alpha = 1, dx = sqrt(d sigma^2 / dt) dW = sqrt(2 t) dW.

Noise levels, for training (``sample_t``) and sampling (``time_grid``), are spread uniformly in
log sigma_hat (= uniformly in log-SNR). For ``ve`` this is NCSN's geometric sigma schedule and
score_sde's VE training law. For ``ou`` it is preferred over uniform-in-t because uniform t puts
75 % of the training (and of the sampler's steps) at t > 1, where x_t is nearly pure noise,
while steps of constant dt near t = 0 are too coarse (dt / t ~ 1 on the last step).
Training and sampling share this one law, so the network is trained where it is queried.
"""

from __future__ import annotations

import math

import torch

from .. import torch_seeding
from ..config import DiffusionConfig as D  # the defaults, stated once


def generator_device(generator: torch_seeding.Generators) -> torch.device:
    """The device a generator (or the first of a list of them) draws on."""
    return generator.device if isinstance(generator, torch.Generator) else generator[0].device


class Process:
    """A forward process on [t_min, t_max]; subclasses give alpha, sigma, drift, diffusion and
    the inverse map ``t_of_sigma_hat``."""

    t_min: float
    t_max: float

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def drift(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def t_of_sigma_hat(self, sigma_hat: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sigma_hat(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma(t) / self.alpha(t)

    def _log_sigma_hat_range(self) -> tuple[float, float]:
        ends = self.sigma_hat(torch.tensor([self.t_min, self.t_max], dtype=torch.float64))
        return math.log(ends[0]), math.log(ends[1])

    def _t_of_log_sigma_hat(self, log_s: torch.Tensor) -> torch.Tensor:
        return self.t_of_sigma_hat(log_s.exp()).clamp(self.t_min, self.t_max)

    def sample_t(self, shape, generator: torch_seeding.Generators) -> torch.Tensor:
        """Training times, log sigma_hat uniform (see the module docstring); shape ``shape``."""
        lo, hi = self._log_sigma_hat_range()
        u = torch_seeding.rand(shape, generator, device=generator_device(generator), dtype=torch.float64)
        return self._t_of_log_sigma_hat(lo + (hi - lo) * u).float()

    def time_grid(self, n_steps: int, device=None) -> torch.Tensor:
        """(n_steps + 1,) times from t_max down to t_min, uniform in log sigma_hat."""
        lo, hi = self._log_sigma_hat_range()
        t = self._t_of_log_sigma_hat(torch.linspace(hi, lo, n_steps + 1, dtype=torch.float64))
        t[0], t[-1] = self.t_max, self.t_min  # exact ends, whatever the round trip did
        return t.to(device=device, dtype=torch.float32)

    def prior_std(self) -> float:
        """Std of the prior: the marginal's at t_max for unit-variance (±1 pixel) data."""
        t = torch.tensor(self.t_max, dtype=torch.float64)
        return float((self.alpha(t) ** 2 + self.sigma(t) ** 2).sqrt())

    def prior_sample(self, shape, generator: torch_seeding.Generators) -> torch.Tensor:
        return self.prior_std() * torch_seeding.randn(shape, generator, device=generator_device(generator))


class OUProcess(Process):
    """Ornstein–Uhlenbeck: dx = -x dt + sqrt(2) dW;  alpha = e^{-t}, sigma = sqrt(1 - e^{-2t})."""

    def __init__(self, *, t_min: float = D.t_min, t_max: float = D.t_max):
        self.t_min, self.t_max = float(t_min), float(t_max)

    def alpha(self, t):
        return torch.exp(-torch.as_tensor(t))

    def sigma(self, t):
        return torch.sqrt(-torch.expm1(-2 * torch.as_tensor(t)))

    def sigma_hat(self, t):
        return torch.sqrt(torch.expm1(2 * torch.as_tensor(t)))  # sigma / alpha, without cancellation

    def t_of_sigma_hat(self, sigma_hat):
        return 0.5 * torch.log1p(sigma_hat**2)

    def drift(self, x, t):
        return -x

    def diffusion(self, t):
        return torch.full_like(torch.as_tensor(t, dtype=torch.float32), math.sqrt(2.0))


class VEProcess(Process):
    """Variance exploding with t = sigma: x_t = x_0 + t z,  dx = sqrt(2 t) dW."""

    def __init__(self, *, sigma_min: float = D.sigma_min, sigma_max: float = D.sigma_max):
        self.t_min, self.t_max = float(sigma_min), float(sigma_max)

    def alpha(self, t):
        return torch.ones_like(torch.as_tensor(t))

    def sigma(self, t):
        return torch.as_tensor(t).clone()

    def t_of_sigma_hat(self, sigma_hat):
        return sigma_hat

    def drift(self, x, t):
        return torch.zeros_like(x)

    def diffusion(self, t):
        return torch.sqrt(2 * torch.as_tensor(t))
