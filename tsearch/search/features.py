"""What a training set looks like, as a few numbers: how GA sets differ from control sets.

For a set of n images x_i in {-1, +1}^{H x W} (side s = W) and, for polygons, its vertex arrays:

    white        mean over images of the fraction of white pixels (x > 0)
    vertices     mean number of vertices per polygon (None for targets without vertices)
    spread       sqrt(mean_i |c_i - mean_j c_j|^2) / s, c_i the centroid (row, col) of image i's
                 white pixels: how far apart the shapes sit (0 for one image)
    hamming      mean over pairs i < j of the fraction of pixels where x_i and x_j differ
                 (how different the images are; None for one image)
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

FEATURES = ("size", "white", "vertices", "spread", "hamming")


def set_features(images: np.ndarray, elements) -> dict:
    """The numbers above for one training set: ``images`` (n, H, W), ``elements`` its genome's."""
    white = np.asarray(images) > 0
    n, side = len(white), white.shape[-1]
    centroids = np.array([np.argwhere(w).mean(axis=0) if w.any() else np.full(2, np.nan) for w in white])
    centred = centroids - np.nanmean(centroids, axis=0)
    polygons = all(np.asarray(e).dtype.kind == "f" and np.asarray(e).ndim == 2 for e in elements)
    pairs = [np.mean(white[i] != white[j]) for i, j in combinations(range(n), 2)]
    return {"size": n, "white": float(white.mean()),
            "vertices": float(np.mean([len(e) for e in elements])) if polygons and n else None,
            "spread": float(np.sqrt(np.nanmean((centred ** 2).sum(axis=1))) / side),
            "hamming": float(np.mean(pairs)) if pairs else None}


def mean_features(rows: list[dict]) -> dict:
    """Each feature's mean over training sets (None where no set has it)."""
    out = {}
    for name in FEATURES:
        values = [r[name] for r in rows if r.get(name) is not None]
        out[name] = float(np.mean(values)) if values else None
    return out
