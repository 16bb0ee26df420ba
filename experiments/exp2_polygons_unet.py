"""Experiment 2 from Python: the UNet on random polygons; tau_gen and tau_mem against n.

    python experiments/exp2_polygons_unet.py [--smoke] [key=value ...]
"""

import json
import sys

from tsearch import configs
from tsearch.config import load_config
from tsearch.runs.sweep import run_sweep

CONFIG = configs.path("exp2")

if __name__ == "__main__":
    config = load_config(CONFIG, overrides=[a for a in sys.argv[1:] if a != "--smoke"])
    run_dir = run_sweep(config, source=str(CONFIG), smoke="--smoke" in sys.argv)
    analysis = json.loads((run_dir / "analysis.json").read_text())
    for group, rows in analysis["timescales"].items():
        for row in rows:
            print(f"{group} n={row['n']}: tau_gen={row['tau_gen']} tau_mem={row['tau_mem']}")
        print("tau_mem fit:", analysis["tau_mem_fit"][group])
    print(run_dir / "report.html")
