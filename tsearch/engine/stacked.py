"""P score models of one architecture seen as one function, and their optimizer.

    net(x, sigma) -> prediction       x: (P, B, H, W), sigma: (P, B) -> (P, B, H, W)

Two forms with that interface:

- :class:`StackedNet` stacks the P models' parameters (``torch.func.stack_module_state``)
  and maps one functional call over them with ``torch.vmap``. One optimizer over the stacked
  tensors is exactly P independent optimizers: Adam (and SGD with momentum, and L2 weight
  decay) update every scalar from its own gradient and moments only (Kingma & Ba 2015,
  Algorithm 1), and the gradient of ``sum_i loss_i`` w.r.t. model i's parameters is
  ``grad loss_i``.
- :class:`SingleNet` is one plain module (P = 1): the one-model-at-a-time loop.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from ..config import TrainConfig


class _Net:
    predicts: str
    n_models: int

    def __init__(self, *, bf16: bool):
        self.bf16 = bf16

    def _autocast(self, x: torch.Tensor):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=x.device.type, dtype=torch.bfloat16)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        # sigma may come as a 0-dim tensor from a sampler's score_fn: one per image
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[:-2])
        with self._autocast(x):
            out = self._forward(x, sigma)
        return out.float()


class StackedNet(_Net):
    """P models trained as one: parameters (P, ...) mapped with ``torch.vmap``."""

    def __init__(self, *, models: Sequence[nn.Module], bf16: bool = False, compile: bool = False,
                 key: object = None):
        super().__init__(bf16=bf16)
        self.predicts = getattr(models[0], "predicts", "eps")
        self.params, self.buffers = stack_module_state(list(models))
        self._mapped, self._compiled = _mapped_forward(models[0], key, compile)

    @property
    def n_models(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def _forward(self, x, sigma):
        if self._compiled is not None:
            try:
                return self._compiled(self.params, self.buffers, x, sigma)
            except Exception as exc:  # a backend that cannot compile this model: run eagerly
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {exc}); running eagerly")
                self._compiled = None
        return self._mapped(self.params, self.buffers, x, sigma)

    def select(self, idx: Sequence[int]) -> "StackedNet":
        """A view of some of the models (for sampling in slices), sharing the weights."""
        if list(idx) == list(range(self.n_models)):
            return self
        view = copy.copy(self)
        index = torch.as_tensor(list(idx), device=self.parameters()[0].device)
        view.params = {k: v.detach()[index] for k, v in self.params.items()}
        view.buffers = {k: v[index] for k, v in self.buffers.items()}
        return view

    def snapshot(self, i: int) -> "StackedNet":
        """A copy of model ``i`` alone (P = 1) that later training does not change: the weights
        of a chosen step, sampled again after training (two-stage scoring)."""
        view = copy.copy(self)
        view.params = {k: v.detach()[i:i + 1].clone() for k, v in self.params.items()}
        view.buffers = {k: v[i:i + 1].clone() for k, v in self.buffers.items()}
        return view

    def keep(self, idx: Sequence[int], optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Drop the models not in ``idx`` (failed ones); returns the optimizer of the survivors
        with their moments carried over, so their training continues exactly."""
        index = torch.as_tensor(list(idx), device=self.parameters()[0].device)
        old = self.parameters()
        self.params = {k: v.detach()[index].clone().requires_grad_() for k, v in self.params.items()}
        self.buffers = {k: v[index] for k, v in self.buffers.items()}
        fresh = type(optimizer)(self.parameters(), **optimizer.defaults)
        for p_old, p_new in zip(old, self.parameters()):
            state = optimizer.state.get(p_old, {})
            fresh.state[p_new] = {k: _rows(v, index) for k, v in state.items()}
        return fresh


def _rows(value, index: torch.Tensor):
    """Per-model rows of an optimizer state entry; shared scalars (Adam's step) pass through."""
    if torch.is_tensor(value) and value.dim() > 0:
        return value[index].clone()
    return value.clone() if torch.is_tensor(value) else value


_forwards: dict[object, tuple] = {}


def _mapped_forward(model: nn.Module, key: object, compile: bool) -> tuple:
    """(vmapped functional forward, its compiled version or None) of the architecture of
    ``model``. Cached per ``key`` (model config, side) so that every chunk of a process
    reuses one skeleton -- and one compilation, which would otherwise be redone per chunk."""
    cache_key = (key, compile)
    if key is None or cache_key not in _forwards:
        base = copy.deepcopy(model).to("meta")  # a skeleton; the weights come from params

        def one(params, buffers, x, sigma):  # x: (B, H, W), sigma: (B,)
            return functional_call(base, (params, buffers), (x, sigma))

        mapped = torch.vmap(one)
        compiled = torch.compile(mapped, dynamic=False) if compile else None
        if key is None:
            return mapped, compiled
        _forwards[cache_key] = (mapped, compiled)
    return _forwards[cache_key]


class SingleNet(_Net):
    """One plain module behind the stacked interface (P = 1): the loop form."""

    n_models = 1

    def __init__(self, *, model: nn.Module, bf16: bool = False, compile: bool = False):
        super().__init__(bf16=bf16)
        self.model = model
        self.predicts = getattr(model, "predicts", "eps")
        self._compiled = torch.compile(model, dynamic=False) if compile else None

    def parameters(self) -> list[torch.Tensor]:
        return list(self.model.parameters())

    def _forward(self, x, sigma):  # (1, B, H, W), (1, B)
        if self._compiled is not None:
            try:
                return self._compiled(x[0], sigma[0])[None]
            except Exception as exc:
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {exc}); running eagerly")
                self._compiled = None
        return self.model(x[0], sigma[0])[None]

    def select(self, idx: Sequence[int]) -> "SingleNet":
        return self

    def snapshot(self, i: int) -> "SingleNet":
        """A copy of the model that later training does not change (eager: sampled once)."""
        return SingleNet(model=copy.deepcopy(self.model), bf16=self.bf16)


def make_optimizer(params: list[torch.Tensor], train: TrainConfig) -> torch.optim.Optimizer:
    if train.optimizer == "adam":
        return torch.optim.Adam(params, lr=train.lr, weight_decay=train.weight_decay)
    return torch.optim.SGD(params, lr=train.lr, momentum=train.momentum,
                           weight_decay=train.weight_decay)
