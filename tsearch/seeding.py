"""Every random draw in tsearch comes from a generator derived from (run seed, task identity).

Nothing draws from Python's, NumPy's or torch's global generators: a task's numbers depend
only on its own seed, never on which other tasks share its chunk or its worker. This module is
the numpy part (seeds and numpy generators; the search and the drivers import it without
torch); torch generators and the draws of stacked models are tsearch.torch_seeding.
"""

from __future__ import annotations

import hashlib

import numpy as np


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
