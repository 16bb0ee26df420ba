"""A sweep's grid: ``[sweep] grid`` maps dotted config keys (or whole tables, e.g. ``target``)
to the lists they take; every point of its Cartesian product is one config, validated before
any work. A point's identity (``task_id``) spells out its overrides (``label`` of each value).
The axis ``case`` takes named bundles of overrides (schema.SweepConfig); a point says its
case's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from .loader import ConfigError, config_from_dict, config_to_dict, replace_path
from .schema import GRID_CASE, Config


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
    # rebuild the same points, ids and indices from it.
    names = sorted(grid)
    points = []
    for index, values in enumerate(product(*(grid[k] for k in names))):
        overrides = dict(zip(names, values))
        point = apply_overrides(config, settings(overrides), where=f"{source}: sweep.grid point {index}")
        if GRID_CASE in overrides:  # a case is named by its name alone
            overrides[GRID_CASE] = overrides[GRID_CASE]["name"]
        points.append(GridPoint(index, point_id(overrides), overrides, point))
    return points


def settings(overrides: dict) -> dict:
    """A point's config keys: its axes, a case's overrides in place of the case."""
    case = overrides.get(GRID_CASE) or {}
    return {**{k: v for k, v in overrides.items() if k != GRID_CASE},
            **{k: v for k, v in case.items() if k != "name"}}


def apply_overrides(config: Config, overrides: dict, *, where: str) -> Config:
    """Whole tables first, so that "target" = {kind = ...} and "target.side" compose."""
    for key in sorted(overrides, key=lambda k: (k.count("."), k)):
        config = replace_key(config, key, overrides[key], where=where)
    return config


def varied_keys(grid: dict) -> set[str]:
    """The config keys a grid sets: its axes and every case's keys."""
    return {k for k in grid if k != GRID_CASE} | {k for case in grid.get(GRID_CASE, []) for k in case
                                                   if k != "name"}


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


def metric_of(config: Config) -> str:
    return config.sweep.metric_by_target.get(config.target.kind, config.sweep.generalization_metric)
