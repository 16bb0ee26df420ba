"""The two primitives every analysis shares.

    t_quantile(dof, confidence)  the two-sided Student-t quantile t_{(1+c)/2, dof} (scipy's)
    akaike_weights(aics)         w_i = exp(-Δ_i / 2) / Σ_j exp(-Δ_j / 2),  Δ_i = AIC_i - min AIC
                                 (Burnham & Anderson 2002, eq. 2.14): each model's relative support
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def t_quantile(dof: int, confidence: float = 0.95) -> float:
    """Half-width multiplier of a two-sided interval; inf without a degree of freedom."""
    return float(stats.t.ppf((1 + confidence) / 2, dof)) if dof > 0 else float("inf")


def akaike_weights(aics: Sequence[float]) -> np.ndarray:
    delta = np.asarray(aics, dtype=float) - min(aics)
    raw = np.exp(-delta / 2)
    return raw / raw.sum()
