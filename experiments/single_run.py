"""One training set from Python: train, sample, score; then read the curves back.

    python experiments/single_run.py [key=value ...]     e.g. model.kind=empirical
"""

import json
import sys

from tsearch import configs
from tsearch.config import load_config
from tsearch.runs.run import run_single
from tsearch.store.records import read_jsonl

CONFIG = configs.path("dots_small")

if __name__ == "__main__":
    run_dir = run_single(load_config(CONFIG, overrides=sys.argv[1:]))
    for r in read_jsonl(run_dir / "metrics.jsonl"):
        print(f"step {r['step']:>6}: valid {r['valid']:.3f} copy {r['copy']:.3f} g {r['g']:.3f}")
    print(json.loads((run_dir / "summary.json").read_text())["tau_mem"], run_dir / "report.html")
