"""Fidelity and coverage of the target: improved precision and recall (Kynkaanniemi et al. 2019,
"Improved Precision and Recall Metric for Assessing Generative Models"), in a descriptor space.

Symbols: r_1..r_R descriptors of a fresh reference sample of the target, g_1..g_M those of the
valid generated samples, each descriptor standardized by the reference's standard deviation;
NN_k(x, S) the distance from x to its k-th nearest neighbour in S \\ {x}.

    manifold(S)    = union over s in S of the ball B(s, NN_k(s, S))
    precision      = (1/M) sum_i [g_i in manifold(r)]      fidelity: samples look like the target
    recall         = (1/R) sum_j [r_j in manifold(g)]      coverage: the target is reached
    W1_d           = int |F_g,d(x) - F_r,d(x)| dx         per descriptor d, raw units (the
                     1-D Wasserstein distance between the two empirical distributions)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

K_DEFAULT = 3  # Kynkaanniemi et al.'s choice


@dataclass(frozen=True)
class Reference:
    """A reference sample's descriptors, their scale, and its k-NN radii."""

    names: tuple[str, ...]
    values: np.ndarray  # (R, D) raw descriptors
    scale: np.ndarray  # (D,) standard deviation (1 where constant)
    radii: np.ndarray  # (R,) k-NN radius of each reference point, standardized space
    k: int
    sorted_distances: np.ndarray  # (R, R): row j, the distances from r_j in increasing order

    @classmethod
    def build(cls, names, values: np.ndarray, k: int = K_DEFAULT) -> "Reference":
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values).all(axis=1)]
        std = values.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        ordered = np.sort(pairwise(values / scale, values / scale), axis=1)  # column 0: the point itself
        radii = ordered[:, k] if len(values) > k else np.full(len(values), np.inf)
        return cls(tuple(names), values, scale, radii, k, ordered)

    @property
    def standardized(self) -> np.ndarray:
        return self.values / self.scale

    def ball_radii(self, k: int) -> np.ndarray:
        """(R,) distance from each reference point to its k-th nearest other one (coverage.py)."""
        return self.sorted_distances[:, k]


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """(N, D) -> (N,) distance to the k-th nearest other point (inf when N <= k)."""
    if len(x) <= k:
        return np.full(len(x), np.inf)
    dist = pairwise(x, x)
    return np.sort(dist, axis=1)[:, k]  # column 0 is the point itself


def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, D), (B, D) -> (A, B) Euclidean distances."""
    return torch.cdist(torch.as_tensor(a), torch.as_tensor(b)).numpy()


def precision_recall(generated: np.ndarray, reference: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Per-point indicators: (M,) generated point inside the reference manifold, and (R,)
    reference point inside the generated manifold (NaN when M <= k: no generated manifold)."""
    g = np.asarray(generated, dtype=np.float64)
    g = g[np.isfinite(g).all(axis=1)] / reference.scale
    r = reference.values / reference.scale
    if len(g) == 0:
        return np.zeros(0), np.full(len(r), np.nan)
    dist = pairwise(g, r)  # (M, R)
    inside_ref = (dist <= reference.radii[None, :]).any(axis=1).astype(np.float64)
    if len(g) <= reference.k:
        return inside_ref, np.full(len(r), np.nan)
    inside_gen = (dist <= knn_radii(g, reference.k)[:, None]).any(axis=0).astype(np.float64)
    return inside_ref, inside_gen


def wasserstein1(u: np.ndarray, v: np.ndarray) -> float:
    """1-D Wasserstein distance between the empirical distributions of u and v: the integral of
    |F_u - F_v| over the merged sorted values (as scipy.stats.wasserstein_distance)."""
    u, v = np.sort(u[np.isfinite(u)]), np.sort(v[np.isfinite(v)])
    if len(u) == 0 or len(v) == 0:
        return float("nan")
    points = np.sort(np.concatenate([u, v]))
    cdf_u = np.searchsorted(u, points[:-1], side="right") / len(u)
    cdf_v = np.searchsorted(v, points[:-1], side="right") / len(v)
    return float(np.sum(np.abs(cdf_u - cdf_v) * np.diff(points)))


def descriptor_distances(generated: np.ndarray, reference: Reference) -> dict[str, float]:
    """{descriptor name: W1 between generated and reference values}, raw units."""
    g = np.asarray(generated, dtype=np.float64)
    return {name: wasserstein1(g[:, d], reference.values[:, d]) for d, name in enumerate(reference.names)}
