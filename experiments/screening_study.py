"""Issue 28, item 5: what screening adds, measured. Two replicated studies of one config, the
plain search (``search.screen_factor = 1``) and the screened one (e.g. 8), with the same
``run.seed`` values; each study is pooled by ``tsearch study`` (search - control over runs).
This script pairs the two studies by seed, at each size n of the size grid:

    p_r, q_r   run r's plain and screened search: fresh mean of its best set of at most n images
    e_r        q_r - p_r  (paired: a seed gives both studies the same random baseline and the
               same fresh-seed derivation; only the search's choices differ)
    test       one-sample t over the seeds (R - 1 df), Holm over the sizes (tsearch.analysis.study)

and, per study, search - control (the same test ``tsearch study`` reports), the typical random
set's median, the trainings per arm and the candidates screened. Prints a markdown table and
writes OUT.json.

    python experiments/screening_study.py --plain results/plain/seed-* \
        --screened results/screen8/seed-* --out results/screening_study
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tsearch.analysis.answer import typical_row
from tsearch.analysis.compare import holm
from tsearch.analysis.study import baseline_values, paired_test, replicate_values


def load(run_dirs: list[str]) -> dict[int, dict]:
    """run.seed -> pareto.json of each finished evolve folder."""
    out = {}
    for d in map(Path, run_dirs):
        seed = json.loads((d / "config.json").read_text())["run"]["seed"]
        out[seed] = json.loads((d / "pareto.json").read_text())
    return out


def arm_test(summaries: list[dict], n: int, a: tuple[str, str], b: tuple[str, str]) -> dict | None:
    """Paired test of a - b over runs; each of a, b is (index into the pair, arm)."""
    d = []
    for pair in summaries:
        x, y = replicate_values(pair[a[0]], n, a[1]), replicate_values(pair[b[0]], n, b[1])
        if x is not None and y is not None:
            d.append(x - y)
    return paired_test(d)


def analyse(plain: dict[int, dict], screened: dict[int, dict]) -> dict:
    seeds = sorted(set(plain) & set(screened))
    pairs = [(plain[s], screened[s]) for s in seeds]
    sizes = sorted({r["size"] for p, _ in pairs for r in p["answer"]["curves"]})
    rows = []
    for n in sizes:
        base_p = [v for p, _ in pairs for v in baseline_values(p, n)]
        base_q = [v for _, q in pairs for v in baseline_values(q, n)]
        rows.append({
            "size": n,
            "same_baseline": base_p == base_q,
            "typical": typical_row(base_p),
            "plain: search - control": arm_test(pairs, n, (0, "search"), (0, "control")),
            "screened: search - control": arm_test(pairs, n, (1, "search"), (1, "control")),
            "screened - plain search": arm_test(pairs, n, (1, "search"), (0, "search")),
            "search": {"plain": [replicate_values(p, n, "search") for p, _ in pairs],
                       "screened": [replicate_values(q, n, "search") for _, q in pairs]},
        })
    for key in ("plain: search - control", "screened: search - control", "screened - plain search"):
        for row, p in zip(rows, holm([r[key] and r[key]["p"] for r in rows])):
            if row[key]:
                row[key]["p_holm"] = p
    screening = [q.get("screening") or {} for _, q in pairs]
    return {"seeds": seeds, "rows": rows,
            "trainings": {name: {arm: [(x.get("budget") or {}).get(arm) for x in arm_of]
                                 for arm in ("search", "control")}
                          for name, arm_of in (("plain", [p for p, _ in pairs]), ("screened", [q for _, q in pairs]))},
            "screened_candidates": [s.get("candidates") for s in screening],
            "surrogate_spearman": [s.get("rank_correlation") for s in screening],
            "surrogate_pairs": [s.get("predicted_and_measured") for s in screening]}


def fmt(test: dict | None) -> str:
    if not test:
        return "-"
    lo, hi = test["difference_ci"]
    return f"{test['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}] (sd {test['sd']:.3f}, p_Holm {test['p_holm']:.2f})"


def table(result: dict) -> str:
    lines = [f"seeds {result['seeds']}",
             "| n <= | typical median | plain: search - control | screened: search - control "
             "| screened - plain search |",
             "|---|---|---|---|---|"]
    for r in result["rows"]:
        typical = f"{r['typical']['median']['value']:.3f}" if r["typical"] else "-"
        lines.append(f"| {r['size']} | {typical} | {fmt(r['plain: search - control'])} | "
                     f"{fmt(r['screened: search - control'])} | {fmt(r['screened - plain search'])} |")
    lines.append(f"trainings per run: {json.dumps(result['trainings'])}")
    lines.append(f"screened candidates per run: {result['screened_candidates']}")
    lines.append(f"surrogate out-of-sample Spearman per run: {result['surrogate_spearman']}")
    lines.append(f"same random baseline in both studies at every size: "
                 f"{all(r['same_baseline'] for r in result['rows'])}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plain", nargs="+", required=True, help="finished evolve folders, screen_factor = 1")
    parser.add_argument("--screened", nargs="+", required=True, help="the same seeds, screened")
    parser.add_argument("--out", required=True, help="writes OUT.json")
    args = parser.parse_args()
    result = analyse(load(args.plain), load(args.screened))
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1, default=float))
    print(table(result))


if __name__ == "__main__":
    main()
