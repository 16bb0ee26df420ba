"""A sweep's grid: ``[sweep] grid`` maps dotted config keys (or whole tables, e.g. ``target``)
to the lists they take; every point of its Cartesian product is one config, validated before
any work. A point's identity (``task_id``) spells out its overrides (``label`` of each value).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import math

from ..config import Config, ConfigError, config_from_dict, config_to_dict, replace_path
from ..targets import build_target


@dataclass(frozen=True)
class GridPoint:
    index: int  # position in the grid's row-major order
    task_id: str  # stable identity of the point: its overrides, spelled out
    overrides: dict  # grid key -> value
    config: Config


N_KEY = "run.n"


# ----------------------------------------------------------------------------- grid
def expand_grid(config: Config, *, source: str = "<config>") -> list[GridPoint]:
    """Every grid point's config, all validated before any work (one-line ConfigError)."""
    grid = config.sweep.grid
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: sweep.grid.{key}: expected a non-empty list")
    # Sorted names: config.json stores tables with sorted keys, and a resumed sweep must
    # rebuild the same points, ids and indices from it. Whole tables apply first, so that
    # "target" = [{kind = ...}] and "target.side" compose.
    names = sorted(grid)
    keys = sorted(names, key=lambda k: k.count("."))
    points = []
    for index, values in enumerate(product(*(grid[k] for k in names))):
        overrides = dict(zip(names, values))
        point = config
        for key in keys:
            point = replace_key(point, key, overrides[key], where=f"{source}: sweep.grid point {index}")
        points.append(GridPoint(index, point_id(overrides), overrides, point))
    return points


def point_id(overrides: dict) -> str:
    return " ".join(f"{k}={label(v)}" for k, v in overrides.items())


def label(value) -> str:
    """A grid value as text: tables as kind(key=value,...), lists in brackets, lowercase bools."""
    if isinstance(value, dict):  # a whole table: its kind, then its other keys
        rest = ",".join(f"{k}={label(v)}" for k, v in sorted(value.items()) if k != "kind")
        return f"{value.get('kind', '')}({rest})" if rest else str(value.get("kind", "()"))
    if isinstance(value, list):
        return "[" + ",".join(label(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def replace_key(config: Config, key: str, value, *, where: str) -> Config:
    try:
        if "." not in key:  # a whole table, e.g. target = {kind = "linear_code", rate = 0.25}
            if not isinstance(value, dict):
                raise ConfigError(f"<override>: {key}: expected a table")
            return config_from_dict({**config_to_dict(config), key: value}, source="<override>")
        return replace_path(config, key, value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).removeprefix('<override>: ')}") from None


# ----------------------------------------------------------------------------- bisection
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


def metric_of(config: Config) -> str:
    return config.sweep.metric_by_target.get(config.target.kind, config.sweep.generalization_metric)


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
