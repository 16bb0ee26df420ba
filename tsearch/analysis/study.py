"""Replicated searches pooled: does the search beat an equal-budget random search, over
independent runs (``run.seed``) of the whole experiment?

One search run compares two *sets* on fresh training seeds (tsearch.analysis.compare); whether the
*search* beats the control is a question over runs of both arms. Given R finished runs of one
config that differ only in ``run.seed`` (each its own baseline, search, control and fresh
seeds), at each size n of the size grid:

    s_r, c_r   run r's search and control best set of at most n images: its fresh mean
    d_r        s_r - c_r  (paired: both arms of a run share the run's seed and budget)
    test       one-sample t test of mean d = 0 over the R runs (R - 1 df), the interval
               mean d +- t_{R-1} sd(d) / sqrt(R); Holm over the sizes (Holm 1979)
    typical    every run's random baseline sets of n images pooled (tsearch.analysis.answer)

so the unit of replication is a whole search, and the interval says how much the answer varies
from one search to another, not only from one training seed to another.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .answer import typical_row
from .compare import holm, interval
from .stats import t_quantile


def replicate_values(summary: dict, n: int, arm: str) -> float | None:
    """Run ``summary``'s (pareto.json) fresh mean for ``arm``'s best set of at most n images."""
    for row in (summary.get("answer") or {}).get("curves", []):
        if row["size"] == n:
            return row[arm] and row[arm]["mean"]
    return None


def baseline_values(summary: dict, n: int) -> list[float]:
    base = (summary.get("baseline") or {}).get(str(n))
    return list(base["values"]) if base else []


def paired_test(d: list[float], confidence: float = 0.95) -> dict | None:
    """Mean, interval and two-sided p of the paired differences; None below 2 runs or with no
    spread."""
    if len(d) < 2 or np.std(d) == 0:
        return None
    t = stats.ttest_1samp(d, 0.0)
    ci, sd = interval(d, confidence), float(np.std(d, ddof=1))
    return {"difference": float(np.mean(d)), "difference_ci": ci,
            "t": float(t.statistic), "df": len(d) - 1, "p": float(t.pvalue),
            "sd": sd, "half_width": (ci[1] - ci[0]) / 2,
            "replicates_for": {str(h): replicates_for(sd, h, confidence) for h in PLANNED_HALF_WIDTHS}}


PLANNED_HALF_WIDTHS = (0.10, 0.05)  # the interval half-widths a study is planned for


def replicates_for(sd: float, half_width: float, confidence: float = 0.95, most: int = 10_000) -> int | None:
    """The smallest R with t_{(1+c)/2, R-1} sd / sqrt(R) <= half_width: the replicates a study
    needs for that interval if the run-to-run sd of the paired differences is ``sd`` (its
    estimate from a pilot is itself uncertain: plan with its upper range); None beyond ``most``."""
    return next((r for r in range(2, most + 1)
                 if t_quantile(r - 1, confidence) * sd / np.sqrt(r) <= half_width), None)


def pool(summaries: list[dict], size_grid, *, threshold: float, alpha: float) -> dict:
    """The study (see the module docstring) from each run's pareto.json."""
    rows = []
    for n in size_grid:
        s = [replicate_values(x, n, "search") for x in summaries]
        c = [replicate_values(x, n, "control") for x in summaries]
        pairs = [(a, b) for a, b in zip(s, c) if a is not None and b is not None]
        arms = {arm: _arm([v for v in vals if v is not None]) for arm, vals in (("search", s), ("control", c))}
        rows.append({"size": n, **arms, "per_run": {"search": s, "control": c},
                     "typical": typical_row([v for x in summaries for v in baseline_values(x, n)]),
                     "test": paired_test([a - b for a, b in pairs])})
    for row, p in zip(rows, holm([r["test"] and r["test"]["p"] for r in rows])):
        row["p_holm"] = p
        row["winner"] = ("untested" if p is None else "neither" if p >= alpha
                         else "search" if row["test"]["difference"] > 0 else "control")
    return {"runs": len(summaries), "threshold": threshold, "alpha": alpha, "rows": rows,
            "n_star": _n_star(rows, threshold), "budget": budget(summaries)}


def budget(summaries: list[dict]) -> dict:
    """Per run: the trainings of each arm (pareto.json ``budget``) and, for a screened search,
    the candidates it screened (``screening``; 0 without screening)."""
    return {"trainings": {arm: [(x.get("budget") or {}).get(arm) for x in summaries] for arm in ("search", "control")},
            "screened": [(x.get("screening") or {}).get("candidates", 0) for x in summaries]}


def _arm(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"runs": len(values), "mean": float(np.mean(values)), "ci": interval(values, 0.95),
            "max": float(np.max(values))}


def _n_star(rows: list[dict], threshold: float) -> dict:
    def value(row, arm):
        if arm == "typical":
            return row["typical"] and row["typical"]["median"]["value"]
        return row[arm] and row[arm]["mean"]
    return {arm: min((r["size"] for r in rows if (v := value(r, arm)) is not None and v >= threshold),
                     default=None) for arm in ("search", "control", "typical")}


def sentences(study: dict, metric: str) -> list[str]:
    """The study in plain words."""
    def ci(c):
        return "" if not c else f" [{c[0]:.3f}, {c[1]:.3f}]"

    lines = [f"{study['runs']} independent searches (run seeds), each with its own random baseline, "
             f"control arm and fresh seeds; per size, each arm's best set of at most n images, "
             f"fresh {metric} averaged over runs (95% t interval over runs); search - control "
             f"paired by run, one-sample t test, Holm over sizes, alpha = {study['alpha']:g}:"]
    for r in study["rows"]:
        t = r["test"]
        arms = ", ".join(f"{arm} {r[arm]['mean']:.3f}{ci(r[arm]['ci'])}" if r[arm] else f"{arm} -"
                         for arm in ("search", "control"))
        typical = (f", typical (median of {r['typical']['sets']} random sets) "
                   f"{r['typical']['median']['value']:.3f}" if r["typical"] else "")
        test = ("not tested (fewer than 2 runs with both arms, or no spread)" if t is None else
                f"difference {t['difference']:+.3f}{ci(t['difference_ci'])} (half-width {t['half_width']:.3f}; "
                f"run-to-run sd {t['sd']:.3f}: ±0.10 needs {t['replicates_for']['0.1'] or 'over 10,000'} "
                f"replicates), p = {t['p']:.3g}, "
                f"Holm p = {r['p_holm']:.3g}: "
                + ("NEITHER wins" if r["winner"] == "neither" else r["winner"].upper() + " WINS"))
        lines.append(f"n <= {r['size']}: {arms}{typical}; {test}.")
    if "budget" in study:
        trainings, screened = study["budget"]["trainings"], study["budget"]["screened"]
        lines.append("Trainings per run: search " + ", ".join(map(str, trainings["search"])) + "; control "
                     + ", ".join(map(str, trainings["control"])) + "; candidates screened by the search: "
                     + (", ".join(map(str, screened)) if any(screened) else "none (no screening)") + ".")
    stars = study["n_star"]
    lines.append(f"n* (smallest n whose run-mean reaches {study['threshold']:g}): " + "; ".join(
        f"{arm} {'none reached' if v is None else v}" for arm, v in stars.items()) + ".")
    lines.append("Scope: replicated are whole searches (run.seed); a difference is judged against "
                 "its variation from one search to another." + (
                     " With fewer than 3 runs the interval is very wide." if study["runs"] < 3 else ""))
    return lines

