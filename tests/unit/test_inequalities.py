"""The inequalities lens: the statistics against published values, the figures of a hand-made
table, the area's figures against an independent pandas computation less the objectors (with
the small-number rule written out again), the pages, the CSV's permission and audit, and the
workforce page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import inequalities as iq
from joinedup.analytics.stratify import latest_run
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.commissioning import workforce as wf
from joinedup.commissioning import workforce_export as wf_export
from joinedup.commissioning import workforce_store as wf_store
from joinedup.governance.models import Objection
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import signed_in_app
from tests.carestore_support import migrated

OBJECTORS = 60


def _shown(count: int) -> int | None:
    """Small-number suppression, written out again: 0; 1-7 withheld; else nearest 5."""
    return 0 if count == 0 else None if count < 8 else 5 * math.floor(count / 5 + 0.5)


# --- statistics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "total", "low", "high"),
    # Newcombe RG. Stat Med 1998;17:857-872, Table I, method 3 (Wilson score interval).
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe(count: int, total: int, low: float, high: float) -> None:
    found = iq.wilson_interval(count, total)
    assert found == pytest.approx((low, high), abs=5e-5)


def test_rate_ratio_uses_the_katz_log_interval() -> None:
    found = iq.rate_ratio(20, 100, 10, 100)
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 10 - 1 / 100)
    assert found.ratio == 2.0
    assert found.low == pytest.approx(2 * math.exp(-1.959964 * se))
    assert found.high == pytest.approx(2 * math.exp(1.959964 * se))
    assert iq.rate_ratio(0, 100, 10, 100) == iq.RateRatio(0.0, None, None)
    assert iq.rate_ratio(5, 100, 0, 100) == iq.RateRatio(None, None, None)


def test_top_flags_take_the_ceiling_and_break_ties_by_person_id() -> None:
    values = pd.Series([5.0, 9.0, 9.0, 1.0] * 10)
    ids = pd.Series(range(1, 41))
    flags = iq.top_flags(values, ids)  # ceil(5% of 40) = 2
    assert list(ids[flags]) == [2, 3]


# --- a hand-made table --------------------------------------------------------------------------


def test_unit_figures_of_a_hand_made_table() -> None:
    """100 people: 60 in quintile 1, 40 in quintile 5; the 5 highest in cost and risk are all
    in quintile 1 (so their count, 5, is withheld)."""
    rows = []
    for i in range(1, 101):
        quintile = 1 if i <= 60 else 5
        rows.append(
            {
                "person_id": i,
                "imd_decile": 1 if quintile == 1 else 10,
                "age": 50,
                "ethnicity": "White",
                "cost_12m": 1000.0 if i <= 5 else 10.0,
                "risk": 0.9 if i <= 5 else 0.1 if quintile == 1 else 0.05,
                "scheme": "a" if i % 2 else "b",
            }
        )
    people = pd.DataFrame(rows)
    lens = iq.LENSES["imd_quintile"]
    people = people.assign(_group=lens.assign(people))
    unit = iq.unit_figures(
        people,
        lens,
        "scheme",
        (iq.Segment("a", "A"), iq.Segment("b", "B")),
        level="area",
        code="area",
        name="Test",
        has_risk=True,
    )
    q1 = next(g for g in unit.groups if g.group.startswith("1"))
    q5 = next(g for g in unit.groups if g.group.startswith("5"))
    assert (unit.people, q1.people, q5.people) == (100, 60, 40)
    assert dict(q1.segments) == {"a": 30 / 60, "b": 30 / 60}
    total_cost = 5 * 1000 + 95 * 10
    assert q1.cost_share == pytest.approx((5000 + 55 * 10) / total_cost)
    # 5 in the top 5%: published as withheld (1-7), so every figure from it is withheld.
    assert q1.top_cost.count is None and q1.top_cost.share is None
    assert q1.top_cost_share is None and q1.top_cost_ratio.ratio is None
    assert q5.top_cost.count == 0 and q5.top_cost.share == 0.0
    assert q1.mean_risk == pytest.approx((5 * 0.9 + 55 * 0.1) / 60)
    assert q1.median_risk == pytest.approx(0.1)
    assert q5.is_reference and q5.top_risk_ratio.low is None
    assert [g.people for g in unit.groups if g.group not in (q1.group, q5.group)] == [0] * 4


# --- the area, against an independent computation -----------------------------------------------


@pytest.fixture(scope="module")
def home(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The scored area with a care store of its own (objections and an audit trail)."""
    root = tmp_path_factory.mktemp("inequalities")
    settings = Settings(home=scored_area.home, database_url=f"sqlite:///{root / 'care.db'}")
    migrated(settings.database_url)
    return settings


@pytest.fixture(scope="module")
def sessions(home: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(home.database_url))


@pytest.fixture(scope="module")
def objectors(home: Settings, sessions: sessionmaker[Session]) -> frozenset[int]:
    """Objections for the 60 highest-cost people (who weigh most on the top 5%)."""
    run = latest_run(home)
    assert run is not None
    people = run.person_results(["person_id", "cost_12m"]).to_pandas()
    chosen = people.sort_values(["cost_12m", "person_id"], ascending=False)["person_id"]
    chosen = [int(p) for p in chosen.iloc[:OBJECTORS]]
    now = dt.datetime.now(dt.UTC)
    with sessions() as session, session.begin():
        for person_id in chosen:
            session.add(
                Objection(
                    person_id=person_id,
                    kind="national_data_opt_out",
                    source="recorded",
                    recorded_at=now,
                    recorded_by="test",
                )
            )
    return frozenset(chosen)


def _independent(home: Settings, objectors: frozenset[int]) -> pd.DataFrame:
    run = latest_run(home)
    assert run is not None
    people = pd.read_parquet(run.path / "person_results.parquet")
    people = people[~people["person_id"].isin(objectors)]
    patients = PopulationStore(home.population_dir).read("patients").to_pandas()
    people = people.merge(patients[["person_id", "ethnicity"]], on="person_id")
    n = len(people)
    k = math.ceil(0.05 * n)
    by_risk = people.sort_values(["risk", "person_id"], ascending=[False, True])
    by_cost = people.sort_values(["cost_12m", "person_id"], ascending=[False, True])
    return people.assign(
        top_risk=people["person_id"].isin(by_risk["person_id"].iloc[:k]),
        top_cost=people["person_id"].isin(by_cost["person_id"].iloc[:k]),
    )


def test_area_figures_equal_an_independent_computation_less_objectors(
    home: Settings, objectors: frozenset[int]
) -> None:
    result = iq.inequalities(home, objectors, "ethnicity", "area", "frailty_four_group")
    assert result is not None and result.has_risk
    people = _independent(home, objectors)
    assert result.objectors_left_out == _shown(OBJECTORS)
    assert result.area.people == _shown(len(people))
    total_cost = people["cost_12m"].sum()
    white = people[people["ethnicity"] == "White"]
    for group in result.area.groups:
        members = people[people["ethnicity"] == group.group]
        n = len(members)
        assert group.people == _shown(n), group.group
        in_top = int(members["top_risk"].sum())
        shown_top, shown_n = _shown(in_top), _shown(n)
        if shown_top is None or not shown_n:
            assert group.top_risk.share is None
        else:
            assert group.top_risk.share == pytest.approx(shown_top / shown_n)
            assert (group.top_risk.low, group.top_risk.high) == pytest.approx(
                iq.wilson_interval(shown_top, shown_n)
            )
        if shown_n and shown_n >= 8:
            assert group.cost_share == pytest.approx(members["cost_12m"].sum() / total_cost)
            assert group.mean_risk == pytest.approx(members["risk"].mean())
            assert group.median_risk == pytest.approx(members["risk"].median())
        for segment_id, share in group.segments:
            count = int((members["frailty_four_group"] == segment_id).sum())
            expected = _shown(count)
            assert share == (None if expected is None or not shown_n else expected / shown_n)
        if group.group != "White" and group.top_risk.count and group.top_risk.total:
            ref_top, ref_n = _shown(int(white["top_risk"].sum())), _shown(len(white))
            assert ref_top and ref_n
            assert group.top_risk_ratio.ratio == pytest.approx(
                (group.top_risk.count / group.top_risk.total) / (ref_top / ref_n)
            )


def test_every_published_count_is_zero_withheld_or_a_multiple_of_5(
    home: Settings, objectors: frozenset[int]
) -> None:
    result = iq.inequalities(home, objectors, "age_band", "practice")
    assert result is not None and result.units
    for unit in [result.area, *result.units]:
        for g in unit.groups:
            for count in (g.people, g.top_cost.count, g.top_risk.count):
                assert count is None or count % 5 == 0


def test_unknown_choices_are_refused(home: Settings) -> None:
    with pytest.raises(iq.UnknownChoice):
        iq.inequalities(home, frozenset(), "religion")
    with pytest.raises(iq.UnknownChoice):
        iq.inequalities(home, frozenset(), "ethnicity", "street")
    with pytest.raises(iq.UnknownChoice):
        iq.inequalities(home, frozenset(), "ethnicity", "area", "no_such_scheme")


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def commissioner(home: Settings, objectors: frozenset[int]) -> TestClient:
    return TestClient(signed_in_app(home, "commissioner"))


def test_the_inequalities_page_shows_the_lens_chart_and_tables(
    commissioner: TestClient, home: Settings, objectors: frozenset[int]
) -> None:
    response = commissioner.get("/population/inequalities?lens=imd_quintile&level=neighbourhood")
    assert response.status_code == 200
    page = response.text
    assert 'role="img"' in page and "<desc" in page
    assert 'id="download-csv"' in page and "Wilson" in page
    assert "5 (least deprived) <span" in page  # the reference group is marked
    assert "Each neighbourhood" in page
    assert commissioner.get("/population/inequalities?lens=religion").status_code == 404


def test_the_csv_needs_export_and_is_audited(
    commissioner: TestClient, home: Settings, sessions: sessionmaker[Session]
) -> None:
    response = commissioner.get("/population/inequalities.csv?lens=ethnicity&level=practice")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["level"] for r in rows} == {"area", "practice"}
    assert all(r["people"] == "withheld" or int(r["people"]) % 5 == 0 for r in rows)
    with sessions() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.population.inequalities")
        ).all()
    assert event.actor_role == "commissioner"
    assert event.detail["lens"] == "ethnicity" and event.detail["rows"] == len(rows)
    gp = TestClient(signed_in_app(home, "gp"))
    assert gp.get("/population/inequalities").status_code == 200
    assert gp.get("/population/inequalities.csv").status_code == 403


def test_the_workforce_page_and_csv(
    commissioner: TestClient, home: Settings, sessions: sessionmaker[Session]
) -> None:
    empty = commissioner.get("/commissioning/workforce")
    assert empty.status_code == 200 and 'id="no-figures"' in empty.text
    store = PopulationStore(home.population_dir)
    text = wf_export.rows_to_csv(wf_export.workforce_demo_rows(store), wf_export.DEMO_COLUMNS)
    wf_store.import_workforce(sessions, "test", text, source_name="demo.csv")
    practice = sorted(wf.area_practices(store, frozenset()))[0]
    page = commissioner.get(f"/commissioning/workforce?code={practice}")
    assert page.status_code == 200
    assert 'id="workforce-chart"' in page.text and 'id="pcns-table"' in page.text
    assert 'data-peer-group="pcn"' in page.text
    assert commissioner.get("/commissioning/workforce?code=NOPE").status_code == 404
    assert commissioner.get("/commissioning/workforce?period=1999").status_code == 404
    exported = commissioner.get("/commissioning/workforce.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["level"] for r in rows} == {"practice", "pcn"}
    assert rows[0]["list_size_source"] == "population store"
