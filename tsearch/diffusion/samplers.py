"""Samplers: from the prior at t_max back to t_min, driven by a score function only.

Symbols (x_t = alpha x_0 + sigma z; f, g the forward drift and diffusion, see processes.py;
t_0 = t_max > t_1 > ... > t_N = t_min from ``process.time_grid``; s = score_fn(x, t)):
    reverse_sde       reverse-time SDE dx = [f - g^2 s] dt + g dW_bar (Anderson 1982; Song et al.
                      2021, eq. 6) by Euler–Maruyama, dt = t_{i+1} - t_i < 0:
                      x <- x - [f - g^2 s] |dt| + g sqrt(|dt|) z   (backward Langevin: docs/research.md)
    annealed_langevin NCSN (Song & Ermon 2019, Alg. 1): at each level t_i, ``langevin_steps``
                      times  x <- x + eps_i s + sqrt(2 eps_i) z,  eps_i = 2 (snr sigma(t_i))^2.
                      eps_i is NCSN's eps sigma_i^2 / sigma_L^2, scaled by the signal-to-noise
                      ratio of score_sde's corrector (Song et al. 2021, Alg. 5): its per-image
                      rule eps = 2 (snr |z| / |s|)^2 has this value when |s| = |z| / sigma, but
                      it shrinks the step of a chain that lags behind (measured: VE chains
                      stuck at the prior's scale), so the level's value is used instead.
    probability_flow  dx/dt = f - g^2 s / 2 (Song et al. 2021, eq. 13), Euler or Heun
                      (Karras et al. 2022, Alg. 1)
Every chain ends with one noise-free Tweedie step x <- (x + sigma^2 s) / alpha = E[x_0 | x_{t_min}].

``shape`` is (M, H, W) with one generator or (P, M, H, W) with P generators: slice i draws its
noise from generator[i] alone (tsearch.torch_seeding.randn).
"""

from __future__ import annotations

import torch

from .. import torch_seeding
from ..config import SamplerConfig as S  # the defaults, stated once
from .parameterization import ScoreFn
from .processes import Process, generator_device


def tweedie(score_fn: ScoreFn, process: Process, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """E[x_0 | x_t] = (x + sigma^2 s) / alpha: the final, noise-free denoising step."""
    return (x + process.sigma(t) ** 2 * score_fn(x, t)) / process.alpha(t)


class ReverseSDESampler:
    def __init__(self, *, process: Process, n_steps: int = S.n_steps):
        self.process, self.n_steps = process, n_steps

    def sample(self, score_fn: ScoreFn, shape, generator: torch_seeding.Generators) -> torch.Tensor:
        process, device = self.process, generator_device(generator)
        t = process.time_grid(self.n_steps, device)
        x = process.prior_sample(shape, generator)
        for t_cur, t_next in zip(t[:-1], t[1:]):
            dt = t_cur - t_next  # > 0: time runs backwards
            g = process.diffusion(t_cur)
            z = torch_seeding.randn(shape, generator, device=device)
            x = x - (process.drift(x, t_cur) - g**2 * score_fn(x, t_cur)) * dt + g * dt.sqrt() * z
        return tweedie(score_fn, process, x, t[-1])


class AnnealedLangevinSampler:
    def __init__(self, *, process: Process, n_steps: int = S.n_steps, langevin_steps: int = S.langevin_steps,
                 snr: float = S.snr):  # SamplerConfig's comment says why 0.5
        self.process, self.n_steps = process, n_steps
        self.langevin_steps, self.snr = langevin_steps, snr

    def sample(self, score_fn: ScoreFn, shape, generator: torch_seeding.Generators) -> torch.Tensor:
        process, device = self.process, generator_device(generator)
        t = process.time_grid(self.n_steps, device)
        x = process.prior_sample(shape, generator)
        for t_i in t[1:]:
            eps = 2 * (self.snr * process.sigma(t_i)) ** 2
            for _ in range(self.langevin_steps):
                z = torch_seeding.randn(shape, generator, device=device)
                x = x + eps * score_fn(x, t_i) + (2 * eps).sqrt() * z
        return tweedie(score_fn, process, x, t[-1])


class ProbabilityFlowSampler:
    def __init__(self, *, process: Process, n_steps: int = S.n_steps, solver: str = S.solver):
        if solver not in ("euler", "heun"):
            raise ValueError(f"solver must be 'euler' or 'heun', got {solver!r}")
        self.process, self.n_steps, self.solver = process, n_steps, solver

    def velocity(self, score_fn: ScoreFn, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.process.drift(x, t) - 0.5 * self.process.diffusion(t) ** 2 * score_fn(x, t)

    def sample(self, score_fn: ScoreFn, shape, generator: torch_seeding.Generators) -> torch.Tensor:
        process = self.process
        t = process.time_grid(self.n_steps, generator_device(generator))
        x = process.prior_sample(shape, generator)
        for t_cur, t_next in zip(t[:-1], t[1:]):
            d_cur = self.velocity(score_fn, x, t_cur)
            x_next = x + (t_next - t_cur) * d_cur
            if self.solver == "heun":  # trapezoidal correction, second order
                x_next = x + (t_next - t_cur) * 0.5 * (d_cur + self.velocity(score_fn, x_next, t_next))
            x = x_next
        return tweedie(score_fn, process, x, t[-1])


Sampler = ReverseSDESampler | AnnealedLangevinSampler | ProbabilityFlowSampler
