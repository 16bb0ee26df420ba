"""The population evaluator: ``evaluate(tasks) -> results``, batched on one device.

    from tsearch.engine import evaluate, EvalTask, EvalResult
    results = evaluate(tasks, engine=EngineConfig(), progress=None)   # same order as tasks

Tasks sharing an architecture and image side train together as one stacked model (vmap) or
one after another (loop), whichever is faster on the device (engine/device.py). A failed
task is a result with ``ok=False`` and ``error``, never an exception.
"""

from ..tasks import EvalResult, EvalTask, ScoredStep
from .evaluator import evaluate

__all__ = ["evaluate", "EvalTask", "EvalResult", "ScoredStep"]
