"""The score of the target itself: a model that generalizes perfectly.

Where the target lists its (uniform, finite) support S, the smoothed target is exactly
p_t(x) = (1/|S|) sum_{s in S} N(x; alpha s, sigma^2 I), whose score is the empirical score over S
(empirical.py). Otherwise the target is stood in for by a fresh sample of ``reference_size``
images, a Monte Carlo estimate of that mixture.
"""

from __future__ import annotations

import numpy as np

from ..diffusion import Process
from ..targets.base import Target
from .empirical import EmpiricalScore


def population_images(target: Target, reference_size: int, rng: np.random.Generator) -> np.ndarray:
    """The whole support where it is listed, else ``reference_size`` fresh target samples."""
    support = target.enumerate_support()
    return support if support is not None else target.sample(reference_size, rng).images


def population_score(*, process: Process, target: Target, reference_size: int,
                     rng: np.random.Generator) -> EmpiricalScore:
    images = population_images(target, reference_size, rng)
    return EmpiricalScore(process=process, images=images, name="target support")
