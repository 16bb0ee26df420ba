"""Screening of candidate training sets before they are trained: surrogate-assisted evolution
(pre-selection of offspring by a cheap model fit on the evaluations so far; Jin 2011,
"Surrogate-assisted evolutionary computation").

Every offspring the search trains costs a training; a set's features (tsearch.search.features)
cost microseconds. With ``search.screen_factor`` = k > 1, each generation the strategy makes k x
``population`` candidate sets by its usual operators (the initial population: k draws at each
of its sizes), and trains ``population`` of them, chosen as follows.

    surrogate   (``search.screen_model = "gp"``; "linear": Bayesian ridge, see Surrogate)
                a Gaussian process on the standardized features of the sets this arm has
                trained, and of the shared random baseline (never the control arm's: the
                comparison stays one of equal trainings), y = a set's mean fitness so far:
                kernel  c * RBF with one length scale per feature (ARD) + white noise,
                hyperparameters by maximum marginal likelihood (scikit-learn,
                Rasmussen & Williams 2006, eqs. 2.25-2.26, 5.8), giving mu(x), sigma(x)
    acquisition per objective of the NSGA-II front: the size is known exactly, the fitness
                is taken at its upper confidence bound  a(x) = mu(x) + KAPPA sigma(x)
                (Srinivas et al. 2010); the picks are the NSGA-II survivors (front rank,
                crowding) of the candidates on (a, size): the best bound at each size, spread
                over the sizes as the search's own selection spreads them
    explore     round(``screen_explore`` x population) of the picks are drawn uniformly from
                the candidates the acquisition left (the search's generator): the surrogate
                keeps seeing sets it would not choose, and its error is measured on them too

With fewer than MIN_TRAINED trained sets (or no feature that varies) there is no surrogate:
the first ``population`` distinct candidates are trained, which is a random pick, and the
logbook says so. With ``search.screen_oracle`` the surrogate has one more feature, given by
the driver: the fitness of the local (ELS) oracle's samples on the set, no training
(tsearch.runs.screen_oracle; docs/experiments.md measured what it adds). The surrogate is refit
every generation from the arms' archives, which each
checkpoint holds, so a killed and resumed search asks the same sets. ``screen_factor = 1``
never comes here: the search asks exactly what it asked before screening existed.

What the surrogate did is logged per generation (:func:`outcome`): candidates screened and
trained, each pick's prediction and, once trained, its measured value; the Spearman rank
correlation of the two (out of sample: predicted before the training); the features the
prediction leans on most (:meth:`Surrogate.leaned_on`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from .archive import ParetoArchive, select_nsga2
from .features import FEATURES, Design, set_features
from .genomes import Genome

MIN_TRAINED = 10  # trained sets below which picks are random (as the feature regression's floor)
KAPPA = 1.0       # the upper confidence bound's width, in predicted sds
TOP_FEATURES = 3  # features named per generation


class Surrogate:
    """mu, sigma of a set's fitness from its features (see the module docstring). ``kind``:
    "gp", the Gaussian process; "linear", Bayesian ridge regression (MacKay 1992; scikit-learn's
    BayesianRidge: a linear model whose predictive sd includes the weights' uncertainty),
    steadier with few trained sets and many features."""

    def __init__(self, rows: Sequence[dict], values: Sequence[float], names: Sequence[str] = FEATURES,
                 kind: str = "gp"):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        from sklearn.linear_model import BayesianRidge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.design, self.kind = Design.fit(rows, names), kind
        d = len(self.design.labels)
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.ones(d), (1e-2, 1e3))
                  + WhiteKernel(0.1, (1e-5, 1e1)))
        # one deterministic optimizer start (the kernel's initial values): refit from the same
        # archive, the same predictions, so a resumed search asks the same sets
        model = (GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=0) if kind == "gp"
                 else BayesianRidge())
        self.model = make_pipeline(StandardScaler(), model)
        self.y_sd = float(np.std(values)) or 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a length scale at its bound
            self.model.fit(self.design.matrix(rows), np.asarray(values, dtype=float))

    @classmethod
    def usable(cls, rows: Sequence[dict], names: Sequence[str] = FEATURES) -> bool:
        return len(rows) >= MIN_TRAINED and bool(Design.fit(rows, names).labels)

    def predict(self, rows: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        return self.model.predict(self.design.matrix(rows), return_std=True)

    def leaned_on(self, top: int = TOP_FEATURES) -> list[dict]:
        """The features the prediction leans on most, by relevance: for the GP the inverse of
        the fitted length scale (in sds of the feature: a change of one length scale moves the
        prediction by about one kernel sd); for the linear model |coefficient| per sd of the
        feature, in sds of the fitness."""
        if self.kind == "gp":
            relevance = 1 / np.atleast_1d(self.model[-1].kernel_.k1.k2.length_scale)
        else:
            relevance = np.abs(self.model[-1].coef_) / self.y_sd
        order = np.argsort(-relevance, kind="stable")[:top]
        return [{"feature": self.design.labels[j], "relevance": float(relevance[j])} for j in order]


class Screener:
    """Chooses which candidates a strategy trains (see the module docstring). ``prior``: the
    archives besides the strategy's own that the surrogate learns from (the baseline's)."""

    def __init__(self, *, explore: float, features_of: Callable[[Genome], dict],
                 prior: Callable[[], list[ParetoArchive]] = list, model: str = "gp"):
        self.explore, self.features_of, self.prior, self.model = explore, features_of, prior, model
        self._features: dict[str, dict] = {}  # a set's features never change: computed once
        # more features computed in batches by the driver (search.screen_oracle: the local
        # oracle's train-free fitness, tsearch.runs.screen_oracle): genomes -> hash -> {name: value}
        self.extra_of: Callable[[list[Genome]], dict[str, dict]] | None = None
        self.extra_names: tuple[str, ...] = ()

    def features(self, genome: Genome) -> dict:
        if genome.hash not in self._features:
            self._features[genome.hash] = self.features_of(genome)
        return self._features[genome.hash]

    def add_extra(self, genomes: Sequence[Genome]) -> None:
        """The driver's features of the sets that lack them, in one batch."""
        missing = list({g.hash: g for g in genomes if "extra" not in self.features(g)}.values())
        if self.extra_of is not None and missing:
            extra = self.extra_of(missing)
            for g in missing:
                self._features[g.hash] = {**self._features[g.hash], "extra": extra.get(g.hash, {})}

    def row(self, genome: Genome) -> dict:
        features = self.features(genome)
        return {**{k: v for k, v in features.items() if k != "extra"}, **features.get("extra", {})}

    def trained(self, own: ParetoArchive) -> list[tuple[Genome, float]]:
        """(set, mean fitness so far) of every set the arm and its prior were told, once each."""
        pool = {}
        for archive in [*self.prior(), own]:
            pool.update(archive.pool)
        return list(pool.values())

    def pick(self, candidates: Sequence[Genome], n: int, own: ParetoArchive,
             rng: np.random.Generator) -> tuple[list[Genome], dict]:
        """(the ``n`` sets to train, the generation's screening record)."""
        distinct = list({g.hash: g for g in candidates}.values())
        trained = self.trained(own)
        rows = [self.features(g) for g, _ in trained]
        record = {"candidates": len(candidates), "distinct": len(distinct), "trained_sets": len(trained)}
        if not Surrogate.usable(rows):
            picks = distinct[:n]
            return picks, {**record, "by": "random", "trained": len(picks),
                           "why": f"{len(trained)} trained sets (the surrogate needs {MIN_TRAINED} "
                                  "with a feature that varies)",
                           "picks": [_pick(g, None, None, False) for g in picks]}
        self.add_extra([g for g, _ in trained] + distinct)
        surrogate = Surrogate([self.row(g) for g, _ in trained], [v for _, v in trained],
                              FEATURES + self.extra_names, self.model)
        mu, sigma = surrogate.predict([self.row(g) for g in distinct])
        n = min(n, len(distinct))
        n_explore = min(math.floor(self.explore * n + 0.5), n)
        chosen = select_nsga2([g.size for g in distinct], list(mu + KAPPA * sigma), n - n_explore)
        rest = sorted(set(range(len(distinct))) - set(chosen))
        explored = [rest[i] for i in rng.choice(len(rest), size=n_explore, replace=False)] if n_explore else []
        picks = [{**_pick(distinct[i], mu[i], sigma[i], i in explored),
                  **{name: self.row(distinct[i]).get(name) for name in self.extra_names}}
                 for i in chosen + explored]
        return [distinct[i] for i in chosen + explored], {
            **record, "by": "surrogate", "trained": len(picks), "explore": n_explore,
            "inputs": list(surrogate.design.labels), "features": surrogate.leaned_on(), "picks": picks}


def attach(strategies: dict, cfg, target) -> None:
    """Give the search phase its screener when ``search.screen_factor`` > 1 (its prior: the
    baseline phase's archive); called on fresh and restored states alike."""
    search, baseline = strategies.get("search"), strategies.get("baseline")
    if cfg.screen_factor > 1 and search is not None:
        search.screener = Screener(
            explore=cfg.screen_explore, model=cfg.screen_model,
            features_of=lambda g: set_features(g.render(target), g.elements),
            prior=lambda: [baseline.archive] if baseline is not None else [])


def _pick(genome: Genome, mu, sigma, explore: bool) -> dict:
    return {"hash": genome.hash, "size": genome.size,
            "predicted": None if mu is None else float(mu), "sd": None if sigma is None else float(sigma),
            "explore": explore}


def outcome(record: dict, value_of: Callable[[str], float | None]) -> dict:
    """The screening record with each pick's measured value (its mean fitness once trained,
    None if it failed or was not promoted) and the out-of-sample Spearman correlation of
    predicted and measured over the picks that have both (None below 3 or without spread)."""
    picks = [{**p, "measured": value_of(p["hash"])} for p in record["picks"]]
    pairs = [(p["predicted"], p["measured"]) for p in picks
             if p["predicted"] is not None and p["measured"] is not None]
    return {**record, "picks": picks, "rank_correlation": spearman(pairs)}


def spearman(pairs: Sequence[tuple[float, float]]) -> float | None:
    if len(pairs) < 3 or any(np.ptp(np.array(x)) == 0 for x in zip(*pairs)):
        return None
    return float(stats.spearmanr(*zip(*pairs)).statistic)


def summary(logbook: Sequence[dict]) -> dict | None:
    """pareto.json's ``screening``: per generation of the search, the candidates screened and
    trained, how they were picked, the rank correlation and the features leaned on; over the
    run, the totals and the rank correlation of every surrogate-predicted pick. None when the
    search did not screen."""
    rows = [(e["step"], e["screen"]) for e in logbook if e.get("screen")]
    if not rows:
        return None
    pairs = [(p["predicted"], p["measured"]) for _, r in rows for p in r["picks"]
             if p["predicted"] is not None and p["measured"] is not None]
    return {"candidates": sum(r["candidates"] for _, r in rows), "trained": sum(r["trained"] for _, r in rows),
            "rank_correlation": spearman(pairs), "predicted_and_measured": len(pairs),
            "generations": [{"step": step, **{k: r.get(k) for k in (
                "candidates", "distinct", "trained", "by", "why", "explore", "trained_sets",
                "rank_correlation", "features")}} for step, r in rows]}
