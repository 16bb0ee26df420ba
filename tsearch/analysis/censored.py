"""Power law against exponential on n*(d), by maximum likelihood with censored points.

Each (d, seed) gives one point of n*: exact (the bisection's answer), an interval (a grid's
bracket: the previous size failed, this one passed) or a lower bound (not reached by the
largest size tried: n* > n_max). Dropping lower bounds would bias the fit towards slow growth
exactly where growth is fast, so they enter through the survival function:

    log n* ~ Normal(mu(d), s^2),  mu = alpha + beta f(d)
    power law    f(d) = log d   (n* = e^alpha d^beta)
    exponential  f(d) = d       (n* = e^alpha e^(beta d))

    exact y:       log pdf((y - mu) / s) - log s
    interval (L, U]:  log (cdf((U - mu) / s) - cdf((L - mu) / s))
    lower bound L: log sf((L - mu) / s)

Fitted with scipy.optimize (Nelder-Mead on alpha, beta, log s; s >= S_MIN since a bisection
on integers can return the same n* at every d, where s -> 0 would make the likelihood
unbounded). The exponent's 95% interval is the profile-likelihood one: the betas whose
profile log-likelihood is within chi2_1(0.95) / 2 = 1.92 of the maximum; a side that never
drops that far stays open (inf). AIC = 2k - 2 loglik, k = 3, Akaike weights
w_i ∝ exp(-dAIC_i / 2) (Burnham & Anderson 2002).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats
from scipy.special import log_ndtr

from .stats import akaike_weights

S_MIN = 0.02  # floor on the log-scale spread (see the module docstring)
CHI2_HALF = 0.5 * stats.chi2.ppf(0.95, 1)  # 1.92
MODELS = {"power law": ("n* = a d^b", np.log), "exponential": ("n* = a exp(c d)", lambda d: d)}
DECISIVE_WEIGHT = 0.9  # an Akaike weight at least this large names a winner


@dataclass(frozen=True)
class Point:
    """One n*(d) observation; ``lower``/``upper`` in n (not log): exact when equal, a lower
    bound when ``upper`` is None (n* > lower), else the interval (lower, upper]."""

    d: float
    lower: float
    upper: float | None

    @property
    def kind(self) -> str:
        if self.upper is None:
            return "lower"
        return "exact" if self.upper == self.lower else "interval"


@dataclass
class CensoredFit:
    name: str
    formula: str
    alpha: float
    beta: float  # the exponent: b of the power law, c of the exponential
    beta_ci: tuple[float, float]
    sigma: float
    loglik: float
    aic: float
    points: int
    censored: int  # lower bounds among the points
    weight: float = float("nan")

    def mu(self, d) -> np.ndarray:
        return self.alpha + self.beta * MODELS[self.name][1](np.asarray(d, dtype=float))

    @classmethod
    def from_dict(cls, d: dict) -> "CensoredFit":
        """The inverse of :meth:`as_dict` (analysis.json read back)."""
        return cls(d["name"], d["formula"], math.log(d["a"]), d["exponent"], tuple(d["exponent_ci95"]),
                   d["sigma_log"], d["loglik"], d["aic"], d["points"], d["censored"], d["akaike_weight"])

    def as_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula, "a": math.exp(self.alpha),
                "exponent": self.beta, "exponent_ci95": list(self.beta_ci), "sigma_log": self.sigma,
                "loglik": self.loglik, "aic": self.aic, "akaike_weight": self.weight,
                "points": self.points, "censored": self.censored}


@dataclass
class Verdict:
    fits: list[CensoredFit] = field(default_factory=list)  # best first; empty: no fit
    sentence: str = ""

    def as_dict(self) -> dict:
        return {"fits": [f.as_dict() for f in self.fits], "verdict": self.sentence}


# ----------------------------------------------------------------------------- likelihood
def loglik(points: Sequence[Point], f, alpha: float, beta: float, sigma: float) -> float:
    """The censored log-likelihood (vectorized: the profile interval calls it thousands of times)."""
    data = _arrays(points, f)
    mu = alpha + beta * data["x"]
    lo = (data["log_lower"] - mu) / sigma
    hi = (data["log_upper"] - mu) / sigma
    exact = -0.5 * lo ** 2 - 0.5 * math.log(2 * math.pi) - math.log(sigma)
    lower = log_ndtr(-lo)
    # log(cdf(hi) - cdf(lo)) without cancellation: on the upper tail as sf(lo) - sf(hi)
    upper_tail = lo > 0
    a = np.where(upper_tail, log_ndtr(-lo), log_ndtr(hi))
    b = np.where(upper_tail, log_ndtr(-hi), log_ndtr(lo))
    with np.errstate(divide="ignore"):  # an empty interval: log 0 = -inf, as it should
        interval = a + np.log1p(-np.exp(np.minimum(b - a, 0.0)))
    terms = np.select([data["kind"] == 0, data["kind"] == 1], [exact, lower], interval)
    return float(np.sum(terms))


def _arrays(points: Sequence[Point], f) -> dict:
    kinds = {"exact": 0, "lower": 1, "interval": 2}
    return {"x": np.array([f(p.d) for p in points], dtype=float),
            "log_lower": np.log(np.array([max(p.lower, 1e-300) for p in points], dtype=float)),
            "log_upper": np.log(np.array([p.upper if p.upper is not None else np.inf
                                          for p in points], dtype=float)),
            "kind": np.array([kinds[p.kind] for p in points])}


def _negative(points, f, fixed_beta=None):
    def objective(theta):
        if fixed_beta is None:
            alpha, beta, log_s = theta
        else:
            (alpha, log_s), beta = theta, fixed_beta
        value = loglik(points, f, alpha, beta, max(S_MIN, math.exp(log_s)))
        return -value if np.isfinite(value) else 1e300
    return objective


def _start(points: Sequence[Point], f) -> np.ndarray:
    """OLS on log of each point's lower end (upper for intervals): a start, not an answer."""
    x = np.array([f(p.d) for p in points], dtype=float)
    y = np.log([p.upper if p.upper is not None else p.lower for p in points])
    beta, alpha = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    spread = float(np.std(y - alpha - beta * x)) or 0.3
    return np.array([alpha, beta, math.log(max(S_MIN, spread))])


def _minimize(objective, start) -> optimize.OptimizeResult:
    return optimize.minimize(objective, start, method="Nelder-Mead",
                             options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20000, "maxfev": 40000})


def fit_censored(points: Sequence[Point], name: str) -> CensoredFit:
    formula, f = MODELS[name]
    best = _minimize(_negative(points, f), _start(points, f))
    alpha, beta, log_s = best.x
    ll = -float(best.fun)
    ci = profile_interval(points, f, beta, ll, np.array([alpha, log_s]))
    return CensoredFit(name, formula, float(alpha), float(beta), ci, max(S_MIN, math.exp(log_s)), ll,
                       2 * 3 - 2 * ll, len(points), sum(p.kind == "lower" for p in points))


def profile_interval(points, f, beta_hat: float, ll_max: float, start: np.ndarray,
                     ) -> tuple[float, float]:
    """The betas whose profile log-likelihood is within 1.92 of the maximum (95%)."""
    def gap(beta):  # > 0 inside the interval, < 0 outside
        res = _minimize(_negative(points, f, fixed_beta=beta), start)
        return CHI2_HALF - (ll_max + float(res.fun))

    xs = np.array([f(p.d) for p in points], dtype=float)
    step = 1.0 / max(1e-9, float(np.ptp(xs)))  # a change of beta that moves log n* by 1 over the data
    out = []
    for sign in (-1.0, 1.0):
        inner, outer = beta_hat, beta_hat + sign * step
        for _ in range(30):
            if gap(outer) < 0:
                break
            inner, outer = outer, beta_hat + 2 * (outer - beta_hat)
        else:
            out.append(sign * math.inf)
            continue
        out.append(float(optimize.brentq(gap, min(inner, outer), max(inner, outer), xtol=1e-6)))
    return out[0], out[1]


# ----------------------------------------------------------------------------- verdict
def compare(points: Sequence[Point]) -> Verdict:
    """Both fits (best first, with Akaike weights) and the sentence that says what they decide."""
    reason = unfit_reason(points)
    if reason:
        return Verdict([], f"cannot tell: {reason}")
    fits = [fit_censored(points, name) for name in MODELS]
    for fit, w in zip(fits, akaike_weights([f.aic for f in fits])):
        fit.weight = float(w)
    fits.sort(key=lambda f: f.aic)
    return Verdict(fits, sentence(fits, points))


def unfit_reason(points: Sequence[Point]) -> str:
    """Why no fit is worth making: every point censored, n* reached at one d only, or no more
    points than the 3 parameters (the ML spread then collapses to S_MIN and the profile
    interval with it: a verdict on 3 points would look far surer than it is)."""
    measured = [p for p in points if p.kind != "lower"]
    if points and not measured:
        top = max(p.lower for p in points)
        return f"n* not reached at any d (every point a lower bound, n* > {top:g}): needs a larger n_max"
    if len({p.d for p in measured}) < 2:
        where = f" ({measured[0].d:g})" if measured else ""
        return f"n* reached at one d only{where}: needs a larger n_max at the other d"
    if len(points) <= 3:
        return (f"{len(points)} points for 3 parameters (a, exponent, spread): needs more seeds "
                "or more d")
    return ""


def sentence(fits: list[CensoredFit], points: Sequence[Point]) -> str:
    best, other = fits
    lo, hi = best.beta_ci
    exponent = f"exponent {best.beta:.3g} [{lo:.3g}, {hi:.3g}]"
    censored = f"; {best.censored} of {best.points} points censored" if best.censored else ""
    if lo <= 0 <= hi:
        return (f"cannot tell: no growth of n* with d is resolved ({best.name} {exponent}; weights "
                f"{best.weight:.2f} / {other.weight:.2f}{censored}); {needed_d(fits, points)}")
    if best.weight >= DECISIVE_WEIGHT:
        return f"{best.name} preferred, weight {best.weight:.2f}; {exponent}{censored}"
    return (f"cannot tell: {best.name} weight {best.weight:.2f} against {other.weight:.2f} ({exponent}"
            f"{censored}); {needed_d(fits, points)}")


def needed_d(fits: list[CensoredFit], points: Sequence[Point]) -> str:
    """Where the two fitted curves part by more than 2 x 1.96 sigma in log n* (so that one
    point there would separate them): the d a decisive run should reach."""
    d_max = max(p.d for p in points)
    spread = 2 * 1.96 * max(f.sigma for f in fits)
    for d in np.geomspace(d_max, 100 * d_max, 400)[1:]:
        if abs(float(fits[0].mu(d) - fits[1].mu(d))) > spread:
            return f"needs d up to about {d:.0f} (the fits part by 2 x 1.96 sigma there)"
    return f"the fits do not part before d = {100 * d_max:.0f}: needs more seeds or a less noisy n*"
