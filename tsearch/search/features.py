"""What a training set looks like, as a few numbers: what makes a set teach (experiment 3).

For a set of n images x_i in {-1, +1}^{H x W} (side s = W), w_i its white pixels, and for
polygons P_i the polygon of element i's vertices (shapely; a self-intersecting one is repaired
by ``make_valid``):

    size         n
    white        mean_i |w_i| / s^2                       (area, as a fraction of the image)
    white_sd     sd_i |w_i| / s^2                         (how unequal the areas are; 0 for n = 1)
    vertices     mean number of vertices per polygon      (None for targets without vertices)
    convexity    mean_i area(P_i) / area(hull(P_i))       (1: convex)
    compactness  mean_i 4 pi area(P_i) / perimeter(P_i)^2 (isoperimetric quotient; 1: a disc)
    centre       mean_i |c_i - (centre of the image)| / s, c_i the centroid of w_i
    spread       sqrt(mean_i |c_i - mean_j c_j|^2) / s    (how far apart the shapes sit; 0 for n = 1)
    hamming      mean over pairs i < j of |w_i xor w_j| / s^2   (None for one image)
    overlap      mean over pairs i < j of |w_i and w_j| / |w_i or w_j|  (Jaccard; None for one image)

and, added by the driver (it needs the target): ``valid``, the share of the set's images that
are in the target's support (tsearch validate's rule; 1 for a polygons genome, what an images
genome kept of the support otherwise). It is reported, not regressed on (constant for polygons).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

FEATURES = ("size", "white", "white_sd", "vertices", "convexity", "compactness", "centre", "spread",
            "hamming", "overlap")
REPORTED = FEATURES + ("valid",)  # the means reported per arm (tsearch.analysis.summary)


def set_features(images: np.ndarray, elements) -> dict:
    """The numbers above for one training set: ``images`` (n, H, W), ``elements`` its genome's."""
    white = np.asarray(images) > 0
    n, side = len(white), white.shape[-1]
    areas = white.reshape(n, -1).mean(axis=1)
    # of the non-empty images (a free image may be blank: centre and spread are then None)
    centroids = np.array([np.argwhere(w).mean(axis=0) for w in white if w.any()]).reshape(-1, 2)
    centred = centroids - centroids.mean(axis=0) if len(centroids) else centroids
    pairs = list(combinations(range(n), 2))
    shapes = _polygons(elements)
    return {"size": n, "white": float(areas.mean()), "white_sd": float(areas.std()),
            "vertices": float(np.mean([len(e) for e in elements])) if shapes and n else None,
            "convexity": _mean([p.area / p.convex_hull.area for p in shapes if p.convex_hull.area > 0]),
            "compactness": _mean([4 * np.pi * p.area / p.length ** 2 for p in shapes if p.length > 0]),
            "centre": _mean(list(np.linalg.norm(centroids - (side - 1) / 2, axis=1) / side)),
            "spread": (float(np.sqrt((centred ** 2).sum(axis=1).mean())) / side) if len(centred) else None,
            "hamming": _mean([np.mean(white[i] != white[j]) for i, j in pairs]),
            "overlap": _mean([(white[i] & white[j]).sum() / max(1, (white[i] | white[j]).sum())
                              for i, j in pairs])}


def _polygons(elements) -> list:
    """Shapely polygons of vertex arrays (k, 2); [] when the elements are not polygons."""
    arrays = [np.asarray(e) for e in elements]
    if not arrays or not all(a.dtype.kind == "f" and a.ndim == 2 and len(a) >= 3 for a in arrays):
        return []
    from shapely import make_valid
    from shapely.geometry import Polygon
    return [make_valid(Polygon(a)) for a in arrays]


def _mean(values: list) -> float | None:
    return float(np.mean(values)) if values else None


def mean_features(rows: list[dict]) -> dict:
    """Each feature's mean over training sets (None where no set has it)."""
    out = {}
    for name in REPORTED:
        values = [r[name] for r in rows if r.get(name) is not None]
        out[name] = float(np.mean(values)) if values else None
    return out


@dataclass(frozen=True)
class Design:
    """The columns of a feature matrix, chosen on some rows and applied to any: each named
    feature (a missing value, None, takes the column's mean over the fitting rows) plus a
    ``<name> missing`` indicator where it is missing in some but not all of them; columns
    constant over the fitting rows are dropped. The regression and the screening surrogate
    (tsearch.search.screening) read sets through it."""

    labels: tuple[str, ...]
    fill: dict  # feature name -> the value a missing one takes

    @classmethod
    def fit(cls, rows: Sequence[dict], names: Sequence[str]) -> "Design":
        fill = {name: float(np.nanmean(raw)) for name in names
                if not np.isnan(raw := _column(rows, name)).all()}
        labels = []
        for name in fill:
            raw = _column(rows, name)
            absent = np.isnan(raw)
            for column, label in ((np.where(absent, fill[name], raw), name),
                                  (absent.astype(float), f"{name} missing")):
                if np.ptp(column) > 0:
                    labels.append(label)
        return cls(tuple(labels), fill)

    def matrix(self, rows: Sequence[dict]) -> np.ndarray:
        columns = []
        for label in self.labels:
            name, indicator = label.removesuffix(" missing"), label.endswith(" missing")
            raw = _column(rows, name)
            columns.append(np.isnan(raw).astype(float) if indicator else
                           np.where(np.isnan(raw), self.fill[name], raw))
        return np.column_stack(columns) if columns else np.zeros((len(rows), 0))


def _column(rows: Sequence[dict], name: str) -> np.ndarray:
    return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows])
