"""Genome kinds compared: the search of each run (one run per ``search.genome``, same regime and
budget) against each other and against its own random-sample control, on fresh seeds, per size.

    python scripts/compare_genomes.py RUN_DIR [RUN_DIR ...]      (a Markdown table on stdout)

Each cell: fresh mean [95% interval] (k seeds) and the share of the proposed set's images that
are valid polygons; the last columns: Welch's difference [interval], p (tsearch.analysis.compare).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tsearch.analysis.compare import compare_genomes


def cell(entry: dict | None) -> str:
    if entry is None or entry["mean"] is None:
        return "-"
    ci = entry.get("ci")
    valid = "" if entry.get("valid") is None else f", valid {entry['valid']:.2f}"
    span = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
    return f"{entry['mean']:.3f}{span} (k={entry['k']}{valid})"


def test(result: dict | None) -> str:
    if result is None:
        return "-"
    lo, hi = result["difference_ci"]
    return f"{result['difference']:+.3f} [{lo:+.2f}, {hi:+.2f}], p={result['p']:.2g}"


def main(paths: list[str]) -> None:
    runs = {}
    for path in paths:
        doc = json.loads((Path(path) / "pareto.json").read_text())
        runs[doc.get("genome", "polygons")] = doc
    rows = compare_genomes(runs)
    keys = [k for k in rows[0] if k != "n"] if rows else []
    print("| n | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for row in rows:
        print(f"| {row['n']} | " + " | ".join(cell(row[k]) if "/" in k else test(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
