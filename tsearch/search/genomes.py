"""Genomes of experiment 3: a training set as a list of the target's own parameters, or
(``search.genome = "images"``) as a list of free binary images, bool (H, W) arrays that need
not be in the target's support (a training set read as an encoding of the target, not a sample).

For polygons an element is a vertex array (k, 2), 3 <= k <= max_vertices, coordinates in the
unit square; for dots it is an array of pixel positions. The target renders a genome, so its
images always come from the target's rasterization and a genome is valid when every element's
image passes ``target.is_valid``.

A genome is canonical: its elements are sorted by their bytes, so a training set has one
representation, and :attr:`Genome.hash` (sha256 of dtype, shape and bytes of each element)
identifies it across processes, runs and checkpoints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import UserError

Target = Any  # a tsearch.targets.Target; search may not import targets (tests/test_layering.py)


def _element_key(element: np.ndarray) -> tuple:
    return (element.dtype.str, element.shape, element.tobytes())


class Genome:
    """An immutable, canonically ordered training set of target parameters."""

    __slots__ = ("elements", "hash")

    def __init__(self, elements: Iterable):
        arrays = [np.array(e) for e in elements]  # copies: a genome never aliases its parents
        for a in arrays:
            a.setflags(write=False)
        self.elements: tuple[np.ndarray, ...] = tuple(sorted(arrays, key=_element_key))
        digest = hashlib.sha256()
        for dtype, shape, raw in map(_element_key, self.elements):
            digest.update(f"{dtype}{shape}".encode())
            digest.update(raw)
        self.hash: str = digest.hexdigest()

    @property
    def size(self) -> int:
        return len(self.elements)

    def __len__(self) -> int:
        return len(self.elements)

    def __eq__(self, other) -> bool:
        return isinstance(other, Genome) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"Genome(size={self.size}, hash={self.hash[:12]})"

    @property
    def is_images(self) -> bool:
        """A set of free binary images (``search.genome = "images"``): each element is a bool
        (H, W) image, shown to the model as it is, in the target's support or not."""
        return bool(self.elements) and all(is_image(e) for e in self.elements)

    def render(self, target: Target) -> np.ndarray:
        """(size, H, W) images of the training set, in ±1 (free images are not rendered by the
        target: they are the images)."""
        if self.is_images:
            return np.where(np.stack(self.elements), 1.0, -1.0).astype(np.float32)
        return np.asarray(target.render(list(self.elements)))


def is_image(element: np.ndarray) -> bool:
    return element.dtype == np.bool_ and element.ndim == 2


def as_images(target: Target, params: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The bool images of target parameters: an images genome's elements."""
    if not params:
        return []
    return [image > 0 for image in np.asarray(target.render(list(params)))]


def element_keys(target: Target, elements: Sequence[np.ndarray]) -> list[bytes]:
    """The canonical image key of each element (equal keys = duplicate training images)."""
    if not elements:
        return []
    # the packed bits of each binarized image, as tsearch.targets.base.image_keys
    if all(is_image(np.asarray(e)) for e in elements):
        return [np.packbits(np.asarray(e)).tobytes() for e in elements]
    return [np.packbits(image > 0).tobytes() for image in np.asarray(target.render(list(elements)))]


def sample_elements(target: Target, n: int, rng: np.random.Generator, *,
                    allow_duplicates: bool, taken: Iterable[bytes] = (),
                    images: bool = False) -> list[np.ndarray]:
    """``n`` fresh target parameters whose images are not in ``taken`` (nor repeated, unless
    duplicates are allowed); with ``images``, their bool images (the same draws). Raises
    UserError when the support is too small to find them."""
    if images:
        return as_images(target, sample_elements(target, n, rng, allow_duplicates=allow_duplicates,
                                                 taken=taken))
    if allow_duplicates:
        return [np.asarray(p) for p in target.sample_params(n, rng)]
    seen, found = set(taken), []
    for _ in range(100):  # rejection: a handful of rounds unless the support is nearly used up
        fresh = [np.asarray(p) for p in target.sample_params(n - len(found), rng)]
        for element, key in zip(fresh, element_keys(target, fresh)):
            if key not in seen:
                seen.add(key)
                found.append(element)
        if len(found) == n:
            return found
    raise UserError(f"cannot draw {n} distinct training images from the {type(target).__name__} "
                    f"(support too small; set search.allow_duplicates = true or lower search.n_max)")


def random_genome(target: Target, size: int, rng: np.random.Generator, *,
                  allow_duplicates: bool, images: bool = False) -> Genome:
    """A training set of ``size`` images drawn from the target: the baseline's training sets
    (with ``images``, the same draws as free images: both genome kinds start at one place)."""
    return Genome(sample_elements(target, size, rng, allow_duplicates=allow_duplicates, images=images))
