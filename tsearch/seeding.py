"""Every random draw in tsearch comes from a generator derived from (run seed, task identity).

Nothing draws from Python's, NumPy's or torch's global generators: a task's numbers depend
only on its own seed, never on which other tasks share its chunk or its worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch


def derive_seed(seed: int, *identity: object) -> int:
    """A 63-bit seed determined by ``seed`` and the identity parts (strings, ints, tuples)."""
    text = repr((int(seed),) + tuple(identity)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def training_seed(seed: int, genome_hash: str, index: int = 0) -> int:
    """The seed of training ``index`` of a searched training set (tsearch.search.resample):
    index 0 keeps the seed a set had when each set was trained once."""
    return derive_seed(seed, "evolve", genome_hash, *((index,) if index else ()))


def numpy_rng(seed: int, *identity: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *identity))


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
