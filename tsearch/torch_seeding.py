"""torch generators from (run seed, task identity), and the draws of a stack of models.

The torch part of tsearch.seeding: a generator's seed is tsearch.seeding.derive_seed, and a
stacked batch draws slice i from generator i alone, so a model's numbers do not depend on the
models it is trained or sampled with.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .seeding import derive_seed


def torch_generator(seed: int, *identity: object, device: str | torch.device = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, *identity))
    return g


Generators = torch.Generator | Sequence[torch.Generator]


def randn(shape: Sequence[int], generator: Generators, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Standard normal noise. With one generator per leading index (a stacked batch of
    models), slice i is drawn from ``generator[i]`` alone, so a model's noise is the same
    whether it is sampled alone or with others."""
    if isinstance(generator, torch.Generator):
        return torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
    if len(generator) != shape[0]:
        raise ValueError(f"{len(generator)} generators for a leading dimension of {shape[0]}")
    return torch.stack([torch.randn(tuple(shape[1:]), generator=g, device=device, dtype=dtype)
                        for g in generator])


def randint(high: int | Sequence[int], size: int, generator: Generators, *, device=None) -> torch.Tensor:
    """Indices in [0, high); with a list of generators (and one ``high`` per model), shape (P, size)."""
    if isinstance(generator, torch.Generator):
        return torch.randint(int(high), (size,), generator=generator, device=device)
    highs = [int(h) for h in high] if not isinstance(high, int) else [high] * len(generator)
    return torch.stack([torch.randint(h, (size,), generator=g, device=device)
                        for h, g in zip(highs, generator)])


def rand(shape: Sequence[int], generator: Generators, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Uniform [0, 1) noise, per-leading-index generators like :func:`randn`."""
    if isinstance(generator, torch.Generator):
        return torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)
    return torch.stack([torch.rand(tuple(shape[1:]), generator=g, device=device, dtype=dtype)
                        for g in generator])
