"""The emergency-admission risk model: features, training, card, explanations, registry."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.risk import model as risk_model
from joinedup.analytics.risk.card import ModelCard, auroc
from joinedup.analytics.risk.explain import contributions, explain, top_factors
from joinedup.analytics.risk.features import (
    FEATURE_COLUMNS,
    FEATURES,
    NO_ADMISSION_DAYS,
    TABLES,
    features,
    outcome,
)
from joinedup.analytics.risk.registry import (
    TrainedModel,
    load_model,
    recalibrate,
    risk_scorer,
    save_model,
    score_population,
    train_admission_model,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

INDEX = dt.date(2025, 3, 31)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def small_tables(small_area: Settings) -> dict:
    con = connect("duckdb")
    return read_store(con, PopulationStore(small_area.population_dir), list(TABLES))


@pytest.fixture(scope="module")
def small_features(small_tables: dict) -> pd.DataFrame:
    frame = features(small_tables, INDEX).to_pyarrow().to_pandas()
    return frame.set_index("person_id")


@pytest.fixture(scope="session")
def trained(area_40k: Settings) -> TrainedModel:
    return train_admission_model(area_40k)


@pytest.fixture(scope="module")
def small_scored(trained: TrainedModel, small_tables: dict) -> pa.Table:
    return score_population(trained, small_tables, INDEX)


# ------------------------------------------------------------------ features


def _pandas_activity(store: PopulationStore, pid: int, day: dt.date) -> dict[str, int]:
    """Independent computation of one person's activity features with pandas."""
    start = pd.Timestamp(day - dt.timedelta(days=365))
    end = pd.Timestamp(day)

    def rows(table: str, date_col: str) -> pd.DataFrame:
        t = store.read(table).to_pandas()
        t = t[t.person_id == pid].copy()
        t[date_col] = pd.to_datetime(t[date_col])
        return t

    spells = rows("hospital_spells", "admission_date")
    in_year = spells[(spells.admission_date > start) & (spells.admission_date <= end)]
    emergency_before = spells[
        (spells.admission_method == "emergency") & (spells.admission_date <= end)
    ]
    days = (
        (end - emergency_before.admission_date.max()).days
        if len(emergency_before)
        else NO_ADMISSION_DAYS
    )
    ae = rows("ae_attendances", "arrival_date")
    op = rows("outpatient_appointments", "appointment_date")
    gp = rows("gp_appointments", "appointment_date")
    cc = rows("community_contacts", "contact_date")

    def within(t: pd.DataFrame, col: str) -> pd.DataFrame:
        return t[(t[col] > start) & (t[col] <= end)]

    gp_year = within(gp, "appointment_date")
    gp_year = gp_year[gp_year.attended]
    op_year = within(op, "appointment_date")
    return {
        "emergency_admissions_12m": int((in_year.admission_method == "emergency").sum()),
        "elective_admissions_12m": int((in_year.admission_method == "elective").sum()),
        "bed_days_12m": int(in_year.length_of_stay.sum()),
        "ae_attendances_12m": len(within(ae, "arrival_date")),
        "outpatient_attendances_12m": int(op_year.attended.sum()),
        "gp_appointments_12m": len(gp_year),
        "gp_home_visits_12m": int((gp_year["mode"] == "home_visit").sum()),
        "community_contacts_12m": len(within(cc, "contact_date")),
        "days_since_emergency": min(days, NO_ADMISSION_DAYS),
    }


def test_features_match_an_independent_pandas_computation(
    small_store: PopulationStore, small_features: pd.DataFrame
) -> None:
    busiest = small_features.sort_values(
        ["emergency_admissions_12m", "bed_days_12m"], ascending=False
    ).index[:3]
    rng = np.random.default_rng(3)
    others = rng.choice(small_features.index.to_numpy(), size=4, replace=False)
    patients = small_store.read("patients").to_pandas().set_index("person_id")
    for pid in [*busiest, *others]:
        row = small_features.loc[pid]
        expected = _pandas_activity(small_store, int(pid), INDEX)
        assert {k: int(row[k]) for k in expected} == expected, pid
        person = patients.loc[pid]
        dob = person.date_of_birth
        age = INDEX.year - dob.year - ((INDEX.month, INDEX.day) < (dob.month, dob.day))
        assert int(row.age) == age
        assert int(row.male) == (person.sex == "M")
        assert int(row.imd_decile) == person.imd_decile
        assert int(row.care_home) == bool(person.care_home)
        assert math.isclose(row.efi, row.efi_deficits / 36)
    assert small_features.loc[busiest[0], "emergency_admissions_12m"] >= 1


def test_features_one_row_per_registered_person(small_features: pd.DataFrame) -> None:
    assert small_features.index.is_unique
    assert list(small_features.columns[2:]) == list(FEATURE_COLUMNS)
    assert not small_features[list(FEATURE_COLUMNS)].isna().any().any()


def test_no_leakage_an_admission_after_the_index_date_is_not_a_feature(
    small_tables: dict, small_features: pd.DataFrame
) -> None:
    """Keep only what happens after the index date: every prior feature must be 0."""
    after = dict(small_tables)
    for name, col in [
        ("hospital_spells", "admission_date"),
        ("ae_attendances", "arrival_date"),
        ("outpatient_appointments", "appointment_date"),
        ("gp_appointments", "appointment_date"),
        ("community_contacts", "contact_date"),
        ("clinical_events", "event_date"),
        ("medications", "issue_date"),
    ]:
        t = small_tables[name]
        after[name] = t.filter(t[col] > INDEX)
    frame = features(after, INDEX).to_pyarrow().to_pandas()
    prior = [c for c in FEATURE_COLUMNS if c.endswith("_12m")] + [
        "efi_deficits",
        "ltc_count",
        "hfrs",
        "charlson",
        "cms",
        "medicines",
    ]
    assert (frame[prior] == 0).all().all()
    assert (frame.days_since_emergency == NO_ADMISSION_DAYS).all()
    assert len(frame) == len(small_features)
    # …while those admissions do count as outcomes of the year after.
    assert outcome(after, INDEX).to_pyarrow().to_pandas().admitted.sum() > 0


# ------------------------------------------------------------------ the model


def test_model_beats_the_rule_and_the_baseline_is_sane(trained: TrainedModel) -> None:
    card = trained.card
    assert card.model.auroc > card.rule.auroc + 0.05
    assert card.model.auroc_ci[0] > card.rule.auroc
    assert 0.65 < card.baseline.auroc < 0.95
    assert card.model.auroc > 0.7
    # calibrated on a new year: near intercept 0, slope 1
    assert abs(card.model.calibration_intercept) < 0.5
    assert 0.7 < card.model.calibration_slope < 1.3
    assert card.model.top["5%"]["ppv"] > card.evaluation_outcome_rate * 3


def test_card_fields_present_and_in_range(trained: TrainedModel) -> None:
    card = trained.card
    data = card.to_dict()
    for key in ("training_window", "evaluation_window", "known_limits", "equity", "features"):
        assert data[key]
    assert card.training_window["index_date"] == "2024-03-31"
    assert card.evaluation_window["index_date"] == "2025-03-31"
    assert card.training_size > 30_000 and card.evaluation_size > 30_000
    for perf in (card.model, card.baseline, card.rule):
        values = [perf.auroc, *perf.auroc_ci]
        for top in perf.top.values():
            values += [top["sensitivity"], top["ppv"]]
        assert all(0 <= v <= 1 for v in values)
        assert perf.auroc_ci[0] <= perf.auroc <= perf.auroc_ci[1]
    for perf in (card.model, card.baseline):
        assert perf.brier is not None and 0 <= perf.brier <= 1
        assert len(perf.calibration_table) == 10
        assert all(0 <= r["observed"] <= 1 for r in perf.calibration_table)
    assert {"age_band", "sex", "imd_quintile"} == set(card.equity)
    for rows in card.equity.values():
        assert sum(r.n for r in rows) == card.evaluation_size
        for r in rows:
            assert 0 <= r.observed_rate <= 1 and 0 <= r.predicted_rate <= 1
    text = card.to_markdown()
    assert "AUROC" in text and "does not reduce emergency admissions" in text
    assert ModelCard.from_dict(card.to_dict()).to_dict() == card.to_dict()


def test_explanations_name_real_features(
    trained: TrainedModel, small_scored: pa.Table, small_features: pd.DataFrame
) -> None:
    scored = small_scored
    assert scored.column_names == ["person_id", "risk", "risk_rank_percentile", "top_factors"]
    assert scored.num_rows == len(small_features)
    top = scored.sort_by([("risk", "descending")]).slice(0, 50).to_pylist()
    assert all(1 <= len(r["top_factors"]) <= 3 for r in top)
    x = risk_model.matrix(small_features.reset_index())
    worded = explain(trained.fitted.booster, x)
    columns = {f.column for f in FEATURES}
    for person in top_factors(contributions(trained.fitted.booster, x[:200]), x[:200]):
        assert all(f.column in columns and f.contribution > 0 for f in person)
    frame = small_features.reset_index()
    for i in np.argsort(-trained.predict(frame))[:50]:
        said = {f.describe(float(frame.loc[i, f.column])) for f in FEATURES}
        assert worded[i] and set(worded[i]) <= said
    by_column = {f.column: f for f in FEATURES}
    assert by_column["emergency_admissions_12m"].describe(3) == (
        "3 emergency admissions in the last year"
    )
    assert by_column["efi"].describe(14 / 36) == "severe frailty (eFI 0.39)"
    assert by_column["care_home"].describe(1) == "lives in a care home"
    assert max(scored.column("risk_rank_percentile").to_pylist()) == 100.0
    risks = np.asarray(scored.column("risk").to_pylist())
    percentiles = scored.column("risk_rank_percentile").to_pylist()
    for i in (0, 10, 100, 1000):
        assert math.isclose(percentiles[i], 100.0 * (risks <= risks[i]).mean())


def test_save_load_round_trip_gives_identical_scores(
    trained: TrainedModel,
    small_tables: dict,
    small_features: pd.DataFrame,
    small_scored: pa.Table,
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://")
    save_model(settings, trained)
    loaded = load_model(settings)
    assert loaded.model_id == trained.model_id
    frame = small_features.reset_index()
    assert np.array_equal(trained.predict(frame), loaded.predict(frame))
    x = risk_model.matrix(frame)
    assert explain(trained.fitted.booster, x) == explain(loaded.fitted.booster, x)
    assert np.array_equal(trained.fitted.logistic.predict(x), loaded.fitted.logistic.predict(x))
    assert loaded.card.to_dict() == trained.card.to_dict()
    for name in ("model.txt", "logistic.json", "card.json", "card.md", "features.json"):
        assert (tmp_path / "models" / trained.model_id / name).is_file()
    scorer = risk_scorer(loaded)
    table = scorer(small_tables, INDEX).to_pyarrow().sort_by("person_id")
    assert table.column_names == ["person_id", "risk"]
    assert table.column("risk").equals(small_scored.column("risk"))


def test_training_is_deterministic(small_area: Settings, small_tables: dict) -> None:
    con = connect("duckdb")
    tables = read_store(con, PopulationStore(small_area.population_dir), list(TABLES))
    train = risk_model.dataset(con, tables, dt.date(2024, 3, 31))
    x = risk_model.matrix(train)
    first, second = risk_model.fit(train), risk_model.fit(train)
    assert np.array_equal(first.predict(x), second.predict(x))
    assert np.array_equal(first.logistic.predict(x), second.logistic.predict(x))


def _shifted_copy(source: Settings, home: Path) -> Settings:
    """The area with two in three emergency admissions of its last year removed."""
    shutil.copytree(source.population_dir, home / "population")
    path = home / "population" / "hospital_spells.parquet"
    spells = pq.read_table(path)
    last_year = pc.and_(
        pc.equal(spells["admission_method"], "emergency"),
        pc.greater(spells["admission_date"], pa.scalar(INDEX, pa.date32())),
    )
    drop = pc.and_(last_year, pc.not_equal(pc.bit_wise_and(spells["spell_id"], 3), 0))
    pq.write_table(spells.filter(pc.invert(drop)), path)
    return Settings(home=home, database_url="sqlite://")


def test_recalibration_moves_the_intercept_on_a_shifted_area(
    trained: TrainedModel, small_area: Settings, tmp_path: Path
) -> None:
    shifted = _shifted_copy(small_area, tmp_path)
    new = recalibrate(trained, shifted)
    assert new.model_id != trained.model_id
    assert new.fitted.calibration.intercept < -0.5
    assert new.card.recalibration and new.card.recalibration["from_model"] == trained.model_id
    # the recalibrated model predicts the shifted area's lower rate
    assert abs(new.card.model.mean_predicted - new.card.evaluation_outcome_rate) < 0.01
    assert load_model(shifted).model_id == new.model_id


def test_auroc_matches_a_pairwise_count() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.8, 0.9])
    pairs = [(a, b) for a in s[y == 1] for b in s[y == 0]]
    expected = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)
    assert math.isclose(auroc(y, s), expected)
