"""Multi-fidelity against full-fidelity NSGA-II on the same machine: hypervolume of the
fresh-seed front per CPU-hour, over several search seeds. One JSON line per run, then one
summary line.

    python benchmarks/multifidelity.py [--config evolve] [--seeds 0,1,2]
        [--rungs 0.25,0.5] [--promote 0.5] [--set KEY=VALUE ...] [--out DIR]

Each seed runs ``tsearch evolve`` twice, as a user would (a subprocess each, every core):
full fidelity (search.rungs = []) for the config's generations, and multi-fidelity for as
many more generations as the cheaper offspring pay for -- generations x 1 / c, where
c = sum_k p^k f_k is the training budget of a multi-fidelity offspring relative to a full one
(rungs f_0 < ... < f_K = 1, promotion p) -- so that both spend about the same wall time; the
wall and CPU times are measured, not assumed.

Hypervolume (maximize g, minimize the training-set size) of the Pareto front as the search's
fresh-seed re-evaluation gives it (pareto.json: each front member's fresh mean), from the
reference point (size n_max + 1, g = 0): the area dominated by the front's staircase. CPU time
is the driver's and its workers' (getrusage of the finished subprocess and its descendants).

Check that it runs, at a tiny size:
    python benchmarks/multifidelity.py --seeds 0 --set train.steps=40 --set search.generations=2 \\
        --set sampler.n_samples=16 --set search.population=4
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tsearch import configs
from tsearch.config import load_config
from tsearch.search.fidelity import fractions


def hypervolume(points: list[tuple[int, float]], n_max: int) -> float:
    """Area dominated by ``(size, g)`` points (minimize size, maximize g) within the box from
    (size n_max + 1, g 0): for each size, the best g among sets no larger, times the width."""
    best_g, area = 0.0, 0.0
    sizes = sorted({s for s, _ in points}) + [n_max + 1]
    for size, next_size in zip(sizes, sizes[1:]):
        best_g = max([best_g] + [g for s, g in points if s == size])
        area += best_g * (next_size - size)
    return area


def offspring_cost(rungs: tuple[float, ...], promote: float) -> float:
    """Training budget of a multi-fidelity offspring relative to a full one: sum_k p^k f_k."""
    return sum(promote ** k * f for k, f in enumerate(fractions(rungs)))


def run_evolve(config: str, overrides: list[str], out: Path) -> dict:
    """``tsearch evolve`` in a subprocess; wall and CPU seconds (itself and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    args = [sys.executable, "-c", "from tsearch.cli import main; main()", "evolve", config,
            "--quiet", "--out", str(out)] + [a for o in overrides for a in ("--set", o)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def front_points(run_dir: Path) -> list[tuple[int, float]]:
    front = json.loads((run_dir / "pareto.json").read_text())["front"]
    return [(p["size"], p["fresh"]["mean"]) for p in front if p["fresh"]["mean"] is not None]


def evaluations(run_dir: Path) -> dict[str, int]:
    """Evaluations per fidelity (fraction of train.steps), the re-evaluation apart."""
    counts: dict[str, int] = {}
    for line in (run_dir / "evaluations.jsonl").read_text().splitlines():
        record = json.loads(line)
        key = "reevaluate" if record.get("phase") == "reevaluate" else f"{record.get('fidelity', 1.0):g}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="evolve", help="a TOML file or a packaged config's name")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rungs", default="0.25,0.5")
    parser.add_argument("--promote", type=float, default=0.5)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out", default=None, help="keep the run folders here")
    args = parser.parse_args()
    args.config = str(configs.resolve(args.config))
    config = load_config(args.config, args.overrides)
    rungs = tuple(float(f) for f in args.rungs.split(","))
    generations = config.search.generations
    mf_generations = max(generations, round(generations / offspring_cost(rungs, args.promote)))
    modes = {"full": ["search.rungs=[]"],
             "multifidelity": [f"search.rungs=[{args.rungs}]", f"search.promote={args.promote}",
                               f"search.generations={mf_generations}"]}
    out = Path(args.out or tempfile.mkdtemp(prefix="multifidelity-"))
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    for seed in (int(s) for s in args.seeds.split(",")):
        for mode, extra in modes.items():
            run_dir = out / f"{mode}-seed{seed}"
            times = run_evolve(args.config, [*args.overrides, f"run.seed={seed}", *extra], run_dir)
            hv = hypervolume(front_points(run_dir), config.search.n_max)
            rate = hv / (times["cpu_s"] / 3600) if times["cpu_s"] > 0 else math.nan
            rates[mode].append(rate)
            print(json.dumps({"seed": seed, "mode": mode, "run_dir": str(run_dir), **times,
                              "evaluations": evaluations(run_dir), "hypervolume": round(hv, 4),
                              "hv_per_cpu_hour": round(rate, 4)}), flush=True)
    mean = {mode: float(np.mean(r)) for mode, r in rates.items()}
    print(json.dumps({"summary": True, "seeds": args.seeds, "rungs": rungs, "promote": args.promote,
                      "generations": {"full": generations, "multifidelity": mf_generations},
                      "mean_hv_per_cpu_hour": mean,
                      "ratio": mean["multifidelity"] / mean["full"] if mean["full"] else None}))


if __name__ == "__main__":
    main()
