"""How much of the target the model's novel samples cover, above chance: the fitness ``learned``.

Coverage after Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for Generative
Models", eq. 4), in the descriptor space of fidelity.py, counting only the samples that are
valid *and* beyond the near-copy band (``g_far``), with the chance level of random blobs taken
off as ``g_above_chance`` does for validity (chance.py).

Symbols: r_1..r_N the reference's standardized descriptors (fidelity.Reference, N =
``metrics.pr_reference_size``); M the number of samples scored (all of them: an invalid sample
or a near copy is a sample spent on nothing); F the descriptors of the g_far samples;
beta = ``metrics.coverage_beta``.

    k          = clip(round(beta N / M), 1, N - 1)
    rho_j      = NN_k(r_j, reference)                     radius of reference point j's ball
    hit_j      = [ exists f in F : |f - r_j| <= rho_j ]
    coverage   = (1/N) sum_j hit_j
A ball holds k/N of the target's mass, so a model that samples the target itself puts beta of
its M samples in each ball on average: E[coverage] = 1 - (1 - k/N)^M ~ 1 - e^-beta (0.86 at
beta = 2) at every M. Scaling k with N/M (Naeem et al. take M = N, k = 5) is what makes the
number mean the same at the 16 samples of a selection stage and the 96 of a reported value.
Unlike recall (Kynkaanniemi et al. 2019), whose balls sit on the generated points, a few
scattered samples cannot cover much; unlike a count of distinct images, variations of one
shape cover only the balls around that shape.

Chance: every sample replaced by an Eden blob of its own white area a_i; q_j(a) = the share of
the chance table's blobs of area a that are valid and inside ball j (a blob is never a near
copy of a training polygon, so its validity is all it needs);
    chance_j         = 1 - prod_i (1 - q_j(a_i))           P(the blobs hit ball j)
    coverage_chance  = (1/N) sum_j chance_j
    learned          = (1/N) sum_j (hit_j - chance_j) = coverage - coverage_chance
``learned`` is a mean over reference points, so its interval resamples them (as recall's does).
"""

from __future__ import annotations

import numpy as np

from .chance import ChanceTable, as_images
from .fidelity import Reference, pairwise

DEFAULT_BETA = 2.0


def ball_size(n_reference: int, n_samples: int, beta: float) -> int:
    """k: the reference neighbours per ball at which the target's own M samples put beta in each."""
    return int(np.clip(round(beta * n_reference / max(n_samples, 1)), 1, n_reference - 1))


def hits(generated: np.ndarray, reference: Reference, k: int) -> np.ndarray:
    """(G, D) raw descriptors -> (N,) bool: reference balls holding at least one of them."""
    g = np.asarray(generated, dtype=np.float64)
    g = g[np.isfinite(g).all(axis=1)] / reference.scale
    if len(g) == 0:
        return np.zeros(len(reference.values), bool)
    return (pairwise(g, reference.standardized) <= reference.ball_radii(k)[None, :]).any(axis=0)


class ChanceCoverage:
    """chance_j for the white areas of M samples, from a target's chance table (its blobs), kept
    per (area, k): a property of the target shared by every task, like the table itself."""

    def __init__(self, table: ChanceTable, describe, reference: Reference):
        self.table, self.describe, self.reference = table, describe, reference
        self._q: dict[tuple[int, int], np.ndarray] = {}  # (area, k) -> (N,) q_j(area)

    def __call__(self, areas: np.ndarray, k: int) -> np.ndarray:
        """(M,) white areas -> (N,) chance_j."""
        log_miss = np.zeros(len(self.reference.values))
        for area, count in zip(*np.unique(np.asarray(areas, dtype=np.int64), return_counts=True)):
            q = np.minimum(self._share(int(area), k), 1.0 - 1e-12)
            log_miss += count * np.log1p(-q)
        return -np.expm1(log_miss)

    def _share(self, area: int, k: int) -> np.ndarray:
        if (area, k) not in self._q:
            blobs = self.table.valid_blobs(area)  # (V, H, W) bool, of table.per_area drawn
            inside = np.zeros(len(self.reference.values))
            if len(blobs):
                _, values = self.describe(as_images(blobs))
                g = np.asarray(values, np.float64) / self.reference.scale
                inside = (pairwise(g, self.reference.standardized) <= self.reference.ball_radii(k)).sum(axis=0)
            self._q[(area, k)] = inside / max(self.table.drawn(area), 1)
        return self._q[(area, k)]


def learned(far_descriptors: np.ndarray, areas: np.ndarray, reference: Reference,
            chance: ChanceCoverage | None, beta: float) -> dict[str, np.ndarray]:
    """Per reference point (N,): hit_j, chance_j and hit_j - chance_j, for M = len(areas)
    samples of which ``far_descriptors`` are the g_far ones. Without a chance table the last
    two are NaN."""
    k = ball_size(len(reference.values), len(areas), beta)
    hit = hits(far_descriptors, reference, k).astype(np.float64)
    level = chance(areas, k) if chance is not None else np.full(len(hit), np.nan)
    return {"coverage": hit, "coverage_chance": level, "learned": hit - level}
