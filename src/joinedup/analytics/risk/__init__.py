"""Emergency-admission risk model: features, LightGBM + baseline, model card, explanations.

Public entry points are in `registry` (train, save, load, score, recalibrate) and `features`
(the feature and outcome pipelines with their plain-words labels).
"""

from joinedup.analytics.risk.features import FEATURES, features, outcome
from joinedup.analytics.risk.registry import (
    TrainedModel,
    load_model,
    recalibrate,
    risk_scorer,
    score_population,
    train_admission_model,
)

__all__ = [
    "FEATURES",
    "TrainedModel",
    "features",
    "load_model",
    "outcome",
    "recalibrate",
    "risk_scorer",
    "score_population",
    "train_admission_model",
]
