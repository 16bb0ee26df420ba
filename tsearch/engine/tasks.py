"""Re-export of :mod:`tsearch.tasks` (the torch-free task and result types) for engine modules."""

from ..tasks import EvalResult, EvalTask, ScoredStep

__all__ = ["EvalTask", "EvalResult", "ScoredStep"]
