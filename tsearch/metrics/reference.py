"""What scoring needs from the target beyond the training set, drawn once per target:
a reference sample's descriptors (precision / recall, coverage), the chance table of its validity
test, and the chance level of coverage built from both.

Both are seeded by ``metrics.reference_seed`` alone, not by the task: the reference is a
property of the target, so every task and scored step of a run (and ``tsearch score`` later)
compare against the same reference, and the engine builds it once per process and target.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import seeding
from .chance import ChanceTable
from .coverage import ChanceCoverage
from .fidelity import Reference


@dataclass
class TargetReference:
    descriptors: Reference | None  # None: precision / recall off
    chance: ChanceTable | None  # None: chance_valid off
    coverage_chance: ChanceCoverage | None = None  # None: one of the two above off


def build_reference(target, config) -> TargetReference:
    """``target`` a Target, ``config`` a MetricsConfig."""
    descriptors = None
    if config.precision_recall:
        images = target.sample(config.pr_reference_size,
                               seeding.numpy_rng(config.reference_seed, "reference")).images
        names, values = target.descriptors(images)
        descriptors = Reference.build(names, values, k=config.pr_neighbours)
    chance = None
    if config.chance_blobs > 0:
        chance = ChanceTable(lambda images: target.is_valid(images).valid, target.shape,
                             per_area=config.chance_blobs, seed=config.reference_seed)
    both = descriptors is not None and chance is not None
    return TargetReference(descriptors, chance,
                           ChanceCoverage(chance, target.descriptors, descriptors) if both else None)
