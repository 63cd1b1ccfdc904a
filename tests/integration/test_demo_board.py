"""The demo's board report shows green, amber and red (issue 13).

The care store is seeded by the demo's own seeding steps (`joinedup.demo`) on the scored
small area (the small area with the risk run the demo makes): the steps the board's figures
come from (objections, users, the coordinated-care loop, the directory and social
prescribing, and the delivery plan), not the ward, caseloads or workforce, which the board does
not read and which would take half a minute. Then the commissioner's board report is read as
the page shows it. Before the demo seeded a local plan and returns, every element read "Not
reported" or "No plan". The day is fixed, so the quarter is too.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from joinedup import demo
from joinedup.carestore.db import make_engine, session_factory
from joinedup.commissioning import delivery
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import delivery as delivery_pages
from joinedup.web.app import create_app
from tests.auth_support import sign_in_as
from tests.carestore_support import migrated
from tests.html_support import html_table

DAY = dt.date(2026, 11, 23)  # in 2026-27 Q3, six quarters into the London SCF plan
SEED = 7


@pytest.fixture(scope="module")
def seeded(
    scored_area: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo-board') / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    store = PopulationStore(scored_area.population_dir)
    sync_organisations(store, sessions)
    settings = Settings(home=scored_area.home, database_url=url)
    seed_board(store, sessions, settings)
    return settings, sessions


def seed_board(store: PopulationStore, sessions: sessionmaker[Session], settings: Settings) -> None:
    """The demo's steps the board reads, in `demo.seed_demo`'s order."""
    say = lambda *_: None  # noqa: E731
    demo._demo_objections(say, store, sessions, SEED)
    demo._demo_users(say, sessions)
    demo._demo_care(say, sessions, settings)
    demo._demo_directory(say, sessions, settings, SEED)
    demo._demo_social_prescribing(say, sessions, settings, SEED)
    demo._demo_delivery(say, sessions, settings, SEED, DAY)


@pytest.fixture
def app(seeded: tuple[Settings, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setattr(delivery_pages, "today", lambda: DAY)
    return create_app(seeded[0])


def test_the_demo_board_report_shows_every_rag_state(app: FastAPI) -> None:
    sign_in_as(app, "commissioner")
    page = TestClient(app).get("/commissioning/delivery/report")
    assert page.status_code == 200
    table = html_table(page.text, "report-table")
    statuses = {r.data("element"): r.cells[4].text for r in table.body_rows if r.data("element")}
    assert {"Green", "Amber", "Red"} <= set(statuses.values()), statuses
    # A figure withheld as a small number was reported: the board counts it so.
    for row in table.body_rows:
        if row.data("element") and row.cells[4].text == "Suppressed":
            assert "suppressed)" in row.cells[3].text and not row.cells[3].text.startswith("0 ")


def test_a7_shows_its_numerator_and_denominator_and_is_not_everyone(app: FastAPI) -> None:
    """Issue 13: A7 read 100% in every area, with nothing to check it by."""
    sign_in_as(app, "commissioner")
    page = TestClient(app).get("/commissioning/delivery")
    rows = html_table(page.text, "heat-map").body_rows
    cells = [c for r in rows for c in r.cells if c.data("element") == "A7" and c.data("area")]
    assert cells
    for cell in cells:
        numbers = re.search(r"([\d,]+) / ([\d,]+) patients with 3 or more GP", cell.text)
        assert numbers, cell.text
        high, measurable = (int(n.replace(",", "")) for n in numbers.groups())
        assert 0 < high < measurable


def test_the_demo_plan_is_a_trajectory_to_the_milestones_with_past_returns(
    seeded: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, sessions = seeded
    spec = delivery_pages.specification()
    records = delivery.submissions(sessions)
    by = {(r.area_code, r.element_id, str(r.quarter)): r for r in records}
    areas = {r.area_code for r in records}
    assert areas and len(records) == len(areas) * len(spec.elements) * len(spec.quarters)
    for area in areas:
        for element in spec.elements:
            plan = [by[area, element.id, str(q)].planned_percent for q in spec.quarters]
            assert plan == sorted(plan)  # never planned to go backwards
            assert plan[-1] == 100  # every plan reaches the last milestone in the end
            # Returns run up to the current quarter (typed) or the closed quarters (measured).
            reported = [
                str(q)
                for q in spec.quarters
                if by[area, element.id, str(q)].actual_percent is not None
            ]
            last = "2026-27 Q2" if element.measured else "2026-27 Q3"
            assert not reported or reported[-1] == last
            assert element.measured or reported[0] == str(spec.first_quarter)
    assert {r.source for r in records} == {"demo"}
    # A second run changes nothing.
    demo._demo_delivery(lambda *_: None, sessions, settings, SEED, DAY)
    assert len(delivery.submissions(sessions, latest_only=False)) == len(records)
