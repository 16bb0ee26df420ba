"""Analysis of sweeps: n*(d), scaling fits and timescales against n (the report's numbers;
its sections are in tsearch.report.sweep_sections; the sweep driver writes analysis.json
with :func:`analysis_summary`).

Symbols (experiment 1 of docs/research.md):
    peak_m(T)  = max over checkpoints of metric m for the model trained on T
    n*(d)      = smallest n at which the seed mean of peak_m reaches the threshold
                 (per seed: smallest n at which that seed's peak_m reaches it); with
                 m = coverage_unseen (single dot, support d) only n < d counts
    power law    n* = a d^b      fitted as  log n* = log a + b log d
    exponential  n* = a e^{c d}  fitted as  log n* = log a + c d
Both by ordinary least squares on log n* over the (d, per-seed n*) pairs; 95% intervals from
the OLS covariance with Student-t quantiles; AIC = m ln(RSS/m) + 2k with k = 3 (two
coefficients and the residual variance), Akaike weights w_i ∝ exp(-ΔAIC_i / 2)
(Burnham & Anderson 2002). Beside them, the censored maximum-likelihood fits of
tsearch.analysis.censored on every seed's bracket (lo, hi] of n* (exact for a bisection,
an interval for a grid, a lower bound where n* was not reached): these decide.
Timescales: tau_mem = a + b n by the same OLS (Bonnaire et al. 2025 report tau_mem ∝ n).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config.grid import label, varied_keys
from ..tasks import fitness_record
from .censored import CensoredFit, Point, Verdict, compare, fit_censored, unfit_reason
from .stats import akaike_weights, t_quantile
from .timescales import DEFINITIONS, epochs, tau_gen, tau_mem

SEED, N, SIDE = "run.seed", "run.n", "target.side"
CURVE_METRICS = ("valid", "copy", "copy_shift", "g", "g_shift")


# ----------------------------------------------------------------------------- fits
@dataclass
class Fit:
    name: str
    formula: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    rss: float
    aic: float
    m: int  # data points
    r2: float = float("nan")
    weight: float = float("nan")  # Akaike weight among the compared fits

    def predict(self, x):
        x = np.asarray(x, dtype=float)
        p = self.params
        if self.name == "power law":
            return p["a"] * x ** p["b"]
        if self.name == "exponential":
            return p["a"] * np.exp(p["c"] * x)
        return p["a"] + p["b"] * x


def ols(x, y) -> tuple[np.ndarray, np.ndarray, float]:
    """y = beta_0 + beta_1 x: coefficients (2,), their covariance (2, 2), residual sum of squares."""
    X = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])  # (m, 2)
    beta, *_ = np.linalg.lstsq(X, np.asarray(y, dtype=float), rcond=None)
    rss = float(np.sum((y - X @ beta) ** 2))
    dof = len(x) - 2
    cov = (rss / dof) * np.linalg.inv(X.T @ X) if dof > 0 else np.full((2, 2), np.nan)
    return beta, cov, rss


def _fit(name: str, formula: str, x, y, names: tuple[str, str], log_intercept: bool) -> Fit:
    beta, cov, rss = ols(x, y)
    half = t_quantile(len(x) - 2) * np.sqrt(np.diag(cov))
    lo, hi = beta - half, beta + half
    m = len(x)
    aic = m * np.log(max(rss, 1e-12) / m) + 2 * 3
    r2 = 1 - rss / float(np.sum((y - np.mean(y)) ** 2)) if np.ptp(y) > 0 else float("nan")
    a, a_ci = (np.exp(beta[0]), (np.exp(lo[0]), np.exp(hi[0]))) if log_intercept else (beta[0], (lo[0], hi[0]))
    return Fit(name, formula, {names[0]: float(a), names[1]: float(beta[1])},
               {names[0]: tuple(map(float, a_ci)), names[1]: (float(lo[1]), float(hi[1]))},
               rss, float(aic), m, float(r2))


def fit_power_law(d, n_star) -> Fit:
    d, n_star = np.asarray(d, float), np.asarray(n_star, float)
    return _fit("power law", "n* = a d^b", np.log(d), np.log(n_star), ("a", "b"), True)


def fit_exponential(d, n_star) -> Fit:
    d, n_star = np.asarray(d, float), np.asarray(n_star, float)
    return _fit("exponential", "n* = a exp(c d)", d, np.log(n_star), ("a", "c"), True)


def fit_linear(x, y) -> Fit:
    return _fit("linear", "y = a + b x", np.asarray(x, float), np.asarray(y, float), ("a", "b"), False)


def compare_fits(fits: Sequence[Fit]) -> list[Fit]:
    """Set Akaike weights; best (lowest AIC) first."""
    for f, w in zip(fits, akaike_weights([f.aic for f in fits])):
        f.weight = float(w)
    return sorted(fits, key=lambda f: f.aic)


def scaling_fits(d, n_star) -> list[Fit] | None:
    """Both fits, compared, or None when the data cannot support two parameters and a variance,
    or when n* is the same everywhere (no growth: both laws fit it exactly with b = c = 0)."""
    if len(d) < 3 or len(set(d)) < 2 or len(set(n_star)) < 2:
        return None
    return compare_fits([fit_power_law(d, n_star), fit_exponential(d, n_star)])


# ----------------------------------------------------------------------------- records
def peak(record: dict, metric: str) -> float | None:
    """Max over checkpoints; undefined values (None, NaN: e.g. coverage_unseen when the
    training set already holds the whole support) are skipped."""
    values = [c[metric] for c in record["checkpoints"] if _defined(c.get(metric))]
    return max(values) if values else None


def _defined(value) -> bool:
    return value is not None and not np.isnan(value)


def seed_mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def n_star(by_n: dict[int, list[dict]], metric: str, threshold: float) -> tuple[int | None, dict]:
    """(n* of the seed means, {seed: n* of that seed}) for records grouped by n."""
    ns = sorted(by_n)
    mean_star = next((n for n in ns if (seed_mean([peak(r, metric) for r in by_n[n]]) or 0) >= threshold),
                     None)
    seeds = sorted({r["seed"] for rs in by_n.values() for r in rs})
    per_seed = {s: next((n for n in ns for r in by_n[n]
                         if r["seed"] == s and (peak(r, metric) or 0) >= threshold), None) for s in seeds}
    return mean_star, per_seed


def seed_brackets(records: Sequence[dict], metric: str, threshold: float) -> dict:
    """{seed: (lo, hi)}: n* in (lo, hi], lo the largest size below hi that failed (0: none),
    hi the smallest that passed; (largest size tried, None) when none passed (censored)."""
    out = {}
    for seed in sorted({r["seed"] for r in records}):
        passed = {r["n_train"]: (peak(r, metric) or 0.0) >= threshold for r in records if r["seed"] == seed}
        hi = min((n for n, ok in passed.items() if ok), default=None)
        below = [n for n, ok in passed.items() if not ok and (hi is None or n < hi)]
        out[seed] = (max(below, default=0), hi)
    return out


def bracket_points(by_d: dict[int, dict]) -> list[Point]:
    """The fit's points: exact where the bracket is one integer wide (a bisection's answer),
    an interval where wider (a grid's), a lower bound where not reached."""
    points = []
    for d, brackets in by_d.items():
        for lo, hi in brackets.values():
            if hi is None:
                points.append(Point(d, lo, None))
            else:
                points.append(Point(d, hi, hi) if hi - lo <= 1 else Point(d, lo, hi))
    return points


def mean_curve(records: Sequence[dict]) -> list[dict]:
    """Seed mean of every metric per step; ``intervals`` = [min, max] over seeds."""
    steps = sorted({c["step"] for r in records for c in r["checkpoints"]})
    out = []
    for step in steps:
        cps = [c for r in records for c in r["checkpoints"] if c["step"] == step]
        names = {k for c in cps for k, v in c.items() if isinstance(v, (int, float)) and k != "step"}
        point = {"step": step, "intervals": {}}
        for name in sorted(names):
            values = [c[name] for c in cps if _defined(c.get(name))]
            point[name] = float(np.mean(values)) if values else None
            if values:
                point["intervals"][name] = (float(min(values)), float(max(values)))
        out.append(point)
    return out


def group_by(records: Sequence[dict], keys: Sequence[str]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(_key(r["overrides"].get(k)) for k in keys), []).append(r)
    return groups


def _key(value):
    return label(value) if isinstance(value, (dict, list)) else value


def label_of(keys: Sequence[str], values: tuple) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values)) or "all"


@dataclass
class Analysis:
    """Everything the report says, computed once from evaluations.jsonl records."""

    group_axes: list[str]
    metric_of: dict[str, str]  # group label -> generalization metric
    threshold: float
    n_star: dict[str, dict[int, tuple[int | None, dict]]] = field(default_factory=dict)  # label -> d -> ...
    fits: dict[str, list[Fit] | None] = field(default_factory=dict)
    timescales: dict[str, dict] = field(default_factory=dict)  # label -> {n: (tau_gen, tau_mem)}, fit
    tau_fits: dict[str, Fit | None] = field(default_factory=dict)
    batch_size: int | None = None  # of every point (None: the grid varies it), for epochs
    # label -> d -> seed -> (lo, hi): n* in (lo, hi]; hi None: not reached, n* > lo (censored)
    brackets: dict[str, dict[int, dict]] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # censored ML fits (views.censored)
    support: dict[str, dict[int, int | None]] = field(default_factory=dict)  # label -> d -> S
    against_support: dict[str, str] = field(default_factory=dict)  # label -> does n* track S
    # label -> d -> copy at the last checkpoint of the largest training set of each seed
    memorized: dict[str, dict[int, dict]] = field(default_factory=dict)


def analyse(records: Sequence[dict], config) -> Analysis:
    group_axes = [a for a in config.sweep.grid if a not in (SEED, N, SIDE)]
    result = Analysis(group_axes, {}, config.sweep.threshold, batch_size=common_batch_size(config))
    for values, members in group_by(records, group_axes).items():
        label = label_of(group_axes, values)
        kind = members[0]["target_kind"]
        metric = config.sweep.metric_by_target.get(kind, config.sweep.generalization_metric)
        result.metric_of[label] = metric
        by_d = _by(members, "d")
        result.n_star[label] = {d: n_star(_by(_meaningful(rs, metric, d), "n_train"), metric,
                                          config.sweep.threshold)
                                for d, rs in sorted(by_d.items())}
        pairs = [(d, s) for d, (_, per_seed) in result.n_star[label].items()
                 for s in per_seed.values() if s is not None]
        result.fits[label] = scaling_fits(*zip(*pairs)) if pairs else None
        result.brackets[label] = {d: seed_brackets(_meaningful(rs, metric, d), metric, config.sweep.threshold)
                                  for d, rs in sorted(by_d.items())}
        result.verdicts[label] = compare(bracket_points(result.brackets[label]))
        result.support[label] = {d: support_size(rs) for d, rs in sorted(by_d.items())}
        result.against_support[label] = track_support(result.brackets[label], result.support[label])
        result.memorized[label] = {d: largest_set_copy(rs) for d, rs in sorted(by_d.items())}
        result.timescales[label], result.tau_fits[label] = _timescales(members)
    return result


def common_batch_size(config) -> int | None:
    """The batch size of every point, for budgets in epochs (None: the grid varies it)."""
    return None if "train.batch_size" in varied_keys(config.sweep.grid) else config.train.batch_size


def _meaningful(records: Sequence[dict], metric: str, d: int) -> list[dict]:
    """coverage_unseen (a support of S images) only means generalization while n < S: at n = S
    nothing is left unseen. S is recorded per evaluation (older folders: the single dot's d)."""
    return [r for r in records if metric != "coverage_unseen" or r["n_train"] < (r.get("support_size") or d)]


def support_size(records: Sequence[dict]) -> int | None:
    """S of the records of one (group, d): the target's support size (None: infinite or unrecorded)."""
    return next((r["support_size"] for r in records if r.get("support_size")), None)


def n_star_share(lo: int, hi: int | None, size: int | None) -> float | None:
    """n*/S of one bracket: the share of the support that had to be shown. A search that never
    reached the threshold on a finite support ran to n = S - 1: n* = S, a share of 1."""
    if not size:
        return None
    return (hi if hi is not None else lo + 1) / size


def track_support(brackets: dict[int, dict], support: dict[int, int | None]) -> str:
    """Does n* track S? The censored power law n* = a S^b over every (d, seed) (views.censored,
    with S in place of d): b = 1 is n* proportional to S (a fixed share of the support must be
    shown; for S = 2^rank, exponential in d), b < 1 a share that falls as S grows. Every point
    at n* = S: the whole support, at every d."""
    if not support or any(not s for s in support.values()):
        return "no finite support: n*/S undefined"
    points = [Point(support[d], lo, None) if hi is None else
              (Point(support[d], hi, hi) if hi - lo <= 1 else Point(support[d], lo, hi))
              for d, by_seed in brackets.items() for lo, hi in by_seed.values()]
    shares = [[n_star_share(lo, hi, support[d]) for lo, hi in by_seed.values()] for d, by_seed in brackets.items()]
    share_text = ("n*/S " + ", ".join(f"{min(v):.2f}-{max(v):.2f}" if min(v) != max(v) else f"{v[0]:.2f}"
                                      for v in shares if v)
                  + f" at S = {', '.join(map(str, support.values()))}")
    if points and all(p.kind == "lower" and p.lower == p.d - 1 for p in points):
        return f"n* = S (the whole support) at every d and seed ({len(points)} points); {share_text}"
    reason = unfit_reason(points)
    if reason:
        return f"cannot tell: {reason}; {share_text}"
    fit = fit_censored(points, "power law")
    lo, hi = fit.beta_ci
    exponent = f"n* ∝ S^b, b = {fit.beta:.2f} [{lo:.2f}, {hi:.2f}] ({fit.censored} of {fit.points} at n* = S)"
    if lo > 0 and lo <= 1 <= hi:
        return f"consistent with n* ∝ S (b = 1 inside the interval): {exponent}; {share_text}"
    if 0 < hi < 1:
        return f"grows slower than S (b < 1): {exponent}; {share_text}"
    return f"cannot tell: {exponent}; {share_text}"


def largest_set_copy(records: Sequence[dict]) -> dict:
    """Is the largest training set probed memorized? Per seed, (n, copy at the last checkpoint) of
    its largest n: the training budget must reach memorization there (copy >= 0.9). A search
    that ends censored probed S - 1, the design's largest set; one that passes early did not."""
    out = {}
    for seed in sorted({r["seed"] for r in records}):
        largest = max((r for r in records if r["seed"] == seed), key=lambda r: r["n_train"])
        out[seed] = (largest["n_train"], largest["checkpoints"][-1].get("copy"))
    return out


def _by(records: Sequence[dict], key: str) -> dict:
    out: dict = {}
    for r in records:
        out.setdefault(r[key], []).append(r)
    return out


def _timescales(members: Sequence[dict]) -> tuple[dict, Fit | None]:
    """Seed means of tau_gen and tau_mem per (d, n); linear fit of tau_mem on n per largest d."""
    table = {}
    for (d, n), rs in sorted(group_by_fields(members, ("d", "n_train")).items()):
        table[(d, n)] = (seed_mean([tau_gen(r["checkpoints"]) for r in rs]),
                         seed_mean([tau_mem(r["checkpoints"]) for r in rs]))
    d_max = max(d for d, _ in table)
    pts = [(n, tm) for (d, n), (_, tm) in table.items() if d == d_max and tm is not None]
    # a slope needs 3 values of n, and values that vary (all equal: every tau_mem is the
    # first checkpoint, memorization happened before it and the fit would be meaningless)
    varies = len({n for n, _ in pts}) >= 3 and len({tm for _, tm in pts}) > 1
    fit = fit_linear(*zip(*pts)) if varies else None
    return table, fit


def group_by_fields(records: Sequence[dict], keys: Sequence[str]) -> dict[tuple, list[dict]]:
    out: dict = {}
    for r in records:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


# ----------------------------------------------------------------------------- analysis.json
def steps_of(value: float | None) -> int | None:
    """A (mean) training step as a person reads it: a whole number, never 1.2e+03."""
    return None if value is None else int(round(value))


# distinct_novel: distinct novel images / samples; a g of 1 made of one shape repeated scores low;
# the metrics beside g (docs/metrics.md): copies up to translation, chance level, fidelity, coverage
AT_BEST = ("valid", "copy", "novel", "g", "g_rel", "distinct_novel", "copy_shift", "g_shift",
           "distinct_novel_shift", "chance_valid", "g_above_chance", "precision", "recall")
COMPARISON_COLUMNS = ["d", "n", "group", "seeds", "best_step", *(f"{m}_best" for m in AT_BEST),
                      "metric", "max_metric", "valid_last", "copy_last", "g_last", "tau_gen", "tau_mem"]
AT_LAST = ("valid", "copy", "g")


def comparison_rows(a: Analysis, groups: dict) -> list[list]:
    """Seed means per (group, d, n), sorted so that the groups of one (d, n) sit side by side.
    *_best: at each seed's best checkpoint (largest g); *_last: at its last checkpoint."""
    rows = []
    for key, members in groups.items():
        label = label_of(a.group_axes, key)
        metric = a.metric_of[label]
        for (d, n), rs in sorted(group_by_fields(members, ("d", "n_train")).items()):
            best = [fitness_record(r) or r["checkpoints"][-1] for r in rs]
            last = [r["checkpoints"][-1] for r in rs]
            rows.append([d, n, label, len(rs), steps_of(seed_mean([c["step"] for c in best])),
                         *(seed_mean([c.get(m) for c in best]) for m in AT_BEST),
                         metric, seed_mean([peak(r, metric) for r in rs]),
                         *(seed_mean([c.get(m) for c in last]) for m in AT_LAST),
                         steps_of(seed_mean([tau_gen(r["checkpoints"]) for r in rs])),
                         steps_of(seed_mean([tau_mem(r["checkpoints"]) for r in rs]))])
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def in_epochs(steps: float | None, batch_size: int | None, n: int) -> float | None:
    """Seed-mean steps as epochs (None when either is unknown)."""
    return None if steps is None or batch_size is None else epochs(steps, batch_size=batch_size, n_train=n)


def analysis_summary(a: Analysis, groups: dict) -> dict:
    """analysis.json: the report's numbers, for scripts (and tests) to read back."""
    def fit_dict(f: Fit | None):
        return None if f is None else {"name": f.name, "formula": f.formula, "params": f.params,
                                       "ci95": f.ci, "aic": f.aic, "akaike_weight": f.weight,
                                       "r2": f.r2, "points": f.m}
    return {
        "threshold": a.threshold, "metric": a.metric_of,
        "n_star": {g: [{"d": d, "n_star": s, "per_seed": ps} for d, (s, ps) in by_d.items()]
                   for g, by_d in a.n_star.items()},
        "scaling_fits": {g: [fit_dict(f) for f in fits] if fits else None for g, fits in a.fits.items()},
        "n_star_brackets": {g: [{"d": d, "seed": seed, "lo": lo, "hi": hi, "censored": hi is None,
                                 "support_size": a.support[g].get(d),
                                 "n_star_share": n_star_share(lo, hi, a.support[g].get(d))}
                                for d, by_seed in by_d.items() for seed, (lo, hi) in by_seed.items()]
                            for g, by_d in a.brackets.items()},
        "censored_fits": {g: v.as_dict() for g, v in a.verdicts.items()},
        "against_support": a.against_support,
        "largest_set_copy": {g: [{"d": d, "seed": seed, "n": n, "copy_last": copy}
                                 for d, by_seed in by_d.items() for seed, (n, copy) in by_seed.items()]
                             for g, by_d in a.memorized.items()},
        "timescales": {g: [{"d": d, "n": n, "tau_gen": tg, "tau_mem": tm,
                            "tau_gen_epochs": in_epochs(tg, a.batch_size, n),
                            "tau_mem_epochs": in_epochs(tm, a.batch_size, n)}
                           for (d, n), (tg, tm) in t.items()] for g, t in a.timescales.items()},
        "timescale_definitions": DEFINITIONS,
        "tau_mem_fit": {g: fit_dict(f) for g, f in a.tau_fits.items()},
        "comparison": [dict(zip(COMPARISON_COLUMNS, row)) for row in comparison_rows(a, groups)],
    }


def analysis_from_summary(summary: dict, config) -> Analysis:
    """The Analysis that analysis_summary wrote, read back (the report draws analysis.json, it
    does not compute it again). The group axes and batch size come from the config, as in
    :func:`analyse`; a fit's residual sum of squares is not stored (nothing draws it)."""
    axes = list(config.sweep.grid)
    a = Analysis([x for x in axes if x not in (SEED, N, SIDE)], dict(summary["metric"]), summary["threshold"],
                 batch_size=common_batch_size(config))

    def fit(f: dict | None) -> Fit | None:
        return None if f is None else Fit(f["name"], f["formula"], f["params"],
                                          {k: tuple(v) for k, v in f["ci95"].items()}, float("nan"),
                                          f["aic"], f["points"], f["r2"], f["akaike_weight"])

    for g, rows in summary["n_star"].items():
        a.n_star[g] = {r["d"]: (r["n_star"], {int(k): v for k, v in r["per_seed"].items()}) for r in rows}
    a.fits = {g: None if fits is None else [fit(f) for f in fits] for g, fits in summary["scaling_fits"].items()}
    for g, rows in summary["n_star_brackets"].items():
        a.brackets[g], a.support[g] = {}, {}
        for r in rows:
            a.brackets[g].setdefault(r["d"], {})[r["seed"]] = (r["lo"], r["hi"])
            a.support[g][r["d"]] = r["support_size"]
    a.verdicts = {g: Verdict([CensoredFit.from_dict(f) for f in v["fits"]], v["verdict"])
                  for g, v in summary["censored_fits"].items()}
    a.against_support = dict(summary["against_support"])
    for g, rows in summary["largest_set_copy"].items():
        a.memorized[g] = {}
        for r in rows:
            a.memorized[g].setdefault(r["d"], {})[r["seed"]] = (r["n"], r["copy_last"])
    a.timescales = {g: {(r["d"], r["n"]): (r["tau_gen"], r["tau_mem"]) for r in rows}
                    for g, rows in summary["timescales"].items()}
    a.tau_fits = {g: fit(f) for g, f in summary["tau_mem_fit"].items()}
    return a


MEMORIZED = 0.9  # copy at the last checkpoint that counts as memorized
AT_SUPPORT = ("n* = S at every d and seed (censored at the support's size): no measured n* to fit; "
              "n* grows as S does")


def censored_at_support(a: Analysis, label: str) -> bool:
    """Every search of the group ended at n* = S: not reached at S - 1, its largest probe."""
    brackets = a.brackets.get(label) or {}
    return bool(brackets) and all(hi is None and lo == (a.support[label].get(d) or 0) - 1
                                  for d, seeds in brackets.items() for lo, hi in seeds.values())


def verdict_lines(summary: dict) -> list[str]:
    """What ``tsearch sweep`` prints after a bisection: per target, n* and n*/S per d, the
    verdicts (power law against exponential in d; n* against S), and whether the largest set
    of every d was memorized (copy >= MEMORIZED at its last checkpoint)."""
    lines = []
    for group, points in summary.get("n_star_brackets", {}).items():
        by_d: dict[int, list[dict]] = {}
        for p in points:
            by_d.setdefault(p["d"], []).append(p)
        cells = []
        for d, ps in by_d.items():
            stars = ",".join(str(p["hi"]) if p["hi"] is not None else f">{p['lo']}" for p in ps)
            shares = [p["n_star_share"] for p in ps if p["n_star_share"] is not None]
            share = f" (n*/S {np.mean(shares):.2f})" if shares else ""
            cells.append(f"d={d} S={ps[0]['support_size']}: n* {stars}{share}")
        lines.append(f"{group}: " + "; ".join(cells))
        at_support = all(p["censored"] and p["lo"] == (p["support_size"] or 0) - 1 for p in points)
        lines.append(f"{group}: in d: " + (AT_SUPPORT if at_support else summary["censored_fits"][group]["verdict"]))
        lines.append(f"{group}: against S: {summary['against_support'][group]}")
        copies = {}
        for row in summary.get("largest_set_copy", {}).get(group, []):
            copies.setdefault(row["d"], []).append(row)
        memo = [f"d={d} n={max(r['n'] for r in rs)}: " + ",".join(
                    "nan" if r["copy_last"] is None else f"{r['copy_last']:.2f}" for r in rs)
                for d, rs in copies.items()]
        # memorization matters where a search ended censored (it probed S - 1): there an n* = S
        # may be the budget's; a search that passed earlier never trained the largest set
        censored = {(p["d"], p["seed"]) for p in points if p["censored"]}
        short = [d for d, rs in copies.items()
                 if any((r["copy_last"] or 0) < MEMORIZED and (d, r["seed"]) in censored for r in rs)]
        why = (f"below {MEMORIZED} at d = {', '.join(map(str, short))} where a search ended at n* = S: "
               "not memorized, so n* = S there may be the training budget's, not the support's" if short
               else f"every search that ended at n* = S had it memorized (>= {MEMORIZED})" if censored
               else "no search ended at n* = S, so none needed its largest set memorized")
        lines.append(f"{group}: copy at the last checkpoint of the largest set probed: " + "; ".join(memo)
                     + f" ({why})")
    return lines
