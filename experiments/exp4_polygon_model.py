"""Experiment 4 from Python: the polygon-crafted model against the UNet and the local and
empirical oracles, on the same training sets (same seeds).

    python experiments/exp4_polygon_model.py [--smoke] [key=value ...]
"""

import json
import sys

from tsearch import configs
from tsearch.config import load_config
from tsearch.runs.sweep import run_sweep

CONFIG = configs.path("exp4")

if __name__ == "__main__":
    config = load_config(CONFIG, overrides=[a for a in sys.argv[1:] if a != "--smoke"])
    run_dir = run_sweep(config, source=str(CONFIG), smoke="--smoke" in sys.argv)
    analysis = json.loads((run_dir / "analysis.json").read_text())
    for row in analysis["comparison"]:
        at_best = "  ".join(f"{m}={row[m + '_best']:.3f}" for m in ("valid", "copy", "novel", "g"))
        print(f"n={row['n']:>4} {row['group']:<40} at best checkpoint: {at_best}")
    print(run_dir / "report.html")
