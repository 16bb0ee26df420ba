"""Variation operators on genomes, registered on a DEAP toolbox built per search.

Element operators change one element: ``perturb`` (polygons: Gaussian noise of std
``vertex_sigma`` on every vertex, in units of the image side; integer positions: one dot moves
by a pixel), ``add_vertex`` (split an edge), ``remove_vertex``. Set operators change the set:
``replace`` (an element by a fresh target sample), ``delete``, ``insert`` (a fresh sample or a
perturbed copy of an element). Crossover exchanges elements between two training sets.

Every operator draws from the numpy Generator it is given and returns a genome that is valid
(each element's image passes ``target.is_valid``), has a size in [n_min, n_max] and, unless
duplicates are allowed, no two equal images. A change that cannot be made valid within
``TRIES`` draws leaves the genome unchanged (the search then simply re-uses a cached fitness).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base

from .genomes import Genome, element_keys, random_genome, sample_elements

TRIES = 8
OPERATORS = ("perturb", "add_vertex", "remove_vertex", "replace", "delete", "insert")


@dataclass(frozen=True)
class Rules:
    """What a genome must satisfy: the target's support, size bounds, duplicates."""

    target: Any
    n_min: int
    n_max: int
    allow_duplicates: bool = False
    sigma: float = 0.05

    @property
    def max_vertices(self) -> int:
        return getattr(self.target, "max_vertices", 0)

    def keys(self, elements) -> list[bytes]:
        return element_keys(self.target, list(elements))

    def accepts(self, element: np.ndarray, taken: set[bytes]) -> bool:
        """Is ``element`` in the target's support, and new when duplicates are not allowed?"""
        image = np.asarray(self.target.render([element]))
        if not bool(self.target.is_valid(image).valid[0]):
            return False
        return self.allow_duplicates or np.packbits(image[0] > 0).tobytes() not in taken

    def dedupe(self, elements: list[np.ndarray]) -> list[np.ndarray]:
        if self.allow_duplicates:
            return elements
        first = {}
        for element, key in zip(elements, self.keys(elements)):
            first.setdefault(key, element)
        return list(first.values())


# ----------------------------------------------------------------------------- element operators
def _is_polygon(element: np.ndarray) -> bool:
    return element.dtype.kind == "f" and element.ndim == 2 and element.shape[1] == 2


def perturb(element: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    if element.dtype.kind == "f":  # vertex coordinates in the unit square
        return np.clip(element + rng.normal(0.0, rules.sigma, element.shape), 0.0, 1.0)
    if element.dtype.kind == "b":  # bits (e.g. a code's message): flip one
        flipped = element.copy().reshape(-1)
        flipped[rng.integers(flipped.size)] ^= True
        return flipped.reshape(element.shape)
    points = element.copy().reshape(-1, element.shape[-1] if element.ndim else 1)  # (k, 2) pixels
    i = rng.integers(len(points))
    points[i] = np.clip(points[i] + rng.integers(-1, 2, points.shape[1]), 0, rules.target.side - 1)
    return points.reshape(element.shape)


def add_vertex(element: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    """Split edge (i, i+1) at its midpoint, jittered so that the new vertex bends the edge."""
    i = rng.integers(len(element))
    middle = (element[i] + element[(i + 1) % len(element)]) / 2
    vertex = np.clip(middle + rng.normal(0.0, rules.sigma, 2), 0.0, 1.0)
    return np.insert(element, i + 1, vertex, axis=0)


def remove_vertex(element: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    return np.delete(element, rng.integers(len(element)), axis=0)


ELEMENT_OPERATORS = {
    "perturb": (perturb, lambda e, rules: e.size > 0),
    "add_vertex": (add_vertex, lambda e, rules: _is_polygon(e) and len(e) < rules.max_vertices),
    "remove_vertex": (remove_vertex, lambda e, rules: _is_polygon(e) and len(e) > 3),
}


def _mutate_element(genome: Genome, name: str, rng, rules: Rules) -> Genome:
    operator, applies = ELEMENT_OPERATORS[name]
    candidates = [i for i, e in enumerate(genome.elements) if applies(e, rules)]
    i = candidates[rng.integers(len(candidates))]
    others = list(genome.elements[:i] + genome.elements[i + 1:])
    taken = set(rules.keys(others))
    for _ in range(TRIES):
        element = operator(genome.elements[i], rng, rules)
        if rules.accepts(element, taken):
            return Genome(others + [element])
    return genome


# ----------------------------------------------------------------------------- set operators
def _replace(genome: Genome, rng, rules: Rules) -> Genome:
    i = rng.integers(genome.size)
    others = list(genome.elements[:i] + genome.elements[i + 1:])
    fresh = sample_elements(rules.target, 1, rng, allow_duplicates=rules.allow_duplicates,
                            taken=rules.keys(others))
    return Genome(others + fresh)


def _delete(genome: Genome, rng, rules: Rules) -> Genome:
    i = rng.integers(genome.size)
    return Genome(genome.elements[:i] + genome.elements[i + 1:])


def _insert(genome: Genome, rng, rules: Rules) -> Genome:
    """Add a perturbed copy of an element (half the time, if one is found) or a fresh sample."""
    taken = set(rules.keys(genome.elements))
    if genome.size and rng.random() < 0.5:
        source = genome.elements[rng.integers(genome.size)]
        for _ in range(TRIES):
            element = perturb(source, rng, rules)
            if rules.accepts(element, taken):
                return Genome(list(genome.elements) + [element])
    fresh = sample_elements(rules.target, 1, rng, allow_duplicates=rules.allow_duplicates,
                            taken=taken)
    return Genome(list(genome.elements) + fresh)


def _applicable(name: str, genome: Genome, rules: Rules) -> bool:
    if name in ELEMENT_OPERATORS:
        return any(ELEMENT_OPERATORS[name][1](e, rules) for e in genome.elements)
    return {"replace": genome.size >= 1, "delete": genome.size > rules.n_min,
            "insert": genome.size < rules.n_max}[name]


SET_OPERATORS = {"replace": _replace, "delete": _delete, "insert": _insert}


def mutate(genome: Genome, *, rng: np.random.Generator, rules: Rules,
           weights: dict[str, float]) -> Genome:
    """Apply one operator, drawn with probability proportional to its weight among those
    that apply to this genome (no vertex to remove, size at a bound, ...)."""
    names = [n for n in OPERATORS if weights.get(n, 0) > 0 and _applicable(n, genome, rules)]
    if not names:
        return genome
    p = np.array([weights[n] for n in names], dtype=float)
    name = names[rng.choice(len(names), p=p / p.sum())]
    if name in SET_OPERATORS:
        return SET_OPERATORS[name](genome, rng, rules)
    return _mutate_element(genome, name, rng, rules)


def crossover(a: Genome, b: Genome, *, rng: np.random.Generator, rules: Rules) -> tuple[Genome, Genome]:
    """One-point crossover of two shuffled sets: children a[:i] + b[j:] and b[:j] + a[i:], the
    cuts drawn uniformly among those keeping both sizes in [n_min, n_max] (with equal sizes and
    n_min = n_max this exchanges i elements each way). A child that loses duplicates below
    n_min is replaced by its parent."""
    pa, pb = rng.permutation(a.size), rng.permutation(b.size)
    cuts = [(i, j) for i in range(a.size + 1) for j in range(b.size + 1)
            if rules.n_min <= i + b.size - j <= rules.n_max
            and rules.n_min <= j + a.size - i <= rules.n_max]
    i, j = cuts[rng.integers(len(cuts))]
    first = [a.elements[k] for k in pa[:i]] + [b.elements[k] for k in pb[j:]]
    second = [b.elements[k] for k in pb[:j]] + [a.elements[k] for k in pa[i:]]
    return _child(first, a, rules), _child(second, b, rules)


def _child(elements: list[np.ndarray], parent: Genome, rules: Rules) -> Genome:
    kept = rules.dedupe(elements)
    return Genome(kept) if rules.n_min <= len(kept) <= rules.n_max else parent


# ----------------------------------------------------------------------------- toolbox
def build_toolbox(rules: Rules, rng: np.random.Generator, weights: dict[str, float]) -> base.Toolbox:
    """A DEAP toolbox for one search: ``mate``, ``mutate`` and ``sample(size)``, all drawing
    from ``rng`` (the search's own generator, checkpointed with it)."""
    toolbox = base.Toolbox()
    toolbox.register("mate", crossover, rng=rng, rules=rules)
    toolbox.register("mutate", mutate, rng=rng, rules=rules, weights=weights)
    toolbox.register("sample", lambda size: random_genome(
        rules.target, size, rng, allow_duplicates=rules.allow_duplicates))
    return toolbox
