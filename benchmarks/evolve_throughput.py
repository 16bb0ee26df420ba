"""Throughput of a search's evaluations on this machine: serial against parallel local workers,
without and with stopping at memorization (tsearch.executors.bench). One JSON line per path.

    python benchmarks/evolve_throughput.py [--config evolve] [--tasks 24] [--workers 0]
                                           [--set train.steps=100 ...]

Run it on an idle machine: the paths run one after another and share the cores with nothing else.
A quick check that it works: --tasks 4 --set train.steps=60 --set sampler.n_samples=32.
"""

from __future__ import annotations

import argparse
import json

from tsearch import configs
from tsearch.config import load_config
from tsearch.executors.bench import PATHS, run_evolve_bench


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="evolve", help="a TOML file or a packaged config's name")
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--workers", type=int, default=0, help="parallel paths (0: every core)")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    args.config = str(configs.resolve(args.config))
    config = load_config(args.config, args.overrides)
    for record in run_evolve_bench(config, n_tasks=args.tasks, workers=args.workers,
                                   paths=args.paths.split(",")):
        print(json.dumps({"workload": "evolve", "config": args.config, **record}), flush=True)


if __name__ == "__main__":
    main()
