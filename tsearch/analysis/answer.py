"""The answer to "how small can a teaching set be", as a paper would print it.

At each size n of ``search.size_grid``, three values of the fitness metric, each with a 95%
interval:

    typical   the random baseline's sets of n images (drawn from the target, trained and never
              selected, so their values are unbiased): median and 90th percentile over sets,
              with distribution-free intervals from the order statistics (the number of sets
              below the q-quantile is Binomial(m, q): the interval [x_(l), x_(u)] with
              P(l <= B < u) >= 0.95, or the widest the m sets give, its coverage stated),
              and the mean with its Student-t interval
    control   the control's best set of at most n images (its in-search choice), on fresh seeds
    search    the search's best set of at most n images, on fresh seeds

and n*, the smallest size whose value reaches the threshold: for the search and the control
their fresh mean, for the typical set its median. Where no size reaches it, the largest value
reached says how far it is.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .compare import interval, ok_values, proposal

# beside the fitness, for the same sets: what their models draw (docs/metrics.md)
SIDE_METRICS = ("learned", "coverage", "precision", "recall", "near_copy", "g_far", "g_shift_above_chance")
NEAR_COPY_SHARE = 0.5  # a front set whose samples are more than half near copies is flagged


def side_metrics(metrics: dict | None) -> dict:
    """The SIDE_METRICS of a set's metrics (means over its trainings in the search)."""
    return {k: (metrics or {}).get(k) for k in SIDE_METRICS}


def quantile_interval(values: list[float], q: float, confidence: float = 0.95) -> dict | None:
    """The q-quantile of ``values`` and its order-statistic interval (see the docstring)."""
    x = np.sort(np.asarray(values, dtype=float))
    m = len(x)
    if m == 0:
        return None
    tail = (1 - confidence) / 2
    lo = int(stats.binom.ppf(tail, m, q))            # l: P(B < l) <= tail
    hi = int(stats.binom.ppf(1 - tail, m, q)) + 1    # u: P(B >= u) <= tail
    lo, hi = max(lo, 1), min(hi, m)
    coverage = float(stats.binom.cdf(hi - 1, m, q) - stats.binom.cdf(lo - 1, m, q))
    return {"value": float(np.quantile(x, q)), "ci": [float(x[lo - 1]), float(x[hi - 1])],
            "coverage": round(coverage, 3)}


def typical_row(values: list[float]) -> dict | None:
    """The typical random set at one size: median, 90th percentile and mean with intervals."""
    if not values:
        return None
    return {"sets": len(values), "median": quantile_interval(values, 0.5),
            "p90": quantile_interval(values, 0.9), "mean": float(np.mean(values)),
            "mean_ci": interval(values, 0.95), "max": float(np.max(values))}


def arm_best(front: list[dict], n: int) -> dict | None:
    """An arm's set for "at most n images" with its fresh mean and interval."""
    member = proposal(front, n)
    if member is None:
        return None
    values = ok_values(member.get("fresh"))
    return {"hash": member["hash"], "size": member["size"], "in_search": member["value"],
            "trainings_in_search": member.get("trainings"), "k": len(values),
            "metrics": side_metrics(member.get("metrics")),
            "mean": float(np.mean(values)) if values else None, "ci": interval(values, 0.95)}


def curves(size_grid, baseline_values: dict[int, list[float]], fronts: dict[str, list[dict]]) -> list[dict]:
    """One row per size of the grid: typical, control and search (see the docstring)."""
    return [{"size": n, "typical": typical_row(baseline_values.get(n, [])),
             **{arm: arm_best(fronts.get(arm, []), n) for arm in ("search", "control")}}
            for n in size_grid]


def n_star(rows: list[dict], threshold: float) -> dict:
    """Per arm: the smallest size reaching the threshold (None: none does) and the largest
    value reached over the sizes (how far the threshold is)."""
    def value(row, arm):
        if arm == "typical":
            return row["typical"] and row["typical"]["median"]["value"]
        return row[arm] and row[arm]["mean"]

    out = {}
    for arm in ("search", "control", "typical"):
        reached = [(r["size"], value(r, arm)) for r in rows if value(r, arm) is not None]
        out[arm] = {"n_star": min((n for n, v in reached if v >= threshold), default=None),
                    "largest": max((v for _, v in reached), default=None)}
    return out


def sentences(rows: list[dict], stars: dict, metric: str, threshold: float) -> list[str]:
    """The curves and n* in plain words."""
    def fmt(v, ci=None):
        if v is None:
            return "n/a"
        return f"{v:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    lines = [f"{metric} against the training-set size n (95% intervals; search and control: their "
             "best set of at most n images on fresh seeds; typical: the median random set of n images):"]
    for r in rows:
        t = r["typical"]
        search = r["search"] or {}
        lines.append(f"n = {r['size']}: search {fmt(search.get('mean'), search.get('ci'))}, "
                     f"control {fmt(r['control'] and r['control']['mean'], r['control'] and r['control']['ci'])}, "
                     f"typical {fmt(t and t['median']['value'], t and t['median']['ci'])}"
                     + (f" (90th percentile {fmt(t['p90']['value'], t['p90']['ci'])}, {t['sets']} sets)" if t else ""))
    lines.append(f"n* (smallest n reaching {threshold:g}): " + "; ".join(
        f"{arm} {'none reached' if s['n_star'] is None else s['n_star']}"
        + ("" if s["largest"] is None else f" (largest value {s['largest']:.3f})")
        for arm, s in stars.items()) + ".")
    return lines


def landscape(baseline_values: list[float], trainings: list[list[float]]) -> dict | None:
    """Is there something to find? The share of the fitness variance that lies between sets.

    The random baseline's values (one training each, unselected) have variance
    s_B^2 = sigma_between^2 + sigma_seed^2; every set trained more than once (survivors) gives the
    seed variance, pooled: sigma_seed^2 = sum_j sum_i (v_ji - mean_j)^2 / sum_j (m_j - 1) (the
    within-set mean square of a one-way random-effects ANOVA; selection picks which sets, not their
    seed noise). ICC = sigma_between^2 / s_B^2 (0 when negative): near 0, every set teaches alike
    and a search has nothing to find."""
    groups = [np.asarray(v, dtype=float) for v in trainings if len(v) >= 2]
    dof = sum(len(g) - 1 for g in groups)
    if len(baseline_values) < 3 or dof < 2:
        return None
    seed_var = float(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof)
    total = float(np.var(baseline_values, ddof=1))
    between = max(0.0, total - seed_var)
    return {"baseline_sets": len(baseline_values), "resampled_sets": len(groups), "seed_dof": dof,
            "seed_sd": seed_var ** 0.5, "between_sd": between ** 0.5, "baseline_sd": total ** 0.5,
            "icc": between / total if total > 0 else None}
