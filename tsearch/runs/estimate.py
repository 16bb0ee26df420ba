"""``--dry-run``: the resolved config, how many evaluations it asks for and a rough time.

The time is an estimate from the CPU benchmarks (docs/benchmarks.md, "Which form on CPU": loop
model-steps/s at side 8, batch 64; CPU_STEPS_PER_S), scaled by the work of one evaluation,
which grows with pixels x images:

    train_s  = train.steps x (side^2 / 64) x (batch_size / 64) / rate[model.kind]
    sample_s = n_scored x n_samples x sampler.n_steps x (side^2 / 64) / (3 x 64 x rate)

(a sampling call is a forward pass only: about a third of a training step per image), plus
about 3 s per evaluation of set-up and scoring (the --smoke runs timed in the packaged configs'
comments: 3-4 s per evaluation whatever the training length). Oracles take about a second.
The evaluations run ``workers`` at a time: the local executor's ``executor.workers`` (0: the
cores this process may use), or this machine's cores for Ray (a cluster's size is not known
before it is joined). Stopping at memorization (``train.stop_when_copy``) can only shorten the
run. A GPU, other thread counts or a loaded machine change it several-fold: the figure says
whether a config takes minutes or days, not when it ends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import ORACLE_KINDS, Config, config_to_toml
from ..config.grid import expand_grid
from ..tasks import scored_steps
from .supports import bisect_bases, n_max_of

# loop model-steps/s per worker, side 8, batch 64, on this project's 2-core machines (where each
# rate was measured: docs/benchmarks.md, "What --dry-run assumes")
CPU_STEPS_PER_S = {"mlp": 483.0, "cnn": 98.0, "unet": 30.0, "transformer": 75.0, "polygon": 163.0}
ORACLE_SECONDS = 1.0
OVERHEAD_SECONDS = 3.0  # set-up and scoring per evaluation (see the docstring)
REFERENCE_PIXELS, REFERENCE_BATCH = 64, 64


@dataclass(frozen=True)
class Estimate:
    evaluations: int
    at_most: bool  # evolve: cached training sets are not evaluated again
    seconds: float  # of evaluation, one after another
    workers: int = 1  # evaluations at once


def workers(config: Config) -> int:
    """Evaluations at once (see the module's docstring)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if config.executor.kind == "local" and config.executor.workers:
        return min(config.executor.workers, cores)
    return cores


def seconds_per_evaluation(config: Config, n: int | None = None) -> float:
    """One evaluation of a training set of ``n`` images (n matters when train.epochs is the
    budget: ``run.n`` when not given)."""
    n = config.run.n if n is None else n
    kind = config.model.kind
    if kind in ORACLE_KINDS:
        return ORACLE_SECONDS
    rate = CPU_STEPS_PER_S.get(kind, min(CPU_STEPS_PER_S.values()))
    pixels = config.target.side ** 2 / REFERENCE_PIXELS
    train = config.train.steps_for(n) * pixels * (config.train.batch_size / REFERENCE_BATCH) / rate
    sampler = config.sampler  # two-stage scoring: n_select samples per scored step, n_samples once
    per_step = sampler.n_select or sampler.n_samples
    calls = (len(scored_steps(config, n)) * per_step + (sampler.n_samples if sampler.n_select else 0)) \
        * sampler.n_steps
    return OVERHEAD_SECONDS + train + calls * pixels / (3 * REFERENCE_BATCH * rate)


def estimate_run(config: Config) -> Estimate:
    return Estimate(1, False, seconds_per_evaluation(config))  # one evaluation: one worker


def estimate_sweep(config: Config, source: str = "<config>") -> Estimate:
    points = expand_grid(config, source=source)
    if config.sweep.search == "bisect":
        return estimate_bisect(config, points, source)
    return Estimate(len(points), False, sum(seconds_per_evaluation(p.config) for p in points),
                workers(config))


def estimate_bisect(config: Config, points, source: str = "<config>") -> Estimate:
    """At most: every search gallops to its n_max and bisects the last doubling (the worst
    case of tsearch.search.bisect; an n* found early or censored costs less)."""
    evaluations, seconds = 0, 0.0
    for base in bisect_bases(points, source=source):
        sizes = worst_case_probes(n_max_of(base.config))
        evaluations += len(sizes)
        seconds += sum(seconds_per_evaluation(base.config, n) for n in sizes)
    return Estimate(evaluations, True, seconds, workers(config))


def worst_case_probes(n_max: int) -> list[int]:
    """The sizes a search up to n_max may probe at most: 1, 2, 4, ... n_max, then the
    bisection of (n_max / 2, n_max], counted at its midpoint."""
    gallop = [1]
    while gallop[-1] < n_max:
        gallop.append(min(n_max, 2 * gallop[-1]))
    lo = gallop[-2] if len(gallop) > 1 else 0
    bisect = max(0, (n_max - lo - 1).bit_length())
    return gallop + [(lo + n_max) // 2] * bisect


def estimate_evolve(config: Config) -> Estimate:
    """Trainings: the baseline, then at most ``population`` new training sets per generation
    (``seeds_per_set`` trainings each) and one more training per survivor after the first
    (``resample_survivors``), then the control arm (as many as the search ran), then at most one
    front member per size of each arm and one random best per size_grid size, each re-evaluated.
    Timed at the middle size."""
    s = config.search
    n = sum(evolve_phases(config).values())
    return Estimate(n, True, n * seconds_per_evaluation(config, (s.n_min + s.n_max + 1) // 2), workers(config))


def evolve_phases(config: Config) -> dict[str, int]:
    """At most how many trainings each phase of a search runs (see estimate_evolve)."""
    s = config.search
    k = s.seeds_per_set
    baseline = s.baseline_per_size * len(s.size_grid) * k
    per_generation = (max(1, s.population // len(s.size_grid)) * len(s.size_grid)
                      if s.strategy == "random" else s.population)
    survivors = s.population if s.resample_survivors and s.strategy != "random" else 0
    search = per_generation * k * s.generations + survivors * (s.generations - 1)
    control = search if s.control != "none" else 0
    fronts = (2 if control else 1) * (s.n_max - s.n_min + 1)
    fresh = s.reevaluate_seeds * (fronts + len(s.size_grid))
    return {"baseline": baseline, "search": search, "control": control, "reevaluate": fresh}


def dry_run_text(kind: str, config: Config, estimate: Estimate) -> str:
    """The config as a TOML file (save it, edit it, run it), the estimate in its closing comments."""
    at_once = max(1, min(estimate.workers, estimate.evaluations))
    seconds = estimate.seconds / at_once
    return (config_to_toml(config, kind=kind)
            + f"\n# --dry-run: {'at most ' if estimate.at_most else ''}{estimate.evaluations} evaluation(s), "
              f"about {_duration(seconds)} with {at_once} worker(s) on CPU ({seconds / 60:.1f} min; "
              "estimated from docs/benchmarks.md, tsearch.runs.estimate)\n")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
