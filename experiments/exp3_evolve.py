"""Experiment 3 from Python: the genetic search over training sets, then its results as a table.

    python experiments/exp3_evolve.py [key=value ...]     e.g. search.generations=3

Same as ``tsearch evolve [--set key=value ...]``; the table needs ``pip install "tsearch[results]"``.
"""

import sys

from tsearch import configs, results
from tsearch.config import load_config
from tsearch.runs.evolve import evolve

CONFIG = configs.path("evolve")

if __name__ == "__main__":
    config = load_config(CONFIG, overrides=sys.argv[1:])  # a Config: edit it in Python as well
    run_dir = evolve(config)
    table = results.load(run_dir)  # one row per evaluation x scored training step
    best = table.groupby(["phase", "train_set_hash", "n"])["g"].max().reset_index()
    # the best g reached at each training-set size, search against the random baseline
    print(best.groupby(["phase", "n"])["g"].max().unstack("phase").to_string())
    print(run_dir / "report.html")
