"""Linear code: images c = G u mod 2 of a fixed random binary code (white = 1).

G is a d x m matrix over GF(2) (m = round(rate d)) drawn from ``code_seed`` alone, u is
uniform in GF(2)^m, so c is uniform over the code C = col(G) of size 2^rank(G): a support
exponential in d, the counterpart of the dots of experiment 1. Membership is exact:
C = {c : H c = 0 mod 2} for a parity-check matrix H, whose rows span the null space of G^T
((d - r) x d, found once by Gaussian elimination over GF(2)); ``is_valid`` is then one
matrix product mod 2 over all images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import LinearCodeConfig as C  # the defaults, stated once
from ..seeding import numpy_rng
from . import countable, image_bits, uniform_novel_mass
from .base import Samples, Target, Validity


class LinearCodeTarget(Target):
    def __init__(self, *, side: int = C.side, rate: float = C.rate, code_seed: int = C.code_seed):
        self.side = int(side)
        self.m = int(round(rate * self.side**2))
        self.generator = numpy_rng(code_seed, "linear_code", self.side, self.m).integers(
            0, 2, size=(self.d, self.m), dtype=np.uint8)  # G: (d, m)
        self.parity_check = null_space_gf2(self.generator.T)  # H: (d - r, d)
        self.rank = self.d - len(self.parity_check)

    @property
    def support_size(self) -> int | None:
        return countable(2**self.rank)

    def sample(self, n: int, rng: np.random.Generator) -> Samples:
        messages = rng.integers(0, 2, size=(n, self.m), dtype=np.uint8)  # u: (n, m)
        params = list(messages)
        return Samples(self.render(params), params)

    def render(self, params: list[Any]) -> np.ndarray:
        u = np.asarray(params, dtype=np.float64).reshape(len(params), self.m)
        bits = (u @ self.generator.T.astype(np.float64)) % 2  # (n, d)
        return np.where(bits, 1.0, -1.0).astype(np.float32).reshape(-1, self.side, self.side)

    def is_valid(self, images) -> Validity:
        # float64 products are exact (sums <= d < 2^53) and run on BLAS
        bits = image_bits(images, self.shape).reshape(-1, self.d).astype(np.float64)  # (n, d)
        syndrome = (bits @ self.parity_check.T.astype(np.float64)) % 2  # (n, d - r)
        valid = ~syndrome.any(axis=1)
        return Validity(valid=valid, reason=np.where(valid, "ok", "not_in_code"))

    def novel_mass(self, train_images, rng: np.random.Generator, n_reference: int = 4096) -> float:
        return uniform_novel_mass(self, train_images, 2**self.rank)

    def describe(self, images) -> dict[str, Any]:
        bits = image_bits(images, self.shape)
        return {"white_fraction": float(bits.mean()) if bits.size else float("nan"),
                "rank": self.rank, "m": self.m}


def row_reduce_gf2(a: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form of a 0/1 matrix over GF(2), and its pivot columns."""
    r = a.astype(np.uint8) % 2
    pivots: list[int] = []
    for col in range(r.shape[1]):
        row = len(pivots)
        hits = np.flatnonzero(r[row:, col])
        if len(hits) == 0:
            continue
        r[[row, row + hits[0]]] = r[[row + hits[0], row]]  # swap the pivot row up
        others = np.flatnonzero(r[:, col])
        others = others[others != row]
        r[others] ^= r[row]  # clear the column everywhere else
        pivots.append(col)
        if len(pivots) == r.shape[0]:
            break
    return r[:len(pivots)], pivots


def null_space_gf2(a: np.ndarray) -> np.ndarray:
    """(k, n) 0/1 matrix -> (n - rank, n) basis of {x : a x = 0 mod 2}, one vector per row."""
    reduced, pivots = row_reduce_gf2(a)
    free = [c for c in range(a.shape[1]) if c not in set(pivots)]
    basis = np.zeros((len(free), a.shape[1]), np.uint8)
    for i, f in enumerate(free):
        basis[i, f] = 1
        basis[i, pivots] = reduced[:, f]  # pivot variable = sum of its row's free entries
    return basis
