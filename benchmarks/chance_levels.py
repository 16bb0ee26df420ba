"""Chance level of the polygon validity test (docs/polygon_validity.md, "Chance level").

For each (side, K): draw N target samples, take their white areas, grow one random 4-connected
Eden blob per area (tsearch/metrics/chance.py) and report the fraction of blobs the validity
test accepts, overall and by area band, with a 95 % Wilson interval.

    nice -n 10 python benchmarks/chance_levels.py [--n 300] [--configs 8:5 10:6 16:6 16:8]
"""

from __future__ import annotations

import argparse
import time

from tsearch.metrics.chance import chance_report
from tsearch.seeding import numpy_rng
from tsearch.targets.polygons import PolygonsTarget


def measure(side: int, k: int, n: int, min_area: float) -> dict:
    target = PolygonsTarget(side=side, max_vertices=k, min_area=min_area)
    t0 = time.perf_counter()
    areas = (target.sample(n, numpy_rng(0, "chance-table", side, k)).images > 0).sum(axis=(1, 2))
    report = chance_report(lambda im: target.is_valid(im).valid, areas, target.shape,
                           numpy_rng(1, "chance-table", side, k))
    return {**report, "side": side, "K": k, "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--configs", nargs="+", default=["8:5", "10:6", "16:6", "16:8"])
    parser.add_argument("--min-area", type=float, default=6.0)
    args = parser.parse_args()
    print("| side | K | blobs | mean area | chance_valid (95% CI) | by area band: rate (blobs) | s |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.configs:
        side, k = (int(v) for v in spec.split(":"))
        r = measure(side, k, args.n, args.min_area)
        bands = ", ".join(f"{b}: {v['chance_valid']:.2f} ({v['blobs']})" for b, v in r["by_area"].items())
        lo, hi = r["interval"]
        print(f"| {side} | {k} | {r['blobs']} | {r['mean_area']:.1f} | {r['chance_valid']:.3f} "
              f"({lo:.3f}-{hi:.3f}) | {bands} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
