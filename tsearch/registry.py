"""One small registry reused by every seam: kind -> config dataclass -> implementation.

A :class:`Seam` (targets, models, diffusion processes, samplers, executors) maps each kind to
its config dataclass and to its implementation, named by a ``"module:attribute"`` string that
is imported only when something is built: loading a config imports no torch, shapely or ray.
:class:`Names` lists the other names a config may hold (metrics, search operators). Both answer
an unknown name with one line and a "did you mean".

    TARGETS = Seam("target")

    @TARGETS.register("tsearch.targets.dots:DotsTarget")      # kind read from the class: "dots"
    @dataclass(frozen=True)
    class DotsConfig:
        kind: Literal["dots"] = "dots"
        side: int = 8

    TARGETS.config_class("dotz")   # UnknownName: unknown target kind 'dotz' (did you mean 'dots'?)
    TARGETS.build(DotsConfig())    # DotsTarget(side=8): the config's fields are its keywords
    METRICS.check("g_rell")        # UnknownName: unknown metric 'g_rell' (did you mean 'g_rel'?)

The seams themselves are declared next to their dataclasses (tsearch/config/schema.py); this
module sits at the bottom of the layers and imports nothing from tsearch.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class UnknownName(ValueError):
    """A name no seam or name list knows; ``str(exc)`` is the message without file or key."""

    def __init__(self, what: str, name: object, known: Iterable[str]):
        super().__init__(f"unknown {what} {name!r}{suggestion(name, known)}")


def did_you_mean(name: object, known: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the name of ``known`` closest to ``name``, else '': the one
    hint of every unknown name, key or choice."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def suggestion(name: object, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close name, else ' (choose one of a, b, c)'."""
    known = list(known)
    return (did_you_mean(name, known) if isinstance(name, str) else "") or f" (choose one of {', '.join(known)})"


@dataclass(frozen=True)
class Names:
    """A closed list of names a config may use, e.g. metric names."""

    what: str  # "metric", "operator": the word of the error message
    names: tuple[str, ...]

    def check(self, name: object) -> str:
        if name not in self.names:
            raise UnknownName(self.what, name, self.names)
        return name

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)


@dataclass(frozen=True)
class Kind:
    name: str
    config: type  # the config dataclass of the kind's table
    implementation: str  # "module:attribute", imported by Seam.implementation
    params: tuple[str, ...] | None  # config fields passed as keywords (None: all but kind)
    context: tuple[str, ...]  # keywords the builder supplies (e.g. side, process)
    role: str  # a seam's own sub-division, e.g. "network" / "oracle" for models


class Seam:
    """The kinds of one config table (``[target]``, ``[model]``...)."""

    def __init__(self, table: str):
        self.table = table
        self._kinds: dict[str, Kind] = {}

    def add(self, kind: str, config: type, implementation: str, *, params: tuple[str, ...] | None = None,
            context: tuple[str, ...] = (), role: str = "") -> None:
        if kind in self._kinds:
            raise ValueError(f"{self.table} kind {kind!r} registered twice")
        if ":" not in implementation:
            raise ValueError(f"{implementation!r}: expected 'module:attribute'")
        self._kinds[kind] = Kind(kind, config, implementation, params, tuple(context), role)

    def register(self, implementation: str, **options):
        """Class decorator: register a dataclass under the default of its ``kind`` field."""

        def decorate(cls: type) -> type:
            self.add(cls.kind, cls, implementation, **options)
            return cls

        return decorate

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def with_role(self, role: str) -> frozenset[str]:
        return frozenset(k.name for k in self._kinds.values() if k.role == role)

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in self._kinds  # a TOML list or table is no name

    def kind(self, name: object) -> Kind:
        if name not in self:
            raise UnknownName(f"{self.table} kind", name, self._kinds)
        return self._kinds[name]

    def config_class(self, name: object) -> type:
        return self.kind(name).config

    def implementation(self, name: str):
        """The class (or factory) of a kind, importing its module now."""
        module, attribute = self.kind(name).implementation.split(":")
        return getattr(importlib.import_module(module), attribute)

    def build(self, cfg, **context):
        """``implementation(**fields of cfg, **context)``: the kind's ``params`` (all fields
        but ``kind`` when None) and the subset of ``context`` the kind declared it takes
        (a declared keyword that is absent or None is a bug of the caller: TypeError)."""
        kind = self.kind(cfg.kind)
        names = kind.params if kind.params is not None else [
            f.name for f in dataclasses.fields(cfg) if f.name != "kind"]
        kwargs = {name: getattr(cfg, name) for name in names}
        missing = [name for name in kind.context if context.get(name) is None]
        if missing:
            raise TypeError(f"building {self.table} kind {kind.name!r} needs {', '.join(missing)}")
        kwargs.update({name: context[name] for name in kind.context})
        return self.implementation(kind.name)(**kwargs)


# Every metric key the engine reports per scored step (tsearch/metrics/report.py: the fractions
# of FRACTIONS, then distinct_novel and coverage_unseen; tests/test_registry.py checks the list
# against a real compute_metrics). GOAL_METRICS: those that grow with generalization, the only
# ones a search may maximize or a sweep may threshold (copy and copy_ratio measure memorization).
METRICS = Names("metric", ("valid", "copy", "copy_ratio", "novel", "g", "g_rel", "distinct_novel",
                           "coverage_unseen", "copy_shift", "novel_shift", "g_shift", "near_copy",
                           "g_far", "distinct_novel_shift", "hamming_q10", "hamming_q50",
                           "hamming_q90", "chance_valid", "g_above_chance", "g_shift_above_chance",
                           "precision", "recall", "coverage", "coverage_chance", "learned"))
GOAL_METRICS = Names("metric", ("g", "g_rel", "novel", "distinct_novel", "valid", "coverage_unseen",
                                "g_shift", "novel_shift", "g_far", "distinct_novel_shift",
                                "g_above_chance", "g_shift_above_chance", "precision", "recall",
                                "coverage", "learned"))

# The mutation operators (tsearch/search/operators.py implements them), the keys of [search]
# operator_weights: those of a polygons genome, those of an images genome (each can leave the
# target's support and come back; the set operators are shared), in the order a mutation
# draws among them.
POLYGON_OPERATORS = ("perturb", "add_vertex", "remove_vertex", "replace", "delete", "insert")
IMAGE_OPERATORS = ("flip", "dilate", "erode", "shift", "stroke", "shape", "replace", "delete", "insert")
OPERATORS = Names("operator", POLYGON_OPERATORS + tuple(n for n in IMAGE_OPERATORS if n not in POLYGON_OPERATORS))
