"""Train, save, load, score and recalibrate the emergency-admission risk model.

A trained model lives in `<home>/models/<model_id>/`:

    model.txt         the LightGBM model (text format)
    logistic.json     the logistic-regression baseline (means, scales, coefficients)
    calibration.json  the logistic recalibration of the model's logit (intercept, slope)
    features.json     the feature list (column, label, unit), in model order
    card.json         the model card as data
    card.md           the model card in Markdown

`load_model(settings)` with no id loads the most recently created model.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from joinedup.analytics.engine import Engine, connect, read_store
from joinedup.analytics.risk import card as cards
from joinedup.analytics.risk.explain import explain
from joinedup.analytics.risk.features import FEATURE_COLUMNS, TABLES, features
from joinedup.analytics.risk.model import (
    LGB_PARAMS,
    ROUNDS,
    SEED,
    Calibration,
    Fitted,
    Logistic,
    Split,
    dataset,
    fit,
    matrix,
    rule_score,
)
from joinedup.errors import UserError
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings

RiskScorer = Callable[[dict[str, ibis.Table], dt.date], ibis.Table]


class ModelNotFound(UserError, LookupError):
    """No trained model (or not the one asked for) under the models folder."""


@dataclass
class TrainedModel:
    """A trained risk model with its card."""

    model_id: str
    fitted: Fitted
    card: cards.ModelCard

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated risk for a features frame (columns of FEATURES)."""
        return self.fitted.predict(matrix(frame))


def models_dir(settings: Settings) -> Path:
    return settings.home / "models"


def _extract_date(store: PopulationStore) -> dt.date:
    value = store.metadata().get("extract_date")
    if not value:
        raise StoreError(f"the population store at {store.root} does not say its extract date")
    return dt.date.fromisoformat(str(value)[:10])


def _new_id(settings: Settings, created: dt.datetime) -> str:
    base = "admission-risk-" + created.strftime("%Y%m%dT%H%M%S")
    model_id, n = base, 1
    while (models_dir(settings) / model_id).exists():
        n += 1
        model_id = f"{base}-{n}"
    return model_id


def build_card(
    *,
    model_id: str,
    created: dt.datetime,
    area: str,
    extract: dt.date,
    split: Split,
    training: tuple[int, float],
    evaluation: pd.DataFrame,
    fitted: Fitted,
    recalibration: dict[str, Any] | None = None,
) -> cards.ModelCard:
    """Measure the three scorers on `evaluation` and write it all down.

    `training` is the training population's size and outcome rate.
    """
    y = evaluation["admitted"].to_numpy(dtype=int)
    x = matrix(evaluation)
    p = fitted.predict(x)

    def window(index: dt.date) -> dict[str, str]:
        end = index + dt.timedelta(days=365)
        return {"index_date": index.isoformat(), "outcome": f"({index}, {end}]"}

    return cards.ModelCard(
        model_id=model_id,
        created=created.isoformat(timespec="seconds"),
        area=area,
        extract_date=extract.isoformat(),
        outcome=cards.OUTCOME,
        population=cards.POPULATION,
        training_window=window(split.train_index),
        evaluation_window=window(split.eval_index),
        training_size=training[0],
        training_outcome_rate=training[1],
        evaluation_size=len(evaluation),
        evaluation_outcome_rate=float(y.mean()),
        evaluation_deaths=int(evaluation["died"].sum()),
        evaluation_leavers=int(evaluation["left"].sum()),
        model=cards.performance(y, p, probability=True),
        baseline=cards.performance(y, fitted.logistic.predict(x), probability=True),
        rule=cards.performance(y, rule_score(evaluation), probability=False),
        equity=cards.equity(evaluation, y, p),
        features=cards.feature_list(),
        parameters={
            "lightgbm": {k: v for k, v in LGB_PARAMS.items() if k != "verbosity"},
            "rounds": ROUNDS,
            "baseline": "standardised logistic regression, L2 (C=1), scikit-learn",
            "rule": "emergency admissions in the last year, ties broken by bed days",
            "bootstrap_resamples": cards.BOOTSTRAP_RESAMPLES,
            "bootstrap_seed": cards.BOOTSTRAP_SEED,
            "calibration": asdict(fitted.calibration),
        },
        recalibration=recalibration,
    )


def train_admission_model(
    settings: Settings,
    *,
    engine: Engine = "duckdb",
    seed: int = SEED,
    save: bool = True,
) -> TrainedModel:
    """Train on the temporal split of the settings' population store, write the card, save."""
    store = PopulationStore(settings.population_dir)
    extract = _extract_date(store)
    split = Split.for_extract(extract)
    con = connect(engine)
    tables = read_store(con, store, list(TABLES))
    train = dataset(con, tables, split.train_index)
    evaluation = dataset(con, tables, split.eval_index)
    fitted = fit(train, seed=seed)
    created = dt.datetime.now(dt.UTC)
    model_id = _new_id(settings, created)
    card = build_card(
        model_id=model_id,
        created=created,
        area=str(store.metadata().get("area_name", store.root)),
        extract=extract,
        split=split,
        training=(len(train), float(train["admitted"].mean())),
        evaluation=evaluation,
        fitted=fitted,
    )
    card.parameters["seed"] = seed
    model = TrainedModel(model_id=model_id, fitted=fitted, card=card)
    if save:
        save_model(settings, model)
    return model


def save_model(settings: Settings, model: TrainedModel) -> Path:
    folder = models_dir(settings) / model.model_id
    folder.mkdir(parents=True, exist_ok=True)
    model.fitted.booster.save_model(str(folder / "model.txt"))
    (folder / "logistic.json").write_text(json.dumps(asdict(model.fitted.logistic), indent=2))
    (folder / "calibration.json").write_text(json.dumps(asdict(model.fitted.calibration)))
    (folder / "features.json").write_text(json.dumps(cards.feature_list(), indent=2))
    (folder / "card.json").write_text(model.card.to_json())
    (folder / "card.md").write_text(model.card.to_markdown())
    return folder


def list_models(settings: Settings) -> list[str]:
    """Saved model ids, oldest first (by the card's creation time, then id)."""
    root = models_dir(settings)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        card_file = folder / "card.json"
        if card_file.is_file():
            found.append((json.loads(card_file.read_text())["created"], folder.name))
    return [model_id for _, model_id in sorted(found)]


def load_model(settings: Settings, model_id: str | None = None) -> TrainedModel:
    """The saved model `model_id`, or the latest one."""
    ids = list_models(settings)
    if not ids:
        raise ModelNotFound(f"no trained model under {models_dir(settings)}; train one first")
    model_id = model_id or ids[-1]
    if model_id not in ids:
        raise ModelNotFound(f"no model {model_id!r}; the models are: {', '.join(ids)}")
    folder = models_dir(settings) / model_id
    saved = [f["column"] for f in json.loads((folder / "features.json").read_text())]
    if saved != list(FEATURE_COLUMNS):
        raise ModelNotFound(f"model {model_id} was trained on other features; retrain it")
    import lightgbm as lgb  # imported here: see `joinedup.analytics.risk.explain`

    fitted = Fitted(
        booster=lgb.Booster(model_file=str(folder / "model.txt")),
        logistic=Logistic(**json.loads((folder / "logistic.json").read_text())),
        calibration=Calibration(**json.loads((folder / "calibration.json").read_text())),
    )
    card = cards.ModelCard.from_dict(json.loads((folder / "card.json").read_text()))
    return TrainedModel(model_id=model_id, fitted=fitted, card=card)


SCORE_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.int64()),
        pa.field("risk", pa.float64()),
        pa.field("risk_rank_percentile", pa.float64()),
        pa.field("top_factors", pa.list_(pa.string())),
    ]
)


def score_population(
    model: TrainedModel,
    tables: Mapping[str, ibis.Table],
    index_date: dt.date,
    *,
    explanations: bool = True,
) -> pa.Table:
    """Everyone registered at `index_date`: person_id, risk (probability of an emergency
    admission in the next year), risk_rank_percentile (100 = highest risk) and top_factors
    (up to three plain-words reasons; null with explanations=False, which is ~5x faster on a
    large population), ordered by person_id."""
    frame = features(tables, index_date).to_pyarrow().to_pandas()
    frame = frame.sort_values("person_id", kind="stable").reset_index(drop=True)
    x = matrix(frame)
    risk = model.fitted.predict(x)
    # share of people with a risk at or below this one (ties share the highest rank)
    percentile = np.searchsorted(np.sort(risk), risk, side="right") / max(1, len(risk)) * 100.0
    return pa.table(
        {
            "person_id": pa.array(frame["person_id"].to_numpy(dtype=np.int64)),
            "risk": pa.array(risk, pa.float64()),
            "risk_rank_percentile": pa.array(percentile, pa.float64()),
            "top_factors": pa.array(
                explain(model.fitted.booster, x) if explanations else [None] * len(risk),
                pa.list_(pa.string()),
            ),
        },
        schema=SCORE_SCHEMA,
    )


def risk_scorer(model: TrainedModel) -> RiskScorer:
    """A function (tables, index_date) → Ibis table (person_id, risk) for stratification."""

    def score(tables: dict[str, ibis.Table], index_date: dt.date) -> ibis.Table:
        scored = score_population(model, tables, index_date, explanations=False)
        scored = scored.select(["person_id", "risk"])
        return ibis.memtable(scored)

    return score


def recalibrate(
    model: TrainedModel, settings: Settings, *, engine: Engine = "duckdb", save: bool = True
) -> TrainedModel:
    """Refit the calibration intercept and slope on the settings' area's most recent year
    (features at T − 1 year, outcomes in (T − 1y, T]); same trees, new card, new id."""
    store = PopulationStore(settings.population_dir)
    extract = _extract_date(store)
    split = Split.for_extract(extract)
    con = connect(engine)
    tables = read_store(con, store, list(TABLES))
    recent = dataset(con, tables, split.eval_index)
    raw = model.fitted.raw(matrix(recent))
    calibration = Calibration.fit(raw, recent["admitted"].to_numpy(dtype=int))
    fitted = Fitted(
        booster=model.fitted.booster, logistic=model.fitted.logistic, calibration=calibration
    )
    created = dt.datetime.now(dt.UTC)
    model_id = _new_id(settings, created)
    area = str(store.metadata().get("area_name", store.root))
    card = build_card(
        model_id=model_id,
        created=created,
        area=area,
        extract=extract,
        split=split,
        training=(model.card.training_size, model.card.training_outcome_rate),
        evaluation=recent,
        fitted=fitted,
        recalibration={
            "from_model": model.model_id,
            "area": area,
            "index_date": split.eval_index.isoformat(),
            "intercept": calibration.intercept,
            "slope": calibration.slope,
        },
    )
    card.training_window = model.card.training_window
    card.parameters["seed"] = model.card.parameters.get("seed")
    recalibrated = TrainedModel(model_id=model_id, fitted=fitted, card=card)
    if save:
        save_model(settings, recalibrated)
    return recalibrated
