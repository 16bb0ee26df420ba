"""CPU cost of scoring one step, part by part (docs/metrics.md, "Cost").

M samples (fresh target samples stand in for a model's), n training images. Parts: the exact
metrics as before (compute_metrics without a reference and with the shift metrics), the shift
metrics alone, the once-per-target reference (reference sample + descriptors) and chance table
(blobs for every area the samples show), then a scored step with everything warm.
CPU seconds (time.process_time), single-threaded torch.

    nice -n 10 python benchmarks/metrics_cost.py [--m 256] [--n 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tsearch.config import MetricsConfig
from tsearch.metrics import build_reference, compute_metrics
from tsearch.metrics.shifts import copy_shift, min_shift_hamming
from tsearch.targets.dots import DotsTarget
from tsearch.targets.polygons import PolygonsTarget

TARGETS = {"polygons16_K6": lambda: PolygonsTarget(side=16, max_vertices=6),
           "polygons10_K6": lambda: PolygonsTarget(side=10, max_vertices=6),
           "polygons8_K5": lambda: PolygonsTarget(side=8, max_vertices=5),
           "dots10_k3": lambda: DotsTarget(side=10, k=3)}


def cpu(fn, repeat: int = 1) -> tuple[float, object]:
    """Mean CPU seconds of ``repeat`` calls, and the last result."""
    t0 = time.process_time()
    for _ in range(repeat):
        out = fn()
    return (time.process_time() - t0) / repeat, out


def measure(name: str, m: int, n: int, repeat: int) -> dict:
    target = TARGETS[name]()
    config = MetricsConfig()
    samples = torch.as_tensor(target.sample(m, np.random.default_rng(1)).images)
    train = torch.as_tensor(target.sample(n, np.random.default_rng(2)).images)
    validity_s, validity = cpu(lambda: target.is_valid(samples.numpy()))  # cold memo
    kw = dict(config=config, novel_mass=0.5, validity=validity)
    base_s, _ = cpu(lambda: compute_metrics(samples, train, target, rng=np.random.default_rng(0), **kw),
                    repeat)
    white, y = samples.numpy() > 0, train.numpy() > 0
    shift_s, _ = cpu(lambda: (copy_shift(white, y), min_shift_hamming(torch.as_tensor(white).float(),
                                                                      torch.as_tensor(y).float())), repeat)
    ref_s, reference = cpu(lambda: build_reference(target, config))
    chance_s, _ = cpu(lambda: reference.chance(white.sum(axis=(1, 2))))  # fills the table
    full_s, _ = cpu(lambda: compute_metrics(samples, train, target, rng=np.random.default_rng(0),
                                            reference=reference, **kw), repeat)
    return {"target": name, "validity_cold": validity_s, "step_without_reference": base_s,
            "of_which_shifts": shift_s, "step_with_reference_warm": full_s,
            "reference_once": ref_s, "chance_table_fill": chance_s,
            "areas": len(np.unique(white.sum(axis=(1, 2))))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--m", type=int, default=256)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--targets", nargs="+", default=list(TARGETS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| target | validity (cold) | step, no reference | of which shifts | step, warm reference "
          "| reference (once) | chance table fill (once; areas) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.targets:
        r = measure(name, args.m, args.n, args.repeat)
        print(f"| {name} | {r['validity_cold']:.2f} | {r['step_without_reference']:.3f} | "
              f"{r['of_which_shifts']:.3f} | {r['step_with_reference_warm']:.3f} | "
              f"{r['reference_once']:.2f} | {r['chance_table_fill']:.1f} ({r['areas']}) |", flush=True)


if __name__ == "__main__":
    main()
