"""Experiment 1 from Python: n*(d) for polynomial vs exponential supports.

    python experiments/exp1_support_size.py [--smoke]

Same as ``tsearch sweep exp1``; shows the library calls a notebook would make.
"""

import json
import sys

from tsearch import configs
from tsearch.config import load_config
from tsearch.runs.sweep import run_sweep

CONFIG = configs.path("exp1")

if __name__ == "__main__":
    config = load_config(CONFIG, overrides=[a for a in sys.argv[1:] if a != "--smoke"])
    run_dir = run_sweep(config, source=str(CONFIG), smoke="--smoke" in sys.argv)
    analysis = json.loads((run_dir / "analysis.json").read_text())
    for group, rows in analysis["n_star"].items():
        print(group, {row["d"]: row["n_star"] for row in rows})
        for fit in analysis["scaling_fits"][group] or []:
            print(f"  {fit['formula']}: {fit['params']} AIC {fit['aic']:.2f} weight {fit['akaike_weight']:.2f}")
    print(run_dir / "report.html")
