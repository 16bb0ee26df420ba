"""Variation operators on genomes, registered on a DEAP toolbox built per search.

Element operators change one element: ``perturb`` (polygons: Gaussian noise of std
``vertex_sigma`` on every vertex, in units of the image side; integer positions: one dot moves
by a pixel), ``add_vertex`` (split an edge), ``remove_vertex``. Set operators change the set:
``replace`` (an element by a fresh target sample), ``delete``, ``insert`` (a fresh sample or a
perturbed copy of an element). Crossover exchanges elements between two training sets.

Images genome (``search.genome = "images"``, free binary images): ``flip`` (DEAP's mutFlipBit,
per-pixel ``flip_rate``), ``dilate`` / ``erode`` (scipy.ndimage, a random 3x3 element),
``shift`` (1-2 pixels), ``stroke`` (draw or erase a line), ``shape`` (draw or erase a small
polygon), ``replace`` (an image by a fresh target sample), ``delete``, ``insert``; crossover
exchanges images between sets or, with ``splice_prob``, splices two images along a line.

Every operator draws from the numpy Generator it is given and returns a genome that is valid
(polygons: each element's image passes ``target.is_valid``; images: binary, of the side), has a
size in [n_min, n_max] and, unless
duplicates are allowed, no two equal images. A change that cannot be made valid within
``TRIES`` draws leaves the genome unchanged (the search then simply re-uses a cached fitness).
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base, tools
from scipy import ndimage

from .. import registry
from ..registry import IMAGE_OPERATORS, POLYGON_OPERATORS
from .genomes import Genome, element_keys, is_image, random_genome, sample_elements

TRIES = 8
OPERATORS = registry.OPERATORS.names  # every operator, polygons first


@dataclass(frozen=True)
class Rules:
    """What a genome must satisfy: the target's support, size bounds, duplicates."""

    target: Any
    n_min: int
    n_max: int
    allow_duplicates: bool = False
    sigma: float = 0.05
    images: bool = False  # search.genome = "images": free binary images, any image accepted
    flip_rate: float = 0.02  # the flip operator's per-pixel probability
    splice_prob: float = 0.5  # crossover of images genomes: splice two images (else swap images)

    @property
    def max_vertices(self) -> int:
        return getattr(self.target, "max_vertices", 0)

    def keys(self, elements) -> list[bytes]:
        return element_keys(self.target, list(elements))

    def accepts(self, element: np.ndarray, taken: set[bytes]) -> bool:
        """Is ``element`` in the target's support (any binary image of the target's side, for
        an images genome), and new when duplicates are not allowed?"""
        if self.images:
            side = self.target.side
            return (is_image(element) and element.shape == (side, side)
                    and (self.allow_duplicates or np.packbits(element).tobytes() not in taken))
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


# ----------------------------------------------------------------------------- image operators
def flip(image: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    """DEAP's mutFlipBit with per-pixel probability ``flip_rate``, at least one pixel flipped."""
    bits = image.reshape(-1).tolist()
    with _numpy_random(rng):  # DEAP draws from the random module: seeded from the search's rng
        (bits,) = tools.mutFlipBit(bits, indpb=rules.flip_rate)
    out = np.array(bits, dtype=bool).reshape(image.shape)
    if np.array_equal(out, image):
        out.reshape(-1)[rng.integers(out.size)] ^= True
    return out


def dilate(image: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    return ndimage.binary_dilation(image, structure=_structure(rng))


def erode(image: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    return ndimage.binary_erosion(image, structure=_structure(rng))


def _structure(rng) -> np.ndarray:
    """A 4- or 8-connected 3x3 element, or one line of three pixels (grows or thins one way)."""
    kind = rng.integers(4)
    if kind < 2:
        return ndimage.generate_binary_structure(2, 1 + int(kind))
    line = np.zeros((3, 3), bool)
    line[1, :] = True
    return line if kind == 2 else line.T


def shift(image: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    """Translate by one to two pixels along each axis (not both zero); what leaves the frame is lost."""
    while True:
        dy, dx = (int(d) for d in rng.integers(-2, 3, 2))
        if dy or dx:
            return ndimage.shift(image, (dy, dx), order=0, cval=False, prefilter=False)


def stroke(image: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    """Draw (or, half the time, erase) a 1-pixel straight stroke between two random pixels."""
    h, w = image.shape
    (y0, x0), (y1, x1) = rng.integers(0, (h, w), (2, 2))
    k = max(abs(y1 - y0), abs(x1 - x0)) + 1
    ys, xs = (np.rint(np.linspace(a, b, k)).astype(int) for a, b in ((y0, y1), (x0, x1)))
    out = image.copy()
    out[ys, xs] = rng.random() < 0.5
    return out


def shape(image: np.ndarray, rng: np.random.Generator, rules: Rules) -> np.ndarray:
    """Draw (or, half the time, erase) a small polygon: a target sample shrunk to a third of
    the side and placed at random, so that one image may hold several shapes or a hole."""
    vertices = np.asarray(rules.target.sample_params(1, rng)[0], dtype=float)
    vertices = (vertices - vertices.min(axis=0)) / 3 + rng.random(2) * (2 / 3)
    mask = np.asarray(rules.target.render([vertices]))[0] > 0
    out = image.copy()
    out[mask] = rng.random() < 0.5
    return out


@contextlib.contextmanager
def _numpy_random(rng: np.random.Generator):
    """Run a DEAP operator (which draws from ``random``) on a stream seeded from ``rng``, and
    restore the global state after: the search stays a function of its own generator."""
    saved = random.getstate()
    random.seed(int(rng.integers(2 ** 63)))
    try:
        yield
    finally:
        random.setstate(saved)


IMAGE_ELEMENT_OPERATORS = {name: (op, lambda e, rules: is_image(e)) for name, op in
                           (("flip", flip), ("dilate", dilate), ("erode", erode), ("shift", shift),
                            ("stroke", stroke), ("shape", shape))}

ELEMENT_OPERATORS = {
    "perturb": (perturb, lambda e, rules: e.size > 0),
    "add_vertex": (add_vertex, lambda e, rules: _is_polygon(e) and len(e) < rules.max_vertices),
    "remove_vertex": (remove_vertex, lambda e, rules: _is_polygon(e) and len(e) > 3),
    **IMAGE_ELEMENT_OPERATORS,
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
                            taken=rules.keys(others), images=rules.images)
    return Genome(others + fresh)


def _delete(genome: Genome, rng, rules: Rules) -> Genome:
    i = rng.integers(genome.size)
    return Genome(genome.elements[:i] + genome.elements[i + 1:])


def _insert(genome: Genome, rng, rules: Rules) -> Genome:
    """Add a perturbed copy of an element (half the time, if one is found) or a fresh sample."""
    taken = set(rules.keys(genome.elements))
    if genome.size and rng.random() < 0.5:
        source = genome.elements[rng.integers(genome.size)]
        change = flip if rules.images else perturb
        for _ in range(TRIES):
            element = change(source, rng, rules)
            if rules.accepts(element, taken):
                return Genome(list(genome.elements) + [element])
    fresh = sample_elements(rules.target, 1, rng, allow_duplicates=rules.allow_duplicates,
                            taken=taken, images=rules.images)
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
    kind = IMAGE_OPERATORS if rules.images else POLYGON_OPERATORS
    names = [n for n in kind if weights.get(n, 0) > 0 and _applicable(n, genome, rules)]
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
    n_min is replaced by its parent. Images genomes: with probability ``splice_prob`` the
    children are the parents with one image each spliced along a random line instead."""
    if rules.images and rng.random() < rules.splice_prob:
        return splice(a, b, rng=rng, rules=rules)
    pa, pb = rng.permutation(a.size), rng.permutation(b.size)
    cuts = [(i, j) for i in range(a.size + 1) for j in range(b.size + 1)
            if rules.n_min <= i + b.size - j <= rules.n_max
            and rules.n_min <= j + a.size - i <= rules.n_max]
    i, j = cuts[rng.integers(len(cuts))]
    first = [a.elements[k] for k in pa[:i]] + [b.elements[k] for k in pb[j:]]
    second = [b.elements[k] for k in pb[:j]] + [a.elements[k] for k in pa[i:]]
    return _child(first, a, rules), _child(second, b, rules)


def splice(a: Genome, b: Genome, *, rng: np.random.Generator, rules: Rules) -> tuple[Genome, Genome]:
    """Cut image a_i and image b_j along one random straight line and exchange a side: a_i
    keeps its pixels on one side and takes b_j's on the other, b_j the converse."""
    i, j = int(rng.integers(a.size)), int(rng.integers(b.size))
    x, y = a.elements[i], b.elements[j]
    h, w = x.shape
    angle, centre = rng.uniform(0, np.pi), rng.uniform(0, 1, 2) * (h - 1, w - 1)
    rows, cols = np.mgrid[:h, :w]
    side = (rows - centre[0]) * np.cos(angle) + (cols - centre[1]) * np.sin(angle) > 0
    first = list(a.elements[:i] + a.elements[i + 1:]) + [np.where(side, x, y)]
    second = list(b.elements[:j] + b.elements[j + 1:]) + [np.where(side, y, x)]
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
        rules.target, size, rng, allow_duplicates=rules.allow_duplicates, images=rules.images))
    return toolbox
