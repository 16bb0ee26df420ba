"""A bisection sweep's searches: the grid points without run.n, each checked against its
target's support before any work (a bisection on coverage_unseen ends reached or censored at
the support's size S, so it needs S - 1 <= sweep.n_max)."""

from __future__ import annotations

import math

from ..config import Config, ConfigError
from ..config.grid import N_KEY, GridPoint, metric_of, point_id
from ..targets import build_target


def bisect_bases(points: list[GridPoint], *, source: str = "<config>") -> list[GridPoint]:
    """The searches of a bisection sweep: the grid points without run.n (deduplicated), each
    checked to end reached or censored at its support's size (:func:`check_reachable`)."""
    out: dict[str, GridPoint] = {}
    for p in points:
        overrides = {k: v for k, v in p.overrides.items() if k != N_KEY}
        key = point_id(overrides)
        if key not in out:
            out[key] = GridPoint(len(out), key, overrides, p.config)
            check_reachable(out[key], f"{source}: sweep.grid point {p.index}")
    return list(out.values())


def n_max_of(config: Config) -> int:
    """sweep.n_max; for coverage_unseen (a finite support of S images) S - 1: the largest set
    that leaves something unseen (:func:`check_reachable` makes sure n_max allows it)."""
    if metric_of(config) == "coverage_unseen":
        return max(1, min(config.sweep.n_max, support_of(config) - 1))
    return max(1, config.sweep.n_max)


def support_of(config: Config) -> int | None:
    """S, the size of the target's support (None: infinite or too large to count)."""
    return build_target(config.target).support_size


def check_reachable(point: GridPoint, where: str) -> None:
    """A bisection on coverage_unseen must end reached or censored at the support's size:
    a finite support, S - 1 <= n_max, and enough samples that the target itself (M iid draws
    cover a share 1 - exp(-M / S) of any unseen part, in expectation) reaches the threshold."""
    c = point.config
    if metric_of(c) != "coverage_unseen":
        return
    size = support_of(c)
    target = f"{where} ({point.task_id})"
    if size is None:
        raise ConfigError(f"{target}: sweep.metric_by_target.{c.target.kind}: coverage_unseen needs a "
                          f"finite support; target {c.target.kind!r} has none")
    if size - 1 > c.sweep.n_max:
        raise ConfigError(f"{target}: target: a support of {size:,} images needs sweep.n_max >= "
                          f"{size - 1:,} (n* is censored at the support's size), got {c.sweep.n_max:,}")
    reach = 1 - math.exp(-c.sampler.n_samples / size)
    if reach < c.sweep.threshold:
        need = math.ceil(-size * math.log(1 - c.sweep.threshold)) if c.sweep.threshold < 1 else None
        raise ConfigError(f"{target}: sampler.n_samples = {c.sampler.n_samples}: samples of the target "
                          f"itself would cover {reach:.2f} of a support of {size:,} images, below "
                          f"sweep.threshold = {c.sweep.threshold:g}"
                          + (f" (needs n_samples >= {need:,})" if need else ""))
