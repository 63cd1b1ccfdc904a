"""Score distributions by practice and neighbourhood: figures, suppression, objectors, export.

The figures are checked against an independent pandas computation from the run's
person_results.parquet, less the objectors, with small-number suppression written out again
here; the page and the CSV against the service; the CSV against its permission and the audit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import score_distributions as sd
from joinedup.analytics.stratify import StratificationRun, latest_run, stratify
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import Objection
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import sign_in_as
from tests.carestore_support import migrated
from tests.html_support import Cell, html_tables, page_text

#: The person-results column and the categories of each score, written out independently.
CATEGORISE = {
    "efi": lambda p: p["efi_category"],
    "hfrs": lambda p: p["hfrs_category"],
    "charlson": lambda p: p["charlson_score"].map(
        lambda v: "0" if v == 0 else "1-2" if v <= 2 else "3-4" if v <= 4 else "5+"
    ),
    "cms": lambda p: p["cms_score"].map(
        lambda v: "0" if v == 0 else "under-1" if v < 1 else "1-2" if v < 2 else "2+"
    ),
    "ltc": lambda p: p["ltc_count"].map(
        lambda v: "0" if v == 0 else "1" if v == 1 else "2-3" if v <= 3 else "4+"
    ),
}
MEAN_COLUMN = {
    "efi": "efi_score",
    "hfrs": "hfrs_score",
    "charlson": "charlson_score",
    "cms": "cms_score",
    "ltc": "ltc_count",
}
OBJECTOR_COUNT = 40


@pytest.fixture(scope="module")
def home(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("scores")
    settings = Settings(home=root, database_url=f"sqlite:///{root / 'care.db'}")
    shutil.copytree(small_area.population_dir, settings.population_dir)
    stratify(settings)
    migrated(settings.database_url)
    return settings


@pytest.fixture(scope="module")
def run(home: Settings) -> StratificationRun:
    found = latest_run(home)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def sessions(home: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(home.database_url))


@pytest.fixture(scope="module")
def objectors(run: StratificationRun, sessions: sessionmaker[Session]) -> frozenset[int]:
    """Objections for the 40 oldest people (who weigh most on frailty), and one withdrawn."""
    people = run.person_results(["person_id", "age"]).to_pandas()
    oldest = people.sort_values(["age", "person_id"], ascending=False)["person_id"]
    chosen = [int(p) for p in oldest.iloc[:OBJECTOR_COUNT]]
    withdrawn = int(oldest.iloc[OBJECTOR_COUNT])
    now = dt.datetime.now(dt.UTC)
    with sessions() as session, session.begin():
        for person_id in chosen:
            session.add(
                Objection(
                    person_id=person_id,
                    kind="type_1",
                    source="recorded",
                    recorded_at=now,
                    recorded_by="test",
                )
            )
        session.add(
            Objection(
                person_id=withdrawn,
                kind="type_1",
                source="recorded",
                recorded_at=now,
                recorded_by="test",
                withdrawn_at=now,
            )
        )
    return frozenset(chosen)


def _client(home: Settings, role: str) -> TestClient:
    app = create_app(home)
    sign_in_as(app, role)
    return TestClient(app)


@pytest.fixture(scope="module")
def commissioner(home: Settings, objectors: frozenset[int]) -> TestClient:
    return _client(home, "commissioner")


@pytest.fixture(scope="module")
def gp(home: Settings, objectors: frozenset[int]) -> TestClient:
    return _client(home, "gp")


def _shown(count: int) -> int | None:
    """Small-number suppression, written out again: 0; 1-7 withheld; else nearest 5."""
    return 0 if count == 0 else None if count < 8 else 5 * math.floor(count / 5 + 0.5)


def _expected(
    run: StratificationRun, objectors: frozenset[int], score: str, level: str
) -> dict[str, dict[str, object]]:
    """Group → published people, per-category count and share, and mean, from pandas."""
    people = pd.read_parquet(run.path / "person_results.parquet")
    people = people[~people["person_id"].isin(objectors)]
    if score == "efi":
        people = people[people["age"] >= 65]
    people = people.assign(category=CATEGORISE[score](people))
    key = "neighbourhood_code" if level == "neighbourhood" else "practice_code"
    groups = {"area:area": people}
    for code, members in people.groupby(people[key].fillna("")):
        groups[f"{level}:{code}"] = members
    expected = {}
    for name, members in groups.items():
        total = len(members)
        shown_total = _shown(total)
        figures: dict[str, object] = {"people": shown_total}
        for category in sd.SCORES[score].categories:
            n = int((members["category"] == category.id).sum())
            shown = _shown(n)
            figures[category.id] = shown
            figures[f"{category.id}_share"] = (
                None if shown is None or not shown_total else shown / shown_total
            )
        mean = members[MEAN_COLUMN[score]].mean()
        figures["mean"] = None if 0 < total < 8 else float(mean)
        expected[name] = figures
    return expected


@pytest.mark.parametrize("score", list(sd.SCORES))
@pytest.mark.parametrize("level", sd.LEVELS)
def test_figures_equal_an_independent_computation_less_objectors(
    home: Settings, run: StratificationRun, objectors: frozenset[int], score: str, level: str
) -> None:
    result = sd.score_distributions(home, objectors, score, level)
    assert result is not None
    expected = _expected(run, objectors, score, level)
    found = {f"{g.level}:{g.code}": g for g in [result.area, *result.groups]}
    assert set(found) == set(expected)
    for name, group in found.items():
        want = expected[name]
        assert group.people == want["people"], name
        for figure in group.categories:
            assert figure.people == want[figure.category.id], (name, figure.category.id)
            assert figure.share == pytest.approx(want[f"{figure.category.id}_share"]), name
        if want["mean"] is None:
            assert group.mean is None
        else:
            assert group.mean == pytest.approx(want["mean"]), name


def test_objectors_change_the_figures(
    home: Settings, run: StratificationRun, objectors: frozenset[int]
) -> None:
    with_all = sd.score_distributions(home, frozenset(), "efi", "practice")
    without = sd.score_distributions(home, objectors, "efi", "practice")
    assert with_all is not None and without is not None
    people = run.person_results(["age"]).to_pandas()
    assert with_all.area.people == _shown(int((people["age"] >= 65).sum()))
    assert without.area.people == _shown(int((people["age"] >= 65).sum()) - OBJECTOR_COUNT)
    assert without.area.people != with_all.area.people
    assert without.objectors_left_out == _shown(OBJECTOR_COUNT)
    assert with_all.objectors_left_out == 0


def test_efi_counts_only_people_aged_65_and_over(
    home: Settings, run: StratificationRun, objectors: frozenset[int]
) -> None:
    result = sd.score_distributions(home, objectors, "efi", "neighbourhood")
    ltc = sd.score_distributions(home, objectors, "ltc", "neighbourhood")
    assert result is not None and ltc is not None
    assert result.area.people is not None and ltc.area.people is not None
    assert result.area.people < ltc.area.people / 2  # most of the area is under 65


def test_practices_are_sorted_by_the_share_in_the_worst_categories(
    home: Settings, objectors: frozenset[int]
) -> None:
    for score in sd.SCORES:
        result = sd.score_distributions(home, objectors, score, "practice")
        assert result is not None
        shares = [g.worst_share for g in result.groups if g.worst_share is not None]
        assert shares == sorted(shares, reverse=True), score
        assert len(set(shares)) > 1, score  # the sort is doing something


def _cells(page: str) -> list[Cell]:
    """Every table cell of the page, in order."""
    return [cell for table in html_tables(page) for row in table.rows for cell in row.cells]


def _displayed_counts(page: str) -> list[str]:
    counted = [c for c in _cells(page) if c.tag == "td" and c.data("count")]
    return [c.text.split(" (")[0] for c in counted]


@pytest.mark.parametrize("score", list(sd.SCORES))
def test_every_displayed_count_is_zero_withheld_or_a_multiple_of_five(
    commissioner: TestClient, score: str
) -> None:
    for level in sd.LEVELS:
        response = commissioner.get(f"/population/scores?score={score}&level={level}")
        assert response.status_code == 200
        counts = _displayed_counts(response.text)
        assert counts, "no counts on the page"
        for text in counts:
            assert text == "withheld" or int(text.replace(",", "")) % 5 == 0, text
        objectors = re.search(r'data-figure="objectors">([^<]*)<', response.text)
        assert objectors, "the page does not say how many objectors were left out"
        shown = objectors.group(1)
        assert shown == "withheld" or int(shown.replace(",", "")) % 5 == 0, shown


def test_the_page_shows_the_services_figures_and_the_suppression_note(
    commissioner: TestClient, home: Settings, objectors: frozenset[int]
) -> None:
    response = commissioner.get("/population/scores?score=charlson&level=practice")
    result = sd.score_distributions(home, objectors, "charlson", "practice")
    assert result is not None
    page = response.text
    assert "Counts of 1 to 7 are withheld" in page_text(page)
    rows_of = (r for t in html_tables(page) for r in t.rows)
    groups = [r for r in rows_of if (r.data("group") or "").startswith("practice:")]
    rows = [r.attrs["data-group"].removeprefix("practice:") for r in groups]
    assert rows == [g.code for g in result.groups]  # in the service's (worst-first) order
    first = result.groups[0]
    row = next(r for r in groups if r.attrs["data-group"] == f"practice:{first.code}")
    shown = {c.attrs["data-count"]: c.text.split(" (")[0] for c in row.cells if c.data("count")}
    assert shown["people"] == f"{first.people:,}"
    for figure in first.categories:
        want = "withheld" if figure.people is None else f"{figure.people:,}"
        assert shown[figure.category.id] == want
    assert "style=" not in page and "<script>" not in page


def test_efi_page_says_it_is_for_people_aged_65_and_over(commissioner: TestClient) -> None:
    page = page_text(commissioner.get("/population/scores").text)
    assert "aged 65 and over" in page


def test_htmx_gets_only_the_part_that_changes(commissioner: TestClient) -> None:
    response = commissioner.get(
        "/population/scores?score=hfrs&level=neighbourhood", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="score-distributions"' in response.text
    assert response.headers["HX-Push-Url"] == "/population/scores?score=hfrs&level=neighbourhood"
    assert 'data-group="neighbourhood:' in response.text


def test_an_unknown_score_is_not_found(commissioner: TestClient) -> None:
    assert commissioner.get("/population/scores?score=nonsense").status_code == 404
    assert commissioner.get("/population/scores?level=street").status_code == 404


def test_csv_export_holds_the_same_suppressed_figures_and_is_audited(
    commissioner: TestClient,
    home: Settings,
    objectors: frozenset[int],
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        before = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.population.scores")
        ).all()
    response = commissioner.get("/population/scores.csv?score=ltc&level=neighbourhood")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    result = sd.score_distributions(home, objectors, "ltc", "neighbourhood")
    assert result is not None
    expected = {
        (g.level, g.code, f.category.id): f.people
        for g in [result.area, *result.groups]
        for f in g.categories
    }
    found = {
        (r["level"], r["code"], r["category"]): (int(r["people"]) if r["people"] else None)
        for r in rows
    }
    assert found == expected
    for r in rows:
        assert r["people"] == "" or int(r["people"]) % 5 == 0
    with sessions() as session:
        after = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.population.scores")
        ).all()
    assert len(after) == len(before) + 1
    event = after[-1]
    assert event.actor_role == "commissioner"
    assert event.detail["score"] == "ltc" and event.detail["level"] == "neighbourhood"


def test_csv_export_needs_the_export_permission(gp: TestClient) -> None:
    assert gp.get("/population/scores").status_code == 200  # a GP may see the page...
    page = gp.get("/population/scores").text
    assert 'id="download-csv"' not in page  # ...without the download button
    assert gp.get("/population/scores.csv").status_code == 403


def test_without_a_run_the_page_says_how_to_make_one(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("no-run")
    settings = Settings(home=root, database_url=f"sqlite:///{root / 'care.db'}")
    migrated(settings.database_url)
    client = _client(settings, "commissioner")
    response = client.get("/population/scores")
    assert response.status_code == 200
    assert "joinedup stratify" in response.text
    assert client.get("/population/scores.csv").status_code == 404
