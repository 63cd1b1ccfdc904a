"""Each person's risk explained by their top contributing factors, in plain words.

LightGBM's `pred_contrib=True` gives each feature's SHAP value (its push on the log-odds of the
raw model) for each person; the factors are the features with the largest positive pushes,
described by their value in words ("3 emergency admissions in the last year",
"severe frailty (eFI 0.39)").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from joinedup.analytics.risk.features import FEATURES

if TYPE_CHECKING:
    # Only for the annotations: LightGBM (and the scikit-learn and SciPy it loads) takes over a
    # second to import, which every process serving the web app would pay at start-up though
    # only training and scoring need it; they import it where they call it.
    import lightgbm as lgb

TOP_FACTORS = 3


@dataclass(frozen=True)
class Factor:
    column: str
    words: str
    contribution: float  # log-odds


def contributions(booster: lgb.Booster, x: np.ndarray, threads: int = 1) -> np.ndarray:
    """SHAP values: one row per person, one column per feature (the bias column dropped)."""
    values = np.asarray(booster.predict(x, pred_contrib=True, num_threads=threads), dtype=float)
    return values[:, : len(FEATURES)]


def top_factors(contrib: np.ndarray, x: np.ndarray, top: int = TOP_FACTORS) -> list[list[Factor]]:
    """Each person's `top` features with the largest positive contributions, in words."""
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    out: list[list[Factor]] = []
    for i in range(contrib.shape[0]):
        factors = []
        for j in order[i]:
            value = float(contrib[i, j])
            if value <= 0:
                break
            feature = FEATURES[j]
            factors.append(Factor(feature.column, feature.describe(float(x[i, j])), value))
        out.append(factors)
    return out


def explain(booster: lgb.Booster, x: np.ndarray, top: int = TOP_FACTORS) -> list[list[str]]:
    """Each person's top contributing factors in plain words."""
    return [[f.words for f in person] for person in top_factors(contributions(booster, x), x, top)]
