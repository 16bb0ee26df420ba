"""Analyse bisection sweeps of one config run in parts (e.g. seeds 0, 1 in one folder and seed 2
in another, for lack of time) as one sweep: their records together, the config of the first
folder (the folders may differ only in ``sweep.grid``'s run.seed). Writes analysis.json and the
n* figures (n*(d) with brackets and n*/S, log-log and semi-log) into OUT and prints the verdict
lines that ``tsearch sweep`` prints after one folder. A search a folder did not finish (a run
stopped for time) is left out, and named: its probes so far would read as a censored n*.

    python scripts/merge_sweeps.py OUT FOLDER [FOLDER ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tsearch.analysis.sweep import analyse, analysis_summary, group_by, verdict_lines
from tsearch.config import config_to_dict
from tsearch.config.grid import N_KEY, expand_grid, point_id
from tsearch.report.sweep_sections import load_evaluations, scaling_section
from tsearch.runs.supports import bisect_bases, n_max_of
from tsearch.runs.sweep import passed
from tsearch.search.bisect import NStarSearch
from tsearch.store.folder import RunFolder


def main(out: str, *folders: str) -> None:
    opened = [RunFolder.open(f, "sweep") for f in folders]
    config = opened[0].config
    base = {k: v for k, v in config_to_dict(config).items() if k != "sweep"}
    for other in opened[1:]:
        if {k: v for k, v in config_to_dict(other.config).items() if k != "sweep"} != base:
            sys.exit(f"merge_sweeps: {other.path} has another config than {opened[0].path} (beyond sweep)")
    records = [r for f in opened for r in finished(f)]
    out_dir = Path(out)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    a = analyse(records, config)
    groups = group_by(records, a.group_axes)
    summary = {"folders": [str(f.path) for f in opened], **analysis_summary(a, groups)}
    (out_dir / "analysis.json").write_text(json.dumps(summary, indent=1, default=str))
    scaling_section(out_dir, a, groups)  # draws figures/n_star_brackets.png, n_star_share.png
    print("\n".join(verdict_lines(summary)))


def finished(folder: RunFolder) -> list[dict]:
    """The records of the searches the folder finished (the bisection replayed to its end)."""
    bases = {b.task_id: b for b in bisect_bases(expand_grid(folder.config))}
    by_search: dict[str, list[dict]] = {}
    for r in load_evaluations(folder):
        by_search.setdefault(point_id({k: v for k, v in r["overrides"].items() if k != N_KEY}), []).append(r)
    out = []
    for key, records in by_search.items():
        search = NStarSearch(n_max_of(bases[key].config))
        for r in records:
            search.tell(r["n_train"], passed(r["checkpoints"], bases[key].config))
        if search.done:
            out += records
        else:
            print(f"merge_sweeps: {folder.path}: search {key!r} unfinished (probes "
                  f"{sorted(search.outcomes)}): left out", file=sys.stderr)
    return out


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
