"""The top 2% and 5% by emergency-admission risk, from a real stratification run of the small
area scored by a model trained on it, through the service and the pages.

Who is on the list, their tier, rank and percentile are checked against an independent pandas
ranking of the run's person_results.parquet (not against the pipeline). The runs are made in
homes of their own (the population store is shared by a symlink) so the session's area keeps
no run: there the list is unavailable (tests/unit/test_case_finding.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from joinedup.analytics import case_finding as cf
from joinedup.analytics.risk.registry import (
    TrainedModel,
    load_model,
    risk_scorer,
)
from joinedup.analytics.stratify import StratificationRun, stratify
from joinedup.governance.pseudonyms import pseudonyms
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.case_finding import PAGE_ROWS
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated
from tests.case_finding_support import area_gp_client

LIST = "top-risk-not-on-register"
DEFINITION = cf.get_definition(LIST)


def _home(small_area: Settings, root: Path) -> Settings:
    """A home of its own (runs, models, care store) sharing the session's population store."""
    (root / "population").symlink_to(small_area.population_dir, target_is_directory=True)
    settings = Settings(home=root, database_url=f"sqlite:///{root / 'care.db'}")
    migrated(settings.database_url)
    return settings


@pytest.fixture(scope="module")
def analysed(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The small area with a trained model and a run scored by it, explanations included (the
    session's `scored_area`), with a care store of this module's own."""
    database = tmp_path_factory.mktemp("risk-run") / "care.db"
    settings = Settings(home=scored_area.home, database_url=f"sqlite:///{database}")
    migrated(settings.database_url)
    return settings


@pytest.fixture(scope="module")
def model(analysed: Settings) -> TrainedModel:
    return load_model(analysed)


@pytest.fixture(scope="module")
def run(analysed: Settings) -> StratificationRun:
    from joinedup.analytics.stratify import latest_run

    found = latest_run(analysed)
    assert found is not None and "top_factors" in found.metadata["risk_columns"]
    return found


@pytest.fixture(scope="module")
def store(analysed: Settings) -> PopulationStore:
    return PopulationStore(analysed.population_dir)


@pytest.fixture(scope="module")
def result(store: PopulationStore, run: StratificationRun) -> cf.CaseFindingResult:
    return cf.run_list(store, LIST, run=run)


@pytest.fixture(scope="module")
def client(analysed: Settings) -> TestClient:
    """Signed in as a GP working across the whole area (named people, every practice)."""
    return area_gp_client(analysed, analysed.database_url)


def independent_tiers(run: StratificationRun) -> pd.DataFrame:
    """The run's people with a risk, ranked over the whole area in pandas: `more` people have
    a higher risk; top 2% when more < 2% of them, else top 5% when more < 5%."""
    people = pd.read_parquet(run.path / "person_results.parquet")
    people = people[people.risk.notna()].copy()
    n = len(people)
    ordered = np.sort(people.risk.to_numpy())
    people["more"] = n - np.searchsorted(ordered, people.risk.to_numpy(), side="right")
    people["tier"] = np.where(
        people.more < 0.02 * n, "Top 2%", np.where(people.more < 0.05 * n, "Top 5%", None)
    )
    people["n"] = n
    return people[people.tier.notna()].set_index("person_id")


# --- the rule -----------------------------------------------------------------------------------


def test_the_list_is_the_top_2_and_5_percent_of_the_area_by_the_runs_risk(
    result: cf.CaseFindingResult, run: StratificationRun
) -> None:
    expected = independent_tiers(run)
    got = {row["person_id"]: row for row in result.people()}

    assert set(got) == set(expected.index)
    n = int(expected.n.iloc[0])
    top2 = [p for p, row in got.items() if row["tier"] == "Top 2%"]
    assert 0.02 * n <= len(top2) < 0.02 * n + 5  # ties could push it a little over
    assert 0.05 * n <= len(got) < 0.05 * n + 5
    for person, row in got.items():
        want = expected.loc[person]
        assert row["tier"] == want.tier
        assert row["rank"] == want.more + 1
        assert row["risk_percent"] == pytest.approx(100 * want.risk, abs=0.0501)
        assert row["rank_percentile"] == pytest.approx(100 * (n - want.more) / n, abs=0.0501)
        assert row["run_id"] == run.run_id and row["run_index_date"] == run.index_date
        assert row["evidence_date"] == run.index_date
        assert row["top_factors"] == "; ".join(want.top_factors)
        assert row["evidence"] == (
            f"Risk {100 * want.risk:.1f}%, rank {want.more + 1} of {n} in the area "
            f"({want.tier.lower()})"
        )
    # Highest risk first (a worklist), not by practice.
    assert result.rows["rank"].to_pylist() == sorted(result.rows["rank"].to_pylist())
    assert result.index_date == run.index_date and result.run_id == run.run_id
    assert result.rows.column_names == [*cf.ROW_COLUMNS, *(c.name for c in DEFINITION.columns)]


def test_the_rule_in_words_states_the_numbers_the_pipeline_uses() -> None:
    percents = DEFINITION.parameters["top_percents"]
    assert percents == [2, 5]
    for k in percents:
        assert f"top {k}%" in DEFINITION.rule and f"fewer than {k}%" in DEFINITION.numerator
    assert "taken off after the ranking" in " ".join(DEFINITION.exclusions)
    assert DEFINITION.denominator and "model card" in DEFINITION.source
    assert any(e.url == "/population/model-card" for e in DEFINITION.evidence)


def test_people_on_the_register_are_left_out_after_the_whole_area_is_ranked(
    store: PopulationStore, run: StratificationRun, result: cf.CaseFindingResult
) -> None:
    first, second = result.people()[:2]

    without = cf.run_list(store, LIST, run=run, on_register={first["person_id"], 10**9})

    assert without.total == result.total - 1
    assert first["person_id"] not in without.rows["person_id"].to_pylist()
    # The rest keep their place in the area's ranking, and the register still counts as
    # registered population.
    assert without.people()[0] == second
    assert without.registered == result.registered


def test_filters_keep_the_area_ranking(
    store: PopulationStore, run: StratificationRun, result: cf.CaseFindingResult
) -> None:
    practice = max(result.by_practice, key=lambda p: p.found)
    one = cf.run_list(store, LIST, run=run, practice=practice.code)
    mine = cf.run_list(store, LIST, run=run, within_practices={practice.code})

    expected = [r for r in result.people() if r["practice_code"] == practice.code]
    assert one.people() == expected and mine.people() == expected
    assert one.total == practice.found
    hood = result.by_neighbourhood[0]
    assert cf.run_list(store, LIST, run=run, neighbourhood=hood.code).total == hood.found


def test_the_list_is_as_of_the_runs_index_date(
    store: PopulationStore, run: StratificationRun
) -> None:
    same = cf.run_list(store, LIST, run=run, index_date=run.index_date.isoformat())
    assert same.index_date == run.index_date
    with pytest.raises(cf.CaseFindingError, match="index date"):
        cf.run_list(store, LIST, run=run, index_date=run.index_date - dt.timedelta(days=1))


def test_without_factors_in_the_run_the_column_is_left_out(
    small_area: Settings, model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The scorer `joinedup stratify` uses: risk only (the person's page explains one person).
    settings = _home(small_area, tmp_path_factory.mktemp("risk-only"))
    run = stratify(settings, risk_scorer=risk_scorer(model))
    store = PopulationStore(settings.population_dir)

    result = cf.run_list(store, LIST, run=run)

    assert "top_factors" not in result.rows.column_names
    assert [c.name for c in result.columns] == [
        c.name for c in DEFINITION.columns if c.name != "top_factors"
    ]
    assert set(result.rows["person_id"].to_pylist()) == set(independent_tiers(run).index)
    html = area_gp_client(settings, settings.database_url).get(f"/case-finding/{LIST}").text
    assert 'data-column="tier"' in html and 'data-column="top_factors"' not in html


# --- unavailable --------------------------------------------------------------------------------


def test_with_no_run_the_list_says_what_to_run(
    small_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _home(small_area, tmp_path_factory.mktemp("no-run"))
    store = PopulationStore(settings.population_dir)

    with pytest.raises(
        cf.ListUnavailableError, match=re.escape("`joinedup model train` then `joinedup stratify`")
    ):
        cf.run_list(store, LIST, run=None)
    assert cf.list_counts(store)[LIST] is None
    client = TestClient(signed_in_app(settings))
    page = client.get(f"/case-finding/{LIST}")
    assert page.status_code == 200
    assert "Not available yet" in page.text and "`joinedup model train`" in page.text
    assert 'data-person="' not in page.text
    assert client.get(f"/case-finding/{LIST}.csv").status_code == 404
    card = re.search(rf'data-list="{LIST}".*?</li>', client.get("/case-finding").text, re.S)
    assert card and "Not available yet" in card[0] and "joinedup stratify" in card[0]


def test_a_run_without_a_risk_column_is_unavailable_too(
    small_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _home(small_area, tmp_path_factory.mktemp("no-risk"))
    run = stratify(settings)  # no model trained: no risk column
    store = PopulationStore(settings.population_dir)

    reason = cf.unavailable_reason(DEFINITION, run)
    assert run.run_id in reason and "joinedup model train" in reason
    with pytest.raises(cf.ListUnavailableError, match=run.run_id):
        cf.run_list(store, LIST, run=run)
    counts = cf.list_counts(store, run=run)
    assert counts[LIST] is None and counts["high-gp-users"]  # the others still run
    page = TestClient(signed_in_app(settings)).get(f"/case-finding/{LIST}").text
    assert run.run_id in page and 'id="unavailable"' in page


# --- pages and CSV ------------------------------------------------------------------------------


def test_the_index_counts_the_list(client: TestClient, result: cf.CaseFindingResult) -> None:
    html = client.get("/case-finding").text
    card = re.search(rf'data-list="{LIST}".*?</li>', html, re.S)
    assert card
    assert f'data-figure="count">{result.total:,}</p>' in card[0]
    assert "Not available yet" not in card[0]
    assert "built from the emergency-admission risk" in card[0]


def test_the_page_shows_the_rule_run_and_people_in_rank_order(
    client: TestClient, result: cf.CaseFindingResult, run: StratificationRun
) -> None:
    assert result.total <= PAGE_ROWS
    response = client.get(f"/case-finding/{LIST}")
    html = response.text

    assert response.status_code == 200
    assert re.findall(r'data-person="(\d+)"', html) == [
        str(p) for p in result.rows["person_id"].to_pylist()
    ]
    assert f'data-run="{run.run_id}"' in html
    assert "taken off after the ranking" in html  # the register exclusion, as the rule says
    assert 'data-rule="denominator"' in html and 'data-rule="source"' in html
    assert 'href="/population/model-card"' in html
    first = result.people()[0]
    row = re.search(rf'data-person="{first["person_id"]}".*?</tr>', html, re.S)
    assert row
    assert f'data-column="risk_percent">{first["risk_percent"]}%<' in row[0]
    assert f'data-column="rank_percentile">{first["rank_percentile"]}<' in row[0]
    assert f'data-column="tier">{first["tier"]}<' in row[0]
    factor = first["top_factors"].split("; ")[0]
    assert factor.replace("'", "&#39;") in row[0]
    assert 'data-column="run_id"' not in html  # in the CSV; shown once above the table
    assert " style=" not in html and "<style" not in html


def test_the_csv_holds_everyone_with_the_lists_columns(
    client: TestClient, result: cf.CaseFindingResult
) -> None:
    response = client.get(f"/case-finding/{LIST}.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(response.text.splitlines()))
    assert list(rows[0]) == [*cf.ROW_COLUMNS, *(c.name for c in DEFINITION.columns)]
    expected = [{k: "" if v is None else str(v) for k, v in r.items()} for r in result.people()]
    assert rows == expected


def test_pseudonymised_rows_keep_the_lists_declared_columns(
    result: cf.CaseFindingResult,
) -> None:
    key = b"k" * 32
    rows = cf.pseudonymised_rows(result.rows, key)
    own = [c.name for c in DEFINITION.columns]
    assert rows.column_names == [*cf.PSEUDONYMISED_COLUMNS, *own]
    assert "person_id" not in rows.column_names and "nhs_number" not in rows.column_names
    # The kept people's own columns as the list has them (small groups are withheld).
    everyone = pseudonyms(key, result.rows["person_id"].to_pylist())
    source = dict(zip(everyone, result.rows.select(own).to_pylist(), strict=True))
    assert rows.select(own).to_pylist() == [source[n] for n in rows["pseudonym"].to_pylist()]
