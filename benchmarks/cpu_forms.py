"""Which form trains faster on this CPU, per model kind: the table behind engine/device.py's
CPU_VMAP_MAX_SIDE. Prints one JSON line per (kind, side): loop and vmap model-steps/s (median of
interleaved repeats) and their ratio.

    python benchmarks/cpu_forms.py [--threads 1] [--models 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch

from tsearch.config import (
    CNNConfig,
    DiffusionConfig,
    MLPConfig,
    PolygonModelConfig,
    TrainConfig,
    TransformerConfig,
    UNetConfig,
)
from tsearch.engine.calibrate import steps_per_s
from tsearch.seeding import numpy_rng

KINDS = {"mlp": MLPConfig(), "cnn": CNNConfig(), "unet": UNetConfig(),
         "transformer": TransformerConfig(), "polygon": PolygonModelConfig()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--sides", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for kind in args.kinds:
        for side in args.sides:
            rng = numpy_rng(0, "cpu_forms")
            sets = [rng.choice([-1.0, 1.0], size=(16, side, side)).astype("float32")
                    for _ in range(args.models)]
            common = dict(model=KINDS[kind], side=side, train=TrainConfig(batch_size=args.batch),
                          diffusion=DiffusionConfig(), train_sets=sets,
                          device=torch.device("cpu"), warmup=2, steps=4)
            rates = {"loop": [], "vmap": []}
            for _ in range(args.repeats):  # interleaved: load changes hit both forms alike
                for form in rates:
                    rates[form].append(steps_per_s(form=form, **common))
            loop, vmap = (statistics.median(rates[f]) for f in ("loop", "vmap"))
            print(json.dumps({"kind": kind, "side": side, "models": args.models, "batch": args.batch,
                              "threads": torch.get_num_threads(), "loop": round(loop, 1),
                              "vmap": round(vmap, 1), "ratio": round(vmap / loop, 2)}), flush=True)


if __name__ == "__main__":
    main()
