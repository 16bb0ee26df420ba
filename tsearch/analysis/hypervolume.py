"""Hypervolume of a (training-set size, metric) front: one number for the quality of a search.

Both objectives are turned into minimizations, x = (size, -value), and the hypervolume is the
area of the region dominated by the front and bounded by the reference point

    r = (n_max + 1, 0)           a set one image larger than allowed, with metric 0,

    HV = area{ y : some x in front with x <= y <= r },   normalized by (n_max + 1 - n_min) * 1

so HV = 1 for a front holding a set of size n_min with metric 1, HV = 0 for a front of metric 0
(or none). For a metric in [0, 1] (g, novel, valid, coverage) HV lies in [0, 1]; g_rel can
exceed 1, and so can its HV. Computed by ``moocore.hypervolume``, the routine DEAP's own
hypervolume indicator calls (DEAP >= 1.4.2); in two dimensions it is exact.
"""

from __future__ import annotations

from collections.abc import Iterable

import moocore
import numpy as np


def reference_point(n_max: int) -> tuple[float, float]:
    """r in the minimized coordinates (size, -metric)."""
    return float(n_max + 1), 0.0


def front_hypervolume(points: Iterable[tuple[int, float | None]], *, n_min: int, n_max: int) -> float:
    """Normalized hypervolume of (size, value) points; failed (None) and non-finite values,
    and sizes outside [n_min, n_max], add nothing."""
    kept = [(float(size), -float(value)) for size, value in points
            if value is not None and np.isfinite(value) and value > 0 and n_min <= size <= n_max]
    if not kept:
        return 0.0
    area = moocore.hypervolume(np.array(kept), ref=np.array(reference_point(n_max)))
    return float(area) / float(n_max + 1 - n_min)
