"""Search against control, judged on fresh seeds only: Welch's t test per size, Holm's correction.

A value found during a search is the maximum of many noisy evaluations (winner's curse), so no
comparison uses it. Each front member of both arms is trained again with k fresh seeds
(tsearch.runs.evolve.reevaluate); those k values are its sample.

Per size n of either front, each arm proposes the set it would report for "at most n images":
its front member of size <= n with the highest *in-search* value (the choice a user of that arm
makes), judged by its fresh values. Then

    interval     mean +- t_{k-1, (1+c)/2} sd / sqrt(k)                    (sd: ddof 1)
    Welch        t = (m_a - m_b) / sqrt(s_a^2/k_a + s_b^2/k_b), Welch-Satterthwaite df
                 (Welch 1947; scipy.stats.ttest_ind(equal_var=False)), two-sided p,
                 with the confidence interval of m_a - m_b
    Holm         the m testable sizes' p sorted, p_(i) -> max_{j<=i} min(1, (m - j + 1) p_(j))
                 (Holm 1979): the family-wise error rate over the sizes is at most alpha

An arm wins at n when the Holm-adjusted p < alpha, the one with the higher fresh mean; else
neither does. A size where an arm has no proposal or fewer than 2 fresh values is not tested.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .stats import t_quantile

ARMS = ("search", "control")


def ok_values(fresh: dict | None) -> list[float]:
    """The fresh values that did not fail."""
    return [] if not fresh else [float(v) for v in fresh["values"] if v is not None]


def interval(values: list[float], confidence: float) -> list[float] | None:
    """Student-t interval of the mean; None below two values."""
    if len(values) < 2:
        return None
    half = t_quantile(len(values) - 1, confidence) * np.std(values, ddof=1) / math.sqrt(len(values))
    mean = float(np.mean(values))
    return [mean - float(half), mean + float(half)]


def proposal(front: list[dict], n: int) -> dict | None:
    """The front member an arm reports for "at most n images": highest in-search value among
    sizes <= n, the smaller size on ties."""
    return max((p for p in front if p["size"] <= n), key=lambda p: (p["value"], -p["size"]), default=None)


def welch(a: list[float], b: list[float], confidence: float) -> dict | None:
    """Welch's t test of mean(a) = mean(b); None when it is undefined (a sample below two
    values, or both without spread)."""
    if len(a) < 2 or len(b) < 2 or (np.std(a) == 0 and np.std(b) == 0):
        return None
    result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(confidence)
    return {"t": float(result.statistic), "df": float(result.df), "p": float(result.pvalue),
            "difference": float(np.mean(a) - np.mean(b)), "difference_ci": [float(ci.low), float(ci.high)]}


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (None stays None, and is not counted in m)."""
    order = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted, running = [None] * len(pvalues), 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


def arm_row(member: dict | None, confidence: float) -> dict | None:
    """One arm's proposal at a size: its hash, size, in-search value (for reference) and fresh
    figures (k, mean, sd, interval)."""
    if member is None:
        return None
    values = ok_values(member.get("fresh"))
    return {"hash": member["hash"], "size": member["size"], "in_search": member["value"],
            "k": len(values), "mean": float(np.mean(values)) if values else None,
            "sd": float(np.std(values, ddof=1)) if len(values) >= 2 else None,
            "ci": interval(values, confidence), "values": values}


def compare_arms(fronts: dict[str, list[dict]], *, alpha: float, confidence: float = 0.95) -> list[dict]:
    """One row per size of either front: each arm's proposal, Welch's test, Holm's p, winner."""
    sizes = sorted({p["size"] for arm in ARMS for p in fronts.get(arm, [])})
    rows = []
    for n in sizes:
        arms = {arm: arm_row(proposal(fronts.get(arm, []), n), confidence) for arm in ARMS}
        test = (welch(arms["search"]["values"], arms["control"]["values"], confidence)
                if all(arms.values()) else None)
        rows.append({"size": n, **arms, "test": test})
    for row, p in zip(rows, holm([r["test"] and r["test"]["p"] for r in rows])):
        row["p_holm"] = p
        row["winner"] = winner(row, p, alpha)
    return rows


def winner(row: dict, p_holm: float | None, alpha: float) -> str:
    if p_holm is None:
        return "untested"
    if p_holm >= alpha:
        return "neither"
    return "search" if row["test"]["difference"] > 0 else "control"


def smallest_fresh(front: list[dict], threshold: float) -> int | None:
    """The smallest front size whose fresh mean reaches ``threshold`` (None: none does)."""
    return min((p["size"] for p in front if ok_values(p.get("fresh"))
                and np.mean(ok_values(p["fresh"])) >= threshold), default=None)


def headline(rows: list[dict], *, metric: str, k: int, alpha: float, budget: float | None,
             smallest: dict[str, int | None], threshold: float,
             control_budget: float | None = None) -> list[str]:
    """The answer in plain words, from fresh values only: which arm wins at which size (or
    that neither does), and each arm's smallest size reaching the threshold."""
    if k == 0:
        return ["No fresh-seed re-evaluation (search.reevaluate_seeds = 0): no comparison is "
                "made, as in-search values are maxima over noisy evaluations (biased upward)."]
    if budget is None:
        return [f"No control arm (search.control = \"none\", or a random search, its own control): "
                "whether the search beats a random search of the same budget is not tested. "
                f"Smallest size whose fresh {metric} reaches {threshold:g}: search "
                f"{_size(smallest.get('search'))}."]
    tested = sum(r["p_holm"] is not None for r in rows)
    if control_budget is not None and round(control_budget) != round(budget):
        lines = [f"BUDGETS DIFFER: the search trained {budget:g} models, the control "
                 f"{control_budget:g}: the arms are not compared on equal terms.",
                 f"Search against control (a random search, {control_budget:g} models), each arm's best "
                 f"set of at most n images trained again with {k} fresh seeds; Welch's t test, "
                 f"Holm-corrected over {tested} size(s), alpha = {alpha:g}:"]
    else:
        lines = [f"Search against control (a random search training the same {budget:g} models at the "
                 f"same sizes), each arm's best set of at most n images trained again with {k} fresh seeds; "
                 f"Welch's t test, Holm-corrected over {tested} size(s), alpha = {alpha:g}:"]
    by_verdict = {v: [r for r in rows if r["winner"] == v] for v in ("search", "control", "neither", "untested")}
    if not tested:
        lines.append("NO SIZE COULD BE TESTED: at every size an arm has no set, fewer than 2 fresh "
                     "values, or both arms' fresh values are constant.")
    elif not by_verdict["search"] and not by_verdict["control"]:
        lines.append(f"NEITHER ARM WINS at any size tested; {_differences(by_verdict['neither'])}.")
    for arm in ARMS:
        if by_verdict[arm]:
            lines.append(f"THE {arm.upper()} WINS at " + "; ".join(
                f"n <= {r['size']} ({_arm(r['search'])} vs {_arm(r['control'])}, "
                f"p_Holm = {r['p_holm']:.3g})" for r in by_verdict[arm]) + ".")
    if by_verdict["neither"] and (by_verdict["search"] or by_verdict["control"]):
        lines.append(f"Neither arm wins elsewhere; {_differences(by_verdict['neither'])}.")
    if by_verdict["untested"] and tested:
        lines.append(f"Not tested at n <= {_sizes(by_verdict['untested'])} (an arm has no set of "
                     "that size, fewer than 2 fresh values, or no spread in either arm).")
    lines.append(f"Smallest size whose fresh {metric} (mean) reaches {threshold:g}: search "
                 f"{_size(smallest.get('search'))}, control {_size(smallest.get('control'))}.")
    lines.append("Scope: the test is over training seeds of the two sets each arm reports; one run "
                 "of each arm is compared (other run.seed values replicate the searches themselves).")
    return lines


def _arm(row: dict) -> str:
    return f"{row['mean']:.3f} ± {row['sd']:.3f}"


def _differences(rows: list[dict]) -> str:
    """The differences not detected, with their intervals (how large a gap the seeds rule out)."""
    return "search - control (95% CI): " + "; ".join(
        f"n <= {r['size']}: {r['test']['difference']:.3f} [{r['test']['difference_ci'][0]:.3f}, "
        f"{r['test']['difference_ci'][1]:.3f}]" for r in rows)


def _sizes(rows: list[dict]) -> str:
    return ", ".join(str(r["size"]) for r in rows)


def _size(n: int | None) -> str:
    return "none reached" if n is None else f"n = {n}"


def compare_genomes(runs: dict[str, dict], *, confidence: float = 0.95) -> list[dict]:
    """Genome kinds against each other (``search.genome``): ``runs`` maps a kind to its run's
    pareto.json, runs of one regime and budget. Per size n of any front, each kind's search
    proposal and its own control's (the arm's rule above), judged on fresh seeds: interval,
    share of valid images of the proposed set (``features.valid``), and Welch's test of each
    pair of searches and of each search against its control. Untested (no Holm): a few sizes,
    read as a description."""
    kinds = list(runs)
    fronts = {kind: {"search": doc.get("front") or [], "control": doc.get("control_front") or []}
              for kind, doc in runs.items()}
    sizes = sorted({p["size"] for f in fronts.values() for arm in ARMS for p in f[arm]})
    rows = []
    for n in sizes:
        row = {"n": n}
        for kind, doc in runs.items():
            for arm in ARMS:
                member = proposal(fronts[kind][arm], n)
                entry = arm_row(member, confidence)
                if entry is not None:
                    entry["valid"] = (member.get("features") or {}).get("valid")
                row[f"{kind}/{arm}"] = entry
            row[f"{kind}: search - control"] = _welch_of(fronts[kind]["search"], fronts[kind]["control"],
                                                         n, confidence)
        for i, a in enumerate(kinds):
            for b in kinds[i + 1:]:
                row[f"{a} - {b}"] = _welch_of(fronts[a]["search"], fronts[b]["search"], n, confidence)
        rows.append(row)
    return rows


def _welch_of(front_a: list[dict], front_b: list[dict], n: int, confidence: float) -> dict | None:
    """Welch's test of two fronts' proposals at n, on their fresh values."""
    a, b = proposal(front_a, n), proposal(front_b, n)
    if a is None or b is None:
        return None
    return welch(ok_values(a.get("fresh")), ok_values(b.get("fresh")), confidence)
