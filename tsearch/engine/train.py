"""Denoising score matching for P models at once (Vincent 2011; Song & Ermon 2019):

    L_i(theta_i) = E_{x_0 ~ D_i, t, z} || net_i(x_t, sigma(t)) - target(x_0, z) ||^2,
    x_t = alpha(t) x_0 + sigma(t) z                      (tsearch.diffusion.denoising_loss)

minimized by one optimizer step on sum_i L_i per training step. Model i draws its minibatch
indices into its own training set D_i (sizes differ; padded to n_max) and its noise from its
own generator alone, so its trajectory is the same in a chunk of 1 or of 128.

Stop at memorization: a model whose ``copy`` fraction reached ``train.stop_when_copy`` at its
last ``train.stop_patience`` scored steps has learnt its training set by heart; training it
further only copies more (past tau_mem). It leaves the stack like a failed model
(:meth:`Trainer.keep`), a decision made from its own numbers alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import torch_seeding
from ..config import TrainConfig
from ..tasks import ScoredStep
from .stacked import StackedNet, make_optimizer

CHECK_EVERY = 50  # steps between finiteness checks (each one is a device sync)


def seeded_model(build, cfg, *, side: int, generator: torch.Generator, device) -> nn.Module:
    """``build(cfg, side=side)`` with its initial weights determined by ``generator`` alone.

    Modules draw their initial weights from torch's global generator; we build inside
    ``fork_rng`` seeded from the task's generator, so each model keeps the initialisation its
    author chose, a model's start depends on its task's seed only, and the global generator
    is left exactly as it was.
    """
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(cfg, side=side)
    return model.to(device)


def memorized(scored: Sequence[ScoredStep], train: TrainConfig) -> bool:
    """``copy >= train.stop_when_copy`` at each of the last ``train.stop_patience`` scored
    steps (never when stop_when_copy is 0; an undefined copy (NaN) is not >=)."""
    last = scored[-train.stop_patience:]
    return (train.stop_when_copy > 0 and len(last) == train.stop_patience
            and all(c.metrics.get("copy", float("nan")) >= train.stop_when_copy for c in last))


def past_peak(scored: Sequence[ScoredStep], train: TrainConfig, metric: str) -> bool:
    """``metric`` has not exceeded its best for ``train.stop_after_peak`` consecutive scored
    steps after that best (tsearch.tasks.best_index): the generalization window has passed.
    Never when stop_after_peak is 0 or no step has a finite value."""
    from ..tasks import best_index

    if train.stop_after_peak <= 0:
        return False
    best = best_index([(s.step, s.metrics) for s in scored], metric)
    return best is not None and len(scored) - 1 - best >= train.stop_after_peak


@dataclass
class TrainData:
    images: torch.Tensor  # (P, n_max, H, W), each set padded by repeating its first image
    sizes: list[int]  # n_i

    @classmethod
    def stack(cls, sets: Sequence[np.ndarray], device) -> "TrainData":
        n_max = max(len(s) for s in sets)
        padded = [np.concatenate([s, np.repeat(s[:1], n_max - len(s), 0)]) for s in sets]
        return cls(torch.as_tensor(np.stack(padded), dtype=torch.float32, device=device),
                   [len(s) for s in sets])

    def select(self, idx: Sequence[int]) -> "TrainData":
        index = torch.as_tensor(list(idx), device=self.images.device)
        return TrainData(self.images[index], [self.sizes[i] for i in idx])

    def minibatch(self, batch: int, generators) -> torch.Tensor:
        """(P, batch, H, W): model i's rows drawn uniformly from its own n_i images."""
        idx = torch_seeding.randint(self.sizes, batch, generators, device=self.images.device)
        return self.images[torch.arange(len(self.sizes), device=idx.device)[:, None], idx]


class Trainer:
    """The state of a chunk in training: net, optimizer, data, one generator per model,
    and the loss summed since the last checkpoint."""

    def __init__(self, *, net, data: TrainData, train: TrainConfig, process, loss_fn,
                 generators: list[torch.Generator]):
        self.net, self.data, self.train, self.process = net, data, train, process
        self.loss_fn = loss_fn  # tsearch.diffusion.denoising_loss
        self.generators = generators
        self.optimizer = make_optimizer(net.parameters(), train)
        self.loss_sum = torch.zeros(len(generators), device=data.images.device)
        self.loss_steps = 0

    def step(self) -> None:
        x0 = self.data.minibatch(self.train.batch_size, self.generators)  # (P, B, H, W)
        loss = self.loss_fn(self.net, x0, self.process, self.generators, predicts=self.net.predicts)
        per_model = loss.reshape(len(self.generators), -1).mean(1)  # (P,)
        self.optimizer.zero_grad(set_to_none=True)
        per_model.sum().backward()
        self.optimizer.step()
        self.loss_sum += per_model.detach()
        self.loss_steps += 1

    def failed(self) -> list[int]:
        """Models whose loss is no longer finite (one device sync)."""
        return torch.nonzero(~torch.isfinite(self.loss_sum)).flatten().tolist()

    def keep(self, idx: list[int]) -> None:
        """Continue with the models ``idx`` only (the others failed or stopped)."""
        index = torch.as_tensor(idx, device=self.loss_sum.device)
        if isinstance(self.net, StackedNet):
            self.optimizer = self.net.keep(idx, self.optimizer)
        self.data = self.data.select(idx)
        self.generators = [self.generators[i] for i in idx]
        self.loss_sum = self.loss_sum[index]

    def take_mean_loss(self) -> list[float]:
        """Mean loss per model since the previous call."""
        mean = (self.loss_sum / max(self.loss_steps, 1)).tolist()
        self.loss_sum.zero_()
        self.loss_steps = 0
        return mean
