"""The Commissioning home and the delivery-plan tracker pages, through the app in-process,
and `joinedup delivery import | export | list` through Typer's runner.

A migrated SQLite care store with the small area's organisations: the tracker's areas are its
neighbourhoods, measured by the real stores (no care records yet: coordinated-care elements
measure 0 of an empty cohort, so show no %)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.cli import app as cli_app
from joinedup.commissioning import delivery
from joinedup.commissioning.specification import load_specification
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import CSRF_TOKEN, sign_in_as
from tests.carestore_support import migrated
from tests.html_support import page_text


@pytest.fixture(scope="module")
def settings(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("delivery-pages")
    url = f"sqlite:///{folder / 'care.db'}"
    migrated(url)
    sync_organisations(
        PopulationStore(small_area.population_dir), session_factory(make_engine(url))
    )
    return Settings(home=small_area.home, database_url=url)


@pytest.fixture(scope="module")
def sessions(settings: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(settings.database_url))


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="module")
def area_code(sessions: sessionmaker[Session]) -> str:
    return delivery.delivery_areas(sessions, load_specification())[0].code


def client_as(app: FastAPI, role: str) -> TestClient:
    sign_in_as(app, role)
    return TestClient(app, follow_redirects=False)


def test_the_commissioning_home_links_to_its_pages(app: FastAPI) -> None:
    page = client_as(app, "analyst").get("/commissioning")
    assert page.status_code == 200
    for href in ("/commissioning/delivery", "/commissioning/practices", "/commissioning/published"):
        assert f'href="{href}"' in page.text
    assert "Record a quarter" not in page.text  # analysts may look, not submit


def test_the_tracker_shows_every_element_by_area_with_the_rules(
    app: FastAPI, area_code: str
) -> None:
    page = client_as(app, "commissioner").get("/commissioning/delivery?quarter=2026-27 Q3")
    assert page.status_code == 200
    assert page.text.count('<tr class="nhsuk-table__row" data-element=') == 17
    assert f'data-area="{area_code}"' in page.text
    words = page_text(page.text)
    assert "Delivery plan: 2026-27 Q3" in words
    assert "Amber: below the plan by less than 10 percentage points" in words
    assert "Record a quarter for an area" in words


def test_an_unknown_quarter_area_or_element_is_not_found(app: FastAPI, area_code: str) -> None:
    client = client_as(app, "commissioner")
    assert client.get("/commissioning/delivery?quarter=2040-41 Q1").status_code == 404
    assert client.get("/commissioning/delivery?quarter=soon").status_code == 404
    assert client.get("/commissioning/delivery/NOWHERE/A1").status_code == 404
    assert client.get(f"/commissioning/delivery/{area_code}/Z9").status_code == 404


def test_a_commissioner_records_a_quarter_and_sees_the_trajectory(
    app: FastAPI, area_code: str, sessions: sessionmaker[Session]
) -> None:
    client = client_as(app, "commissioner")
    form = client.get(f"/commissioning/delivery/submit?area={area_code}&element=A3")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    fields = {"area_code": area_code, "element_id": "A3", "quarter": "2026-27 Q2",
              "planned_percent": "45", "actual_percent": "41", "notes": "hub opened",
              "csrf_token": CSRF_TOKEN}  # fmt: skip
    done = client.post("/commissioning/delivery/submit", data=fields)
    assert done.status_code == 303
    assert done.headers["location"] == (
        f"/commissioning/delivery/{area_code}/A3?recorded=2026-27+Q2"
    )
    page = client.get(done.headers["location"])
    assert page.status_code == 200
    words = page_text(page.text)
    assert "has been recorded as a new version" in words
    assert "2026-27 Q2 45% 41% Amber" in words
    assert 'data-point="2026-27 Q2: actual 41%"' in page.text  # the chart shows it
    with sessions() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None and last.action == "delivery.submit"

    data = client.get(f"/commissioning/delivery/{area_code}/A3/data.csv")
    assert data.status_code == 200 and data.headers["content-type"].startswith("text/csv")
    assert f"{area_code},A3,2026-27 Q2,45.0,41.0,form,Amber," in data.text


def test_a_bad_submission_is_shown_again_with_every_reason(app: FastAPI, area_code: str) -> None:
    client = client_as(app, "manager")
    fields = {"area_code": area_code, "element_id": "C2", "quarter": "2026-27 Q3",
              "planned_percent": "120", "actual_percent": "50",
              "csrf_token": CSRF_TOKEN}  # fmt: skip
    page = client.post("/commissioning/delivery/submit", data=fields)
    assert page.status_code == 400
    words = page_text(page.text)
    assert "Planned % 120 is not between 0 and 100" in words
    assert "C2's actual % is measured by joinedup" in words
    assert 'value="120"' in page.text  # what was typed is kept


def test_only_commissioners_and_managers_may_submit(app: FastAPI, area_code: str) -> None:
    client = client_as(app, "analyst")
    fields = {"area_code": area_code, "element_id": "A3", "quarter": "2026-27 Q2",
              "planned_percent": "45", "csrf_token": CSRF_TOKEN}  # fmt: skip
    assert client.post("/commissioning/delivery/submit", data=fields).status_code == 403
    assert client.get("/commissioning/delivery/submit").status_code == 403


def test_the_board_report_and_the_export(app: FastAPI, sessions: sessionmaker[Session]) -> None:
    client = client_as(app, "commissioner")
    report = client.get("/commissioning/delivery/report?quarter=2026-27 Q2")
    assert report.status_code == 200
    assert "Delivery of the primary care specification, 2026-27 Q2" in page_text(report.text)
    export = client.get("/commissioning/delivery.csv")
    assert export.status_code == 200
    assert export.text.splitlines()[0] == ",".join(delivery.EXPORT_COLUMNS)
    with sessions() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None and last.action == "export.delivery.submissions"


def test_the_cli_imports_lists_and_exports(
    settings: Settings, area_code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOINEDUP_HOME", str(settings.home))
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", settings.database_url)
    source = tmp_path / "plan.csv"
    source.write_text(
        "area_code,element_id,quarter,planned_percent,actual_percent,notes\n"
        f"{area_code},P1,2026-27 Q3,20,10,co-design panel\n"
        f"{area_code},P2,2026-27 Q3,abc,,\n"
    )
    runner = CliRunner()
    strict = runner.invoke(cli_app, ["delivery", "import", str(source), "--strict"])
    assert strict.exit_code == 1
    assert "planned % 'abc' is not a number" in strict.output
    assert "Nothing was loaded (--strict)" in strict.output

    loaded = runner.invoke(cli_app, ["delivery", "import", str(source)])
    assert loaded.exit_code == 1  # a line was rejected, the good one recorded
    listed = runner.invoke(cli_app, ["delivery", "list", "--element", "p1"])
    assert listed.exit_code == 0 and "co-design" not in listed.output
    assert f"{area_code}" in listed.output and "2026-27 Q3" in listed.output

    out = tmp_path / "out.csv"
    exported = runner.invoke(cli_app, ["delivery", "export", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert f"{area_code},P1,2026-27 Q3,20,10,co-design panel,1,csv," in out.read_text()
