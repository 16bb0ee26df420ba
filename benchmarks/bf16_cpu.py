"""bf16 autocast on this CPU, per model kind: seconds of training and of sampling, fp32 vs bf16.

    python benchmarks/bf16_cpu.py [--tasks 2] [--steps 200] [--kinds unet cnn mlp transformer polygon]

Each model kind is trained on the packaged ``exp2`` target (polygons 10x10, n = 2) with its
packaged size (UNet (32, 64) as exp2/evolve, CNN 16 x 4 as evolve_cnn16, the defaults of the
others), ``--steps`` Adam steps at batch 32, then sampled once (96 samples x 50 reverse steps),
one task at a time, one torch thread, same sets and seeds for both paths, each path from cold
process caches. Prints one JSON line per (kind, precision) and one per kind with the ratios
(bf16 / fp32 seconds; < 1 is a win) and the mean |difference| of the fitness values.

The speed decides nothing alone: a kind where bf16 wins is then checked for fitness agreement on
full evaluations (benchmarks/cost_per_evaluation.py with a path that sets engine.bf16=on).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from tsearch import configs
from tsearch.config import CNNConfig, MLPConfig, PolygonModelConfig, TransformerConfig, UNetConfig, load_config
from tsearch.engine import EvalTask, evaluate
from tsearch.engine.score import clear_process_caches

MODELS = {
    "unet": UNetConfig(channels=(32, 64), groups=8),
    "cnn": CNNConfig(channels=16, depth=4),
    "mlp": MLPConfig(),
    "transformer": TransformerConfig(),
    "polygon": PolygonModelConfig(),
}


def measure(config, tasks: int) -> dict:
    clear_process_caches()
    jobs = [EvalTask.from_config(config, task_id=f"t{i}", seed=i, n_train=2) for i in range(tasks)]
    t0 = time.perf_counter()
    results = [evaluate([job], config.engine)[0] for job in jobs]
    wall = time.perf_counter() - t0
    timing = {key: sum(r.timings.get(key, 0.0) for r in results) / tasks
              for key in ("train_s", "sample_s", "metrics_s")}
    values = [r.best("g").metrics["g"] if r.ok and r.best("g") else float("nan") for r in results]
    return {"s_per_task": wall / tasks, **timing, "g": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--kinds", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"avx512_bf16": torch.cpu._is_avx512_bf16_supported(),
                      "amx_tile": torch.cpu._is_amx_tile_supported(),
                      "capability": torch.backends.cpu.get_cpu_capability()}))
    for kind in args.kinds:
        rows = {}
        for bf16 in ("off", "on"):
            config = load_config(configs.resolve("exp2"), [
                "run.n=2", f"train.steps={args.steps}", "train.n_checkpoints=1",
                "metrics.n_bootstrap=0", "engine.threads=1", "engine.metric_threads=1",
                f"engine.bf16={bf16}"])
            config = dataclasses.replace(config, model=MODELS[kind])
            rows[bf16] = {"kind": kind, "bf16": bf16, **measure(config, args.tasks)}
            print(json.dumps(rows[bf16]), flush=True)
        off, on = rows["off"], rows["on"]
        print(json.dumps({
            "kind": kind,
            "ratio_total": round(on["s_per_task"] / off["s_per_task"], 3),
            "ratio_train": round(on["train_s"] / off["train_s"], 3),
            "ratio_sample": round(on["sample_s"] / off["sample_s"], 3),
            "mean_abs_g_difference": round(float(np.nanmean(np.abs(
                np.array(on["g"]) - np.array(off["g"])))), 4)}), flush=True)


if __name__ == "__main__":
    main()
