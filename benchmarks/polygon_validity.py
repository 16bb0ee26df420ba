"""Accuracy and speed of the polygons target's validity check (docs/polygon_validity.md).

    python benchmarks/polygon_validity.py [--n 1000] [--negatives 100]

Positives: the target's own samples (fresh target per configuration, so no cache help).
Negatives: randomized crafted classes that no simple polygon with <= K vertices rasterizes
to. Prints one table row per configuration / class; times are per distinct image.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tsearch.seeding import numpy_rng
from tsearch.targets.polygons import PolygonsTarget
from tsearch.targets.raster import is_connected


def timed_validity(target, images):
    """Validity of each image and the seconds each took alone (cache empty)."""
    valid, reasons, seconds = [], [], []
    for img in images:
        start = time.perf_counter()
        v = target.is_valid(img[None])
        seconds.append(time.perf_counter() - start)
        valid.append(v.valid[0])
        reasons.append(v.reason[0])
    return np.array(valid), np.array(reasons), np.array(seconds)


# ----------------------------------------------------------------------------- negatives
def two_components(target, rng):
    while True:
        a, b = target.sample(2, rng).images > 0
        w = a | b
        if (a & b).sum() == 0 and not is_connected(w[None])[0]:
            return w


def with_hole(target, rng):
    while True:
        w = target.sample(1, rng).images[0] > 0
        p = np.pad(w, 1)
        inner = np.ones_like(w)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                inner &= p[1 + di:1 + di + w.shape[0], 1 + dj:1 + dj + w.shape[1]]
        if inner.any():
            i, j = np.argwhere(inner)[rng.integers(inner.sum())]
            w[i, j] = False
            return w


def speckle(target, rng):
    return rng.random(target.shape) < rng.uniform(0.1, 0.5)


def diagonal(target, rng):
    side = target.side
    length = int(rng.integers(3, side + 1))
    i0, j0 = rng.integers(0, side - length + 1, 2)
    w = np.zeros(target.shape, bool)
    w[i0 + np.arange(length), j0 + np.arange(length)] = True
    return w[:, ::-1] if rng.random() < 0.5 else w


def fat_plus(target, rng):
    """A cross with arms of width >= 3 and length >= width: 12 vertices needed."""
    side = target.side
    width = int(rng.integers(3, max(4, side // 6) + 1))
    arm = int(rng.integers(width, max(width + 1, (side - width) // 2 - 1)))
    span = width + 2 * arm
    i0, j0 = rng.integers(0, side - span + 1, 2)
    w = np.zeros(target.shape, bool)
    w[i0 + arm:i0 + arm + width, j0:j0 + span] = True
    w[i0:i0 + span, j0 + arm:j0 + arm + width] = True
    return w


def comb(target, rng):
    """Spine with three long teeth (width >= 2, gaps >= 2, length >= 8): 12 vertices needed
    (short gaps can be carved by thin wedges: a 5-pixel comb fits a 7-gon)."""
    side = target.side
    w = np.zeros(target.shape, bool)
    tooth, gap = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    height = 3 * tooth + 2 * gap
    length = int(rng.integers(max(10, side // 2), side - 1))
    i0, j0 = rng.integers(0, side - height + 1), rng.integers(0, side - length + 1)
    w[i0:i0 + height, j0:j0 + 2] = True
    for k in range(3):
        top = i0 + k * (tooth + gap)
        w[top:top + tooth, j0:j0 + length] = True
    return w


NEGATIVES = {"disconnected": two_components, "hole": with_hole, "speckle": speckle,
             "diagonal": diagonal, "plus": fat_plus, "comb": comb}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--negatives", type=int, default=100)
    args = parser.parse_args()
    print("| side | K | convex | n | accepted | reasons of rejections | mean ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for side in (16, 32):
        for k in (6, 8):
            for convex in (False, True):
                target = PolygonsTarget(side=side, max_vertices=k, convex=convex)
                images = target.sample(args.n, numpy_rng(0, "bench", side, k, convex)).images
                valid, reasons, secs = timed_validity(target, images)
                why = dict(zip(*np.unique(reasons[~valid], return_counts=True)))
                print(f"| {side} | {k} | {convex} | {args.n} | {valid.mean():.2%} | "
                      f"{ {str(a): int(b) for a, b in why.items()} or '-'} | "
                      f"{1e3 * secs.mean():.1f} | {1e3 * np.quantile(secs, 0.99):.1f} |")
    print()
    print("| side | K | class | n | rejected | mean ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for side in (16, 32):
        for k in (6, 8):
            target = PolygonsTarget(side=side, max_vertices=k)
            for name, make in NEGATIVES.items():
                rng = numpy_rng(1, "negatives", side, k, name)
                images = np.stack([np.where(make(target, rng), 1.0, -1.0)
                                   for _ in range(args.negatives)]).astype(np.float32)
                valid, _, secs = timed_validity(target, images)
                print(f"| {side} | {k} | {name} | {args.negatives} | {(~valid).mean():.2%} | "
                      f"{1e3 * secs.mean():.1f} | {1e3 * np.quantile(secs, 0.99):.1f} |")


if __name__ == "__main__":
    main()
