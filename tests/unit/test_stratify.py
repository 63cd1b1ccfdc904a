"""Stratification runs on the shared 6,000-person area, checked against independent counts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from joinedup.analytics import stratify as stratify_module
from joinedup.analytics.segmentation import (
    SegmentationError,
    builtin_scheme,
    load_scheme,
    parse_scheme,
)
from joinedup.analytics.stratify import (
    RunError,
    StratificationRun,
    compare_runs,
    latest_run,
    list_runs,
    load_run,
    stratify,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.conftest import generated_area

SCHEMES = ("frailty_four_group", "bridges_to_health")


def fake_risk(tables: dict[str, ibis.Table], index_date: dt.date) -> ibis.Table:
    """A stand-in risk scorer (the real model lives elsewhere): grows with eFI deficits."""
    from joinedup.analytics.scores import efi

    scores = efi.from_store(tables, index_date)
    return scores.select(
        "person_id",
        risk=ibis.least(scores.deficits.cast("float64") / 10.0, 1.0),
        risk_band=ibis.literal("demo"),
    )


@pytest.fixture(scope="module")
def home(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home of its own for runs, sharing the session's population store."""
    root = tmp_path_factory.mktemp("runs-home")
    (root / "population").symlink_to(small_area.population_dir, target_is_directory=True)
    return Settings(home=root, database_url=small_area.database_url)


@pytest.fixture(scope="module")
def extract_date(small_store: PopulationStore) -> dt.date:
    return dt.date.fromisoformat(str(small_store.metadata()["extract_date"])[:10])


@pytest.fixture(scope="module")
def runs(home: Settings, extract_date: dt.date) -> tuple[StratificationRun, StratificationRun]:
    year_before = extract_date.replace(year=extract_date.year - 1)
    earlier = stratify(home, index_date=year_before, risk_scorer=fake_risk)
    notes: list[str] = []
    later = stratify(home, risk_scorer=fake_risk, progress=notes.append)
    assert notes and notes[-1] == "writing the run"
    return earlier, later


def registered_ids(store: PopulationStore, on: dt.date) -> set[int]:
    """Independent: open registration and alive at the end of `on` (pandas)."""
    reg = store.read("registrations").to_pandas()
    pat = store.read("patients").to_pandas()
    open_ = reg[(reg.start_date <= on) & (reg.end_date.isna() | (reg.end_date > on))]
    alive = pat[(pat.date_of_birth <= on) & (pat.date_of_death.isna() | (pat.date_of_death > on))]
    return set(open_.person_id) & set(alive.person_id)


def test_everyone_registered_gets_one_row_and_one_segment_per_scheme(
    runs, small_store: PopulationStore, extract_date: dt.date
) -> None:
    earlier, later = runs
    for run in runs:
        people = run.person_results().to_pandas()
        assert set(people.person_id) == registered_ids(small_store, run.index_date)
        assert people.person_id.is_unique
        for scheme in SCHEMES:
            ids = {s.id for s in builtin_scheme(scheme).segments}
            assert people[scheme].notna().all()
            assert set(people[scheme]) <= ids
    assert later.index_date == extract_date
    assert earlier.index_date == extract_date.replace(year=extract_date.year - 1)


def test_cost_in_window_matches_the_financial_year_ledger(
    runs, small_store: PopulationStore, extract_date: dt.date
) -> None:
    # The synthetic extract date is 31 March, so the 365-day window is exactly the financial
    # year ending on it; the generator's `costs` ledger sums the same activity independently
    # (social care pro rata per package, rounded to the penny: allow a penny per package).
    assert (extract_date.month, extract_date.day) == (3, 31)
    _, later = runs
    people = later.person_results(["person_id", "cost_12m"]).to_pandas().set_index("person_id")
    costs = small_store.read("costs").to_pandas()
    year = costs[costs.financial_year == extract_date.year - 1]
    ledger = year.groupby("person_id").cost.sum().reindex(people.index, fill_value=0.0)
    packages = small_store.read("care_packages").to_pandas().groupby("person_id").size()
    allowance = 0.011 * packages.reindex(people.index, fill_value=0) + 1e-6
    diff = (people.cost_12m - ledger).abs()
    assert (diff <= allowance).all()
    assert people.cost_12m.sum() > 1_000_000  # a real area's worth, not zeros


def test_emergency_admissions_match_an_independent_count(
    runs, small_store: PopulationStore, extract_date: dt.date
) -> None:
    _, later = runs
    people = later.person_results(["person_id", "emergency_admissions_12m", "bed_days_12m"])
    people_df = people.to_pandas().set_index("person_id")
    spells = small_store.read("hospital_spells").to_pandas()
    start = extract_date - dt.timedelta(days=365)
    window = spells[(spells.admission_date > start) & (spells.admission_date <= extract_date)]
    emergency = window[window.admission_method == "emergency"].groupby("person_id").size()
    expected = emergency.reindex(people_df.index, fill_value=0)
    assert (people_df.emergency_admissions_12m == expected).all()
    beds = window.groupby("person_id").length_of_stay.sum().reindex(people_df.index, fill_value=0)
    assert (people_df.bed_days_12m == beds).all()
    assert expected.sum() > 100


def test_segment_shares_are_plausible(runs) -> None:
    _, later = runs
    summary = later.segment_summary().to_pandas()
    four = summary[summary.scheme == "frailty_four_group"].set_index("segment")
    assert list(four.index) == [s.id for s in builtin_scheme("frailty_four_group").segments]
    assert list(four.level) == [4, 3, 2, 1]
    assert (four.people > 0).all()
    assert four.people_share.sum() == pytest.approx(1.0)
    assert 0.75 < four.people_share["largely_healthy"] < 0.97
    assert 0.005 < four.people_share["intensive_support"] < 0.06
    # The intensive group is small but uses far more than its share of cost.
    assert four.cost_share["intensive_support"] > 5 * four.people_share["intensive_support"]
    bth = summary[summary.scheme == "bridges_to_health"].set_index("segment")
    assert len(bth) == 8  # every segment listed, even an empty one
    assert bth.people_share.sum() == pytest.approx(1.0)
    assert bth.people_share["healthy"] > 0.3
    pareto = later.pareto().to_pandas()
    area = pareto[pareto.level == "area"].set_index("top_percent").share
    assert list(area.index) == [1, 2, 5, 10]
    assert area.is_monotonic_increasing
    assert 0.1 < area[1] < area[10] < 0.9  # cost is concentrated, not uniform


def test_run_files_are_written_and_listed(home: Settings, runs) -> None:
    earlier, later = runs
    for run in runs:
        files = {p.name for p in run.path.iterdir()}
        assert files == {
            "person_results.parquet",
            "pareto.parquet",
            "segment_summary.parquet",
            "run.json",
        }
        info = json.loads((run.path / "run.json").read_text())
        assert info["run_id"] == run.run_id
        assert info["engine"] == "duckdb"
        assert info["rows"]["person_results"] == run.person_results().num_rows
        assert info["codelists"]["lists"]["dementia"]["version"] >= 1
        assert "efi/deficits.csv" in info["score_tables"]
        assert info["parameters"]["schemes"] == list(SCHEMES)
        assert info["risk_columns"] == ["risk", "risk_band"]
        assert info["duration_seconds"] > 0
    assert [r.run_id for r in list_runs(home)][-2:] == [earlier.run_id, later.run_id]
    assert latest_run(home) is not None
    assert load_run(home, earlier.run_id).index_date == earlier.index_date
    with pytest.raises(RunError, match="no stratification run"):
        load_run(home, "nope")


def test_a_failed_run_leaves_nothing_behind(
    home: Settings, runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in (home.home / "runs").iterdir())
    real = stratify_module.pq.write_table
    calls = []

    def failing(table, where, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(table, where, **kwargs)

    monkeypatch.setattr(stratify_module.pq, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        stratify(home)
    assert sorted(p.name for p in (home.home / "runs").iterdir()) == before
    assert len(calls) == 2


def test_a_risk_scorer_without_a_risk_column_is_refused(home: Settings) -> None:
    def no_risk(tables, index_date):  # type: ignore[no-untyped-def]
        return tables["patients"].select("person_id")

    with pytest.raises(RunError, match="person_id and risk"):
        stratify(home, risk_scorer=no_risk)
    with pytest.raises(RunError, match="index date must be a date like"):
        stratify(home, index_date="31/03/2026")


def test_risers_between_a_year_apart(home: Settings, runs) -> None:
    earlier, later = runs
    risers = compare_runs(home, earlier.run_id, later.run_id, threshold=0.15).to_pandas()
    assert len(risers) > 0
    assert risers.person_id.is_unique

    # Independently, from the two stored result files.
    before = earlier.person_results().to_pandas().set_index("person_id")
    after = later.person_results().to_pandas().set_index("person_id")
    both = after.merge(before, left_index=True, right_index=True, suffixes=("_a", "_b"))
    order = ["fit", "mild", "moderate", "severe"]
    worse_efi = both[
        both.efi_category_a.map(order.index) > both.efi_category_b.map(order.index)
    ].index
    level = {s.id: s.level for s in builtin_scheme("frailty_four_group").segments}
    up = both[both.frailty_four_group_a.map(level) > both.frailty_four_group_b.map(level)].index
    jump = both[(both.risk_a - both.risk_b) > 0.15].index
    flagged = set(risers.person_id)
    assert set(worse_efi) | set(up) | set(jump) <= flagged
    assert len(up) > 0 and len(worse_efi) > 0 and len(jump) > 0

    row = risers.set_index("person_id").loc[up[0]]
    assert "moved up from" in row.reason
    assert row.frailty_four_group_before != row.frailty_four_group_after
    jumped = risers.set_index("person_id").loc[jump[0]]
    assert "admission risk rose" in jumped.reason
    assert jumped.risk_change > 0.15
    # Nobody who only improved is listed as a riser.
    assert (risers.reason != "").all()
    assert "bridges_to_health_before" not in risers.columns  # not compared by default
    every = compare_runs(home, earlier.run_id, later.run_id, threshold=0.15, schemes=None)
    assert "bridges_to_health_before" in every.column_names
    assert set(risers.person_id) <= set(every.column("person_id").to_pylist())


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"column": "shoe_size", "op": ">", "value": 9}, "unknown column 'shoe_size'"),
        ({"column": "age", "op": "=>", "value": 65}, "unknown operator '=>'"),
        ({"column": "age", "op": ">=", "value": "old"}, "bad value 'old' for age"),
        ({"column": "efi_category", "op": "==", "value": "frail"}, "bad value 'frail'"),
        ({"column": "efi_category", "op": ">", "value": "mild"}, "needs a number column"),
        ({"column": "care_home", "op": "in", "value": []}, "non-empty list"),
        ({"column": "age", "op": ">="}, "missing value"),
        ({"any": []}, "non-empty list of conditions"),
    ],
)
def test_bad_rules_give_clear_errors(condition: dict, message: str) -> None:
    scheme = {
        "id": "test_scheme",
        "name": "Test",
        "segments": [
            {"id": "a", "name": "A", "conditions": [condition]},
            {"id": "rest", "name": "Everyone else", "conditions": []},
        ],
    }
    with pytest.raises(SegmentationError, match=message) as caught:
        parse_scheme(scheme, where="test.yaml")
    assert "test.yaml: segment 1 (a)" in str(caught.value)


def test_bad_scheme_files_give_clear_errors(tmp_path: Path) -> None:
    no_catch_all = {
        "id": "s",
        "name": "S",
        "segments": [
            {"id": "a", "name": "A", "conditions": [{"column": "age", "op": ">", "value": 1}]}
        ],
    }
    with pytest.raises(SegmentationError, match=r"last segment .* must have no conditions"):
        parse_scheme(no_catch_all)
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: s\nsegments: [\n")
    with pytest.raises(SegmentationError, match=r"broken\.yaml: not valid YAML"):
        load_scheme(broken)
    with pytest.raises(SegmentationError, match="no segmentation scheme 'nope'"):
        load_scheme("nope")


@pytest.mark.slow
def test_spark_gives_identical_person_results(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Sized to prove the seam, not the scale: every pipeline of a run on both engines, on an
    # area just big enough to fill every segment (the spec tests hold each pipeline to its
    # expected rows on both engines).
    tiny = generated_area(tmp_path_factory, 800, 7)
    duck = stratify(tiny, risk_scorer=fake_risk)
    spark = stratify(tiny, engine="spark", risk_scorer=fake_risk)
    assert spark.engine == "spark" and duck.person_results().num_rows > 500
    assert spark.person_results().equals(duck.person_results())
    assert spark.pareto().equals(duck.pareto())
    assert spark.segment_summary().equals(duck.segment_summary())


def test_person_results_are_sorted_and_typed(runs) -> None:
    _, later = runs
    people = later.person_results()
    ids = people.column("person_id").to_pylist()
    assert ids == sorted(ids)
    assert people.schema.field("cost_12m").type == pa.float64()
    assert people.schema.field("care_home").type == pa.bool_()
