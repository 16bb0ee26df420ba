"""Which properties of a training set predict its fitness: a ridge regression with
cross-validated R^2 (experiment 3's "what makes a set teach polygons").

Rows are evaluated training sets (of every arm), y a set's fitness (the mean over its
trainings), X its features (tsearch.search.features), each column standardized; a feature a
set lacks (pairwise features of one image) takes the column's mean, with an indicator column
when it is missing anywhere. With Z the standardized design and lambda the ridge penalty,

    beta = (Z'Z + lambda I)^{-1} Z'(y - mean y)        (Hoerl & Kennard 1970)

reported as standardized coefficients (the change of y per sd of a feature, others fixed).
R^2 is out of sample: K-fold cross-validation (folds drawn from a fixed seed), the
standardization and the mean refit on each training fold, R^2_cv = 1 - SSE_cv / SS_tot; a
value <= 0 says the features predict no better than the mean. The strongest terms carry a
bootstrap 95% interval (sets resampled with replacement). The fits are scikit-learn's
(StandardScaler, Ridge, cross_val_predict over the folds drawn here).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..search.features import Design


def design(rows: Sequence[dict], names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(X, column names) of tsearch.search.features.Design fit on ``rows``."""
    columns = Design.fit(rows, names)
    return columns.matrix(rows), list(columns.labels)


def ridge(X: np.ndarray, y: np.ndarray, penalty: float) -> Pipeline:
    """The standardized ridge fit (scikit-learn: a constant column is left unscaled); its
    standardized coefficients are ``fit[-1].coef_``."""
    return make_pipeline(StandardScaler(), Ridge(alpha=penalty)).fit(X, y)


def cv_r2(X: np.ndarray, y: np.ndarray, *, penalty: float, folds: int, seed: int) -> float | None:
    """Out-of-fold R^2 (see the module docstring); None below 2 rows per fold or without spread."""
    m = len(y)
    folds = min(folds, m)
    if folds < 2 or m < 2 * folds or np.var(y) == 0:
        return None
    fold_of = np.random.default_rng(seed).permutation(m) % folds
    predicted = cross_val_predict(make_pipeline(StandardScaler(), Ridge(alpha=penalty)), X, y,
                                  cv=PredefinedSplit(fold_of))
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def feature_regression(rows: Sequence[dict], values: Sequence[float], names: Sequence[str], *,
                       penalty: float = 1.0, folds: int = 5, seed: int = 0, top: int = 5,
                       n_boot: int = 200) -> dict | None:
    """The fit, its cross-validated R^2 and its ``top`` strongest standardized coefficients
    with bootstrap intervals; None below 10 sets (too few to say anything)."""
    y = np.asarray(values, dtype=float)
    X, labels = design(rows, names)
    if len(y) < 10 or not labels:
        return None
    fit = ridge(X, y, penalty)
    beta = fit[-1].coef_
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(len(y), size=len(y))
        if np.all(X[i].std(axis=0) > 0):
            boot.append(ridge(X[i], y[i], penalty)[-1].coef_)
    boot = np.array(boot) if boot else None
    order = np.argsort(-np.abs(beta))[:top]
    terms = [{"feature": labels[j], "coefficient": float(beta[j]),
              "ci": None if boot is None else [float(q) for q in np.percentile(boot[:, j], [2.5, 97.5])]}
             for j in order]
    r2_in = 1 - float(((y - fit.predict(X)) ** 2).sum() / ((y - y.mean()) ** 2).sum()) \
        if np.var(y) > 0 else None
    return {"sets": len(y), "features": labels, "penalty": penalty, "folds": folds,
            "r2_cv": cv_r2(X, y, penalty=penalty, folds=folds, seed=seed), "r2_in_sample": r2_in,
            "y_mean": float(y.mean()), "y_sd": float(y.std()), "top": terms,
            "bootstrap": 0 if boot is None else len(boot)}


def sentence(fit: dict | None, metric: str) -> str:
    """The regression in one plain sentence."""
    if fit is None:
        return "Too few evaluated sets (fewer than 10) for a regression of the fitness on the sets' features."
    r2 = fit["r2_cv"]
    terms = "; ".join(f"{t['feature']} {t['coefficient']:+.3f}"
                      + (f" [{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}]" if t["ci"] else "")
                      for t in fit["top"][:3])
    quality = ("the features predict nothing out of sample" if r2 is None or r2 <= 0 else
               f"the features explain {100 * r2:.0f}% of its variance out of sample")
    return (f"Over {fit['sets']} evaluated sets, a ridge regression of {metric} on the sets' features: "
            f"cross-validated R² = {'n/a' if r2 is None else f'{r2:.2f}'} ({quality}). Strongest "
            f"terms (change of {metric} per sd of the feature, 95% bootstrap interval): {terms}.")

