"""Timing the two forms: a few training steps of each on the actual group.

On CUDA, ``calibrated_form`` picks the faster one, cached per (device, model config, side,
batch, chunk) for the life of the process. On CPU the form is a fixed rule instead
(engine/device.py: CPU_VMAP_MAX_SIDE), measured once with the same ``steps_per_s`` by
benchmarks/cpu_forms.py. The probes use throwaway models and generators: no task's numbers
are touched.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from .. import torch_seeding
from ..config import DiffusionConfig, TrainConfig
from .stacked import SingleNet, StackedNet
from .train import TrainData, Trainer, seeded_model

WARMUP_STEPS = 3  # includes compilation when compile is on
TIMED_STEPS = 5
_forms: dict[tuple, str] = {}


def calibrated_form(jobs, device: torch.device, *, bf16: bool, compile: bool) -> str:
    task, side = jobs[0].task, jobs[0].target.side
    key = (str(device), task.model, side, task.train.batch_size, len(jobs), bf16, compile)
    if key not in _forms:
        common = dict(model=task.model, side=side, train=task.train, diffusion=task.diffusion,
                      device=device, bf16=bf16, compile=compile)
        sets = [j.train for j in jobs]
        vmap = steps_per_s(form="vmap", train_sets=sets, **common)
        loop = steps_per_s(form="loop", train_sets=sets[:1], **common)
        _forms[key] = "vmap" if vmap > loop else "loop"
    return _forms[key]


def steps_per_s(*, form: str, model, side: int, train: TrainConfig, diffusion: DiffusionConfig,
                train_sets: Sequence[np.ndarray], device: torch.device, bf16: bool = False,
                compile: bool = False, warmup: int = WARMUP_STEPS, steps: int = TIMED_STEPS) -> float:
    """Model-steps per second of ``form`` ("vmap": all sets as one stack; "loop": the first)."""
    from ..diffusion import build_process, denoising_loss
    from ..models import build_model

    sets = train_sets if form == "vmap" else train_sets[:1]
    gens = [torch_seeding.torch_generator(i, "calibrate", device=device) for i in range(len(sets))]
    models = [seeded_model(build_model, model, side=side, device=device, generator=g) for g in gens]
    net = (StackedNet(models=models, bf16=bf16, compile=compile, key=(model, side))
           if form == "vmap" else SingleNet(model=models[0], bf16=bf16, compile=compile))
    trainer = Trainer(net=net, data=TrainData.stack(sets, device), train=train,
                      process=build_process(diffusion), loss_fn=denoising_loss, generators=gens)
    for _ in range(warmup):
        trainer.step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    _sync(device)
    return len(sets) * steps / (time.perf_counter() - t0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
