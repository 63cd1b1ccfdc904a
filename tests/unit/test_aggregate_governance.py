"""Aggregates obey information governance: objectors left out, small numbers suppressed.

The overview, its API, the segments-and-cost page and both CSV exports are checked against
independent computations (plain Python over the population store's Parquet files, pandas over
the run's person results) with objections recorded for chosen people of the small area.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import StratificationRun, latest_run, stratify
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.objections import import_objections, record_objection
from joinedup.governance.suppression import SUPPRESSION_NOTE
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal, signed_in_app
from tests.carestore_support import migrated
from tests.html_support import html_table, html_tables

GP = principal("gp")
SEGMENTS = "/population/segments"


# --- fixtures: one stratified copy of the small area; a fresh care store per test -------------


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small area's home with one stratification run in it."""
    home = tmp_path_factory.mktemp("governed")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'unused.db'}")
    shutil.copytree(small_area.population_dir, settings.population_dir)
    stratify(settings)
    return home


@pytest.fixture(scope="module")
def run(area: Path) -> StratificationRun:
    found = latest_run(Settings(home=area, database_url=""))
    assert found is not None
    return found


@pytest.fixture(scope="module")
def results(run: StratificationRun) -> pd.DataFrame:
    return pd.read_parquet(run.path / "person_results.parquet")


@pytest.fixture
def settings(area: Path, tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'care.db'}"
    migrated(url)
    return Settings(home=area, database_url=url)


@pytest.fixture
def sessions(settings: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(settings.database_url))


def client(settings: Settings, role: str = "commissioner") -> TestClient:
    return TestClient(signed_in_app(settings, role))


# --- independent computations ------------------------------------------------------------------


def shown(count: int) -> int | None:
    """The suppression rule written out again: 0; 1 to 7 withheld; else to the nearest 5."""
    return 0 if count == 0 else None if count < 8 else 5 * math.floor(count / 5 + 0.5)


def count_text(count: int) -> str:
    value = shown(count)
    return "withheld" if value is None else f"{value:,}"


def csv_count(count: int) -> str:
    value = shown(count)
    return "withheld" if value is None else str(value)


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def registered(root: Path) -> dict[int, dict[str, object]]:
    """Everyone registered and alive at the end of the extract date, by person_id, with their
    practice (the registration that started last) and sex: plain Python over the Parquet."""
    extract = date.fromisoformat(str(PopulationStore(root).metadata()["extract_date"])[:10])
    latest: dict[int, dict[str, object]] = {}
    for reg in pq.read_table(root / "registrations.parquet").to_pylist():
        if reg["start_date"] <= extract and (reg["end_date"] is None or reg["end_date"] > extract):
            held = latest.get(reg["person_id"])
            if held is None or reg["start_date"] > held["start_date"]:  # type: ignore[operator]
                latest[reg["person_id"]] = reg
    people = {}
    for p in pq.read_table(root / "patients.parquet").to_pylist():
        died = p["date_of_death"]
        if (
            p["person_id"] in latest
            and p["date_of_birth"] <= extract
            and not (died and died <= extract)
        ):
            people[p["person_id"]] = {
                "practice": latest[p["person_id"]]["practice_code"],
                "sex": p["sex"],
            }
    return people  # fmt: skip


def top_share(costs: pd.Series, percent: int) -> float:
    ranked = costs.sort_values(ascending=False)
    return float(ranked.iloc[: math.ceil(len(ranked) * percent / 100)].sum() / ranked.sum())


def table(page: str, table_id: str) -> dict[str, dict[str, str]]:
    """Rows of a table by data key; each cell by its data-figure or data-top."""
    return html_table(page, table_id).keyed(("segment", "key"), ("figure", "top"))


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found, name
    return found.group(1)


def read_csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def is_published_count(value: str) -> bool:
    """0, "withheld", or a multiple of 5 of at least 10."""
    if value == "withheld":
        return True
    number = int(value.replace(",", ""))
    return number == 0 or (number >= 10 and number % 5 == 0)


# --- objectors vanish --------------------------------------------------------------------------


def test_objectors_vanish_from_the_overview_its_api_and_its_csv(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    people = registered(settings.population_dir)
    by_practice = Counter(str(p["practice"]) for p in people.values())
    big = max(by_practice, key=lambda code: by_practice[code])
    chosen = [pid for pid, p in people.items() if p["practice"] == big][::50][:23]
    web = client(settings)

    before = web.get("/api/population/overview").json()
    for person_id in chosen:
        record_objection(sessions, GP, person_id, "national_data_opt_out")
    after = web.get("/api/population/overview").json()

    assert before["total"] == shown(len(people)) and before["objectors_left_out"] == 0
    assert after["total"] == shown(len(people) - 23)
    assert after["objectors_left_out"] == shown(23) == 25
    practices = {row["key"]: row["count"] for row in after["by_practice"]}
    assert practices[big] == shown(by_practice[big] - 23)
    assert {row["key"]: row["count"] for row in before["by_practice"]}[big] == shown(
        by_practice[big]
    )
    sexes = Counter(str(p["sex"]) for pid, p in people.items() if pid not in set(chosen))
    assert {r["key"]: r["count"] for r in after["by_sex"]} == {
        k: shown(n) for k, n in sexes.items()
    }

    page = web.get("/").text
    assert figure(page, "total") == count_text(len(people) - 23)
    assert figure(page, "objectors_left_out") == "25"
    assert SUPPRESSION_NOTE in page

    exported = read_csv(web.get("/population/overview.csv").text)
    rows = {(r["breakdown"], r["key"]): r for r in exported}
    assert rows[("total", "")]["people"] == csv_count(len(people) - 23)
    assert rows[("objectors_left_out", "")]["people"] == "25"
    assert rows[("practice", big)]["people"] == csv_count(by_practice[big] - 23)


def test_objectors_vanish_from_segments_pareto_and_the_segments_csv(
    settings: Settings, sessions: sessionmaker[Session], results: pd.DataFrame
) -> None:
    costliest = int(results.sort_values("cost_12m", ascending=False).iloc[0]["person_id"])
    middling = results[results["bridges_to_health"] == "acutely_ill"]["person_id"].head(30)
    chosen = {costliest, *(int(p) for p in middling)}
    web = client(settings)
    area_before = table(web.get(SEGMENTS).text, "segments-bridges_to_health")

    for person_id in chosen:
        record_objection(sessions, GP, person_id, "type_1")
    page = web.get(SEGMENTS).text

    left = results[~results["person_id"].isin(chosen)]
    assert figure(page, "objectors_left_out") == count_text(len(chosen))
    segments = table(page, "segments-bridges_to_health")
    ill_before = (results["bridges_to_health"] == "acutely_ill").sum()
    ill_after = left[left["bridges_to_health"] == "acutely_ill"]
    assert area_before["acutely_ill"]["people"] == count_text(int(ill_before))
    assert segments["acutely_ill"]["people"] == count_text(len(ill_after))
    assert segments["acutely_ill"]["total_cost"] == f"£{ill_after['cost_12m'].sum():,.0f}"
    assert segments["acutely_ill"]["cost_share"] == pct(
        ill_after["cost_12m"].sum() / left["cost_12m"].sum()
    )
    for pct_top in (1, 2, 5, 10):
        card = re.search(
            rf'<li[^>]*data-top="{pct_top}".*?data-figure="share">([^<]+)<', page, re.S
        )
        assert card and card.group(1) == pct(top_share(left["cost_12m"], pct_top))
    practices = table(page, "pareto-practices")
    for code, group in left.groupby("practice_code"):
        assert practices[str(code)]["people"] == count_text(len(group))
        assert practices[str(code)]["1"] == pct(top_share(group["cost_12m"], 1))

    exported = read_csv(web.get("/population/segments.csv").text)
    area_row = next(
        r for r in exported if r["table"] == "cost_concentration" and r["level"] == "area"
    )
    assert area_row["people"] == csv_count(len(left))
    assert area_row["top_1_percent_cost_share"] == f"{100 * top_share(left['cost_12m'], 1):.1f}"
    ill = next(r for r in exported if r["table"] == "segment" and r["code"] == "acutely_ill")
    assert ill["people"] == csv_count(len(ill_after))
    assert ill["total_cost"] == f"{ill_after['cost_12m'].sum():.2f}"


# --- small numbers -----------------------------------------------------------------------------


def test_a_segment_left_with_a_few_people_has_its_figures_withheld(
    settings: Settings, sessions: sessionmaker[Session], results: pd.DataFrame
) -> None:
    sizes = results["bridges_to_health"].value_counts()
    segment = str(sizes[(sizes >= 12) & (sizes <= 300)].index[-1])  # the smallest of 12 to 300
    members = results[results["bridges_to_health"] == segment]["person_id"].tolist()
    rows = [{"person_id": str(p), "kind": "type_1"} for p in members[4:]]  # 4 people stay
    import_objections(sessions, GP, rows, store=PopulationStore(settings.population_dir))
    web = client(settings)

    row = table(web.get(SEGMENTS).text, "segments-bridges_to_health")[segment]
    exported = read_csv(web.get("/population/segments.csv").text)

    assert row == {
        "people": "withheld",
        "people_share": "withheld",
        "total_cost": "withheld",
        "cost_share": "withheld",
        "cost_per_person": "withheld",
    }
    [csv_row] = [r for r in exported if r["table"] == "segment" and r["code"] == segment]
    assert csv_row["people"] == csv_row["total_cost"] == csv_row["cost_per_person"] == "withheld"


def test_a_practice_left_with_a_few_people_is_withheld_everywhere(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    people = registered(settings.population_dir)
    by_practice = Counter(str(p["practice"]) for p in people.values())
    small = min(by_practice, key=lambda code: by_practice[code])
    members = sorted(pid for pid, p in people.items() if p["practice"] == small)
    rows = [{"person_id": str(p), "kind": "national_data_opt_out"} for p in members[5:]]
    import_objections(sessions, "test-import", rows, store=PopulationStore(settings.population_dir))
    web = client(settings)

    api = {r["key"]: r["count"] for r in web.get("/api/population/overview").json()["by_practice"]}
    overview_csv = read_csv(web.get("/population/overview.csv").text)
    pareto = table(web.get(SEGMENTS).text, "pareto-practices")[small]
    segments_csv = read_csv(web.get("/population/segments.csv").text)

    assert api[small] is None
    [row] = [r for r in overview_csv if r["breakdown"] == "practice" and r["key"] == small]
    assert row["people"] == row["share_percent"] == "withheld"
    assert set(pareto.values()) == {"withheld"}  # people, cost and every top share
    [practice] = [r for r in segments_csv if r["level"] == "practice" and r["code"] == small]
    assert practice["people"] == practice["total_cost"] == "withheld"
    assert practice["top_10_percent_cost_share"] == "withheld"


def test_every_count_shown_is_suppressed_and_shares_come_from_rounded_counts(
    settings: Settings, sessions: sessionmaker[Session], results: pd.DataFrame
) -> None:
    some = results["person_id"].iloc[::37].tolist()  # objectors, to make the counts irregular
    for person_id in some:
        record_objection(sessions, GP, int(person_id), "type_1")
    web = client(settings)
    overview, segments = web.get("/").text, web.get(SEGMENTS).text

    numeric_cells = [
        cell.text
        for page in (overview, segments)
        for table in html_tables(page)
        for row in table.rows
        for cell in row.cells
        if cell.tag == "td"
        and cell.attrs.get("class", "").startswith("nhsuk-table__cell nhsuk-table__cell--numeric")
    ]
    counts = [c for c in numeric_cells if not re.search(r"[%£–]", c)]
    assert len(counts) >= 30  # every people column of both pages
    assert all(is_published_count(c) for c in counts), counts
    for name in ("total", "objectors_left_out"):
        assert is_published_count(figure(overview, name))
    for name in ("top_people", "area_people", "objectors_left_out"):
        assert is_published_count(figure(segments, name))
    for value in re.findall(r'class="joinedup-chart__value"[^>]*>([\d,]+) \(', overview):
        assert is_published_count(value)

    total = int(figure(overview, "total").replace(",", ""))
    age = html_table(overview, caption="Registered population by age band")
    for row in age.rows:
        for number, percent in zip(row.cells, row.cells[1:], strict=False):
            count, share = number.text, percent.text
            numeric = "numeric" in number.attrs.get("class", "")
            if numeric and re.fullmatch(r"[\d,]+", count) and re.fullmatch(r"[\d.]+%", share):
                assert share == pct(int(count.replace(",", "")) / total)

    for row in read_csv(web.get("/population/overview.csv").text):
        assert is_published_count(row["people"]), row
        if row["people"] not in ("withheld", "0") and row["share_percent"]:
            assert row["share_percent"] == f"{100 * int(row['people']) / total:.1f}"
    for row in read_csv(web.get("/population/segments.csv").text):
        for column in ("people", *(f"top_{p}_percent_people" for p in (1, 2, 5, 10))):
            if row[column]:
                assert is_published_count(row[column]), (column, row)


# --- exports -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/population/overview.csv", "/population/segments.csv"])
def test_exports_need_the_export_permission_and_are_audited(
    settings: Settings, sessions: sessionmaker[Session], path: str
) -> None:
    what = "population.overview" if "overview" in path else "population.segments"

    refused = client(settings, "gp").get(path)
    answered = client(settings, "commissioner").get(path)

    assert refused.status_code == 403
    assert answered.status_code == 200
    assert answered.headers["content-type"].startswith("text/csv")
    assert "attachment" in answered.headers["content-disposition"]
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == f"export.{what}")
        ).all()
    assert [(e.actor, e.actor_role) for e in events] == [("test-commissioner", "commissioner")]
    assert events[0].purpose.startswith("commissioning")


def test_export_links_show_only_for_users_who_may_export(settings: Settings) -> None:
    for role, expected in (("commissioner", True), ("gp", False)):
        web = client(settings, role)
        assert ('id="overview-csv"' in web.get("/").text) is expected, role
        assert ('id="segments-csv"' in web.get(SEGMENTS).text) is expected, role
