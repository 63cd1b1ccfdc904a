"""Train the emergency-admission risk model on a temporal split.

T is the store's extract date. Training: features at T − 2 years, outcomes in (T − 2y, T − 1y].
Evaluation: features at T − 1 year, outcomes in (T − 1y, T]. Three scorers are compared on the
evaluation year:

* **model**: a LightGBM gradient-boosted classifier (fixed seed, deterministic, few threads),
  with a logistic recalibration of its logit (intercept 0, slope 1 until `recalibrate`);
* **baseline**: a standardised logistic regression on the same features (scikit-learn);
* **rule**: prior emergency admissions in the last year, ties broken by bed days — the
  prior-admissions-only rule the model must beat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from joinedup.analytics.risk.features import FEATURE_COLUMNS, features, outcome
from joinedup.dates import years_before

if TYPE_CHECKING:
    import lightgbm as lgb

SEED = 20260331
THREADS = 1  # more threads spin against DuckDB's own pool and run slower here
LGB_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": THREADS,
    "verbosity": -1,
}
ROUNDS = 200
EPS = 1e-6


@dataclass(frozen=True)
class Split:
    """The dates of a temporal split: features at an index date, outcome the year after."""

    train_index: dt.date
    eval_index: dt.date

    @classmethod
    def for_extract(cls, extract: dt.date) -> Split:
        return cls(years_before(extract, 2), years_before(extract, 1))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))  # type: ignore[no-any-return]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]


@dataclass
class Logistic:
    """A standardised logistic regression as plain numbers (saved as JSON, scored by numpy)."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return sigmoid(z @ np.asarray(self.coef) + self.intercept)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> Logistic:
        from sklearn.linear_model import LogisticRegression

        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        fitted = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
        return cls(
            mean=mean.tolist(),
            scale=scale.tolist(),
            coef=fitted.coef_[0].tolist(),
            intercept=float(fitted.intercept_[0]),
        )


@dataclass
class Calibration:
    """p = sigmoid(intercept + slope · logit(raw LightGBM probability))."""

    intercept: float = 0.0
    slope: float = 1.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        return sigmoid(self.intercept + self.slope * logit(raw))

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> Calibration:
        intercept, slope = logistic_recalibration(raw, y)
        return cls(intercept=intercept, slope=slope)


def logistic_recalibration(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of the unpenalised logistic regression of y on logit(p)."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=np.inf, max_iter=1000).fit(logit(p).reshape(-1, 1), y)
    return float(fitted.intercept_[0]), float(fitted.coef_[0][0])


def rule_score(frame: pd.DataFrame) -> np.ndarray:
    """The prior-admissions-only rule: emergency admissions in the last year, then bed days."""
    bed_days = frame["bed_days_12m"].to_numpy(dtype=float)
    return frame["emergency_admissions_12m"].to_numpy(dtype=float) * 1e6 + np.minimum(
        bed_days, 999_999
    )


def matrix(frame: pd.DataFrame) -> np.ndarray:
    """The feature matrix, in FEATURES order, as float64."""
    return frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float64)


def dataset(
    con: BaseBackend, tables: Mapping[str, ibis.Table], index_date: dt.date
) -> pd.DataFrame:
    """Features at `index_date` joined to the outcome in the year after, as pandas."""
    f = features(tables, index_date)
    o = outcome(tables, index_date)
    joined = f.join(o, "person_id")
    frame = con.to_pyarrow(joined).to_pandas()
    return frame.sort_values("person_id", kind="stable").reset_index(drop=True)


@dataclass
class Fitted:
    """The three scorers fitted on a training year."""

    booster: lgb.Booster
    logistic: Logistic
    calibration: Calibration = field(default_factory=Calibration)

    def raw(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x, num_threads=THREADS), dtype=float)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.apply(self.raw(x))


def fit(train: pd.DataFrame, *, seed: int = SEED) -> Fitted:
    """Fit LightGBM and the logistic baseline on a training frame (features + admitted)."""
    x = matrix(train)
    y = train["admitted"].to_numpy(dtype=int)
    import lightgbm as lgb  # imported here: see `joinedup.analytics.risk.explain`

    params = dict(LGB_PARAMS, seed=seed)
    data = lgb.Dataset(x, label=y, feature_name=list(FEATURE_COLUMNS), free_raw_data=True)
    booster = lgb.train(params, data, num_boost_round=ROUNDS)
    return Fitted(booster=booster, logistic=Logistic.fit(x, y))
