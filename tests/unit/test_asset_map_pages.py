"""The directory's pages on the small area: the asset map searched by need and distance from a
postcode (results nearest first within the distance, the map and its table showing the same
places), a person's asset map from their home, the gaps, and recording signposting through the
form (a bad form says why and records nothing)."""

from __future__ import annotations

import math
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from joinedup.carestore.db import make_engine, session_factory
from joinedup.directory.synthetic import seed_directory
from joinedup.governance.users import add_user
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as
from tests.carestore_support import migrated
from tests.html_support import html_table, html_tables, page_text


@pytest.fixture(scope="module")
def app(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    url = f"sqlite:///{tmp_path_factory.mktemp('asset-map') / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    sync_organisations(PopulationStore(small_area.population_dir), sessions)
    settings = Settings(home=small_area.home, database_url=url)
    seed_directory(sessions, settings)
    return create_app(settings)


@pytest.fixture(scope="module")
def premises(small_area: Settings) -> list[dict[str, object]]:
    return list(PopulationStore(small_area.population_dir).metadata()["practices"])


def _client(app: FastAPI, role: str, organisations: tuple[str, ...] = ()) -> TestClient:
    sign_in_as(app, role, organisations=organisations)
    return TestClient(app, raise_server_exceptions=True, follow_redirects=False)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_search_from_a_practice_postcode_lists_services_nearest_first_within_the_distance(
    app: FastAPI, premises: list[dict[str, object]]
) -> None:
    practice = premises[0]
    client = _client(app, "care_navigator")
    answer = client.get("/directory", params={"postcode": practice["postcode"], "within_km": "2"})
    assert answer.status_code == 200
    distances = _distances(answer.text)
    assert distances and distances == sorted(distances) and max(distances) <= 2.0
    everything = client.get("/directory")
    assert _results(everything.text) > len(distances)  # the distance did narrow the list
    # The map marks each service found, the practices and neighbourhood centres, and the
    # origin; the table behind it lists exactly the same places.
    kinds = [row.data("kind") for row in html_table(answer.text, "map-places").body_rows]
    assert kinds.count("service") == len(distances)
    assert 1 <= kinds.count("practice") <= len(premises) and kinds.count("origin") == 1
    assert answer.text.count('class="asset-map__mark asset-map__mark--service"') == len(distances)
    assert f"Nearest first from {practice['postcode']}" in page_text(answer.text)


def _distances(html: str) -> list[float]:
    """The distances the results list shows, in its order."""
    return [float(km) for km in re.findall(r'<strong data-field="distance">([0-9.]+) km', html)]


def _results(html: str) -> int:
    return html.count('class="asset-results__item"')


def test_an_unplaceable_postcode_says_so_and_a_need_in_words_finds_by_category(
    app: FastAPI,
) -> None:
    client = _client(app, "receptionist")
    refused = client.get("/directory", params={"postcode": "not a postcode"})
    assert refused.status_code == 400 and "cannot be placed" in page_text(refused.text)
    found = client.get("/directory", params={"need": "money"})
    names = page_text(found.text)
    assert "Money and Debt Advice" in names or "0 services found" in names


def test_a_persons_asset_map_measures_from_their_home(app: FastAPI, small_area: Settings) -> None:
    store = PopulationStore(small_area.population_dir)
    person = next(p for pid in range(1, 200) if (p := find_person(store, pid)) and p.practice_code)
    assert person.practice_code is not None
    sessions = session_factory(make_engine(app.state.settings.database_url))
    gp, _ = add_user(sessions, "asset-gp", "Asset GP", "gp", [person.practice_code], actor="test")
    sign_in_as(app, principal("gp", user_id=gp.id, organisations=(person.practice_code,)))
    client = TestClient(app, raise_server_exceptions=True, follow_redirects=False)
    answer = client.get(f"/people/{person.person_id}/asset-map")
    assert answer.status_code == 200 and "no-store" in answer.headers["cache-control"]
    assert "Nearest first from the person's home" in page_text(answer.text)


def test_gaps_page_lists_each_neighbourhoods_needs_with_no_service_near(app: FastAPI) -> None:
    client = _client(app, "commissioner")
    wide = client.get("/directory/gaps", params={"within_km": "100"})
    narrow = client.get("/directory/gaps", params={"within_km": "0.5"})
    assert wide.status_code == narrow.status_code == 200
    assert len(_gap_rows(wide.text)) < len(_gap_rows(narrow.text))
    assert client.get("/directory/gaps", params={"within_km": "-1"}).status_code == 400


def _gap_rows(html: str) -> list[str]:
    return [
        row.data("need") or ""
        for table in html_tables(html)
        for row in table.body_rows
        if row.data("need")
    ]


def test_recording_signposting_through_the_form(
    app: FastAPI, premises: list[dict[str, object]]
) -> None:
    hood = str(premises[0]["neighbourhood"])
    client = _client(app, "care_navigator", (hood,))
    form = client.get("/directory/navigation/record", params={"practice_service": "pharmacy"})
    assert form.status_code == 200
    need = _selected(form.text, "signpost-need")
    assert need, "the practice service's need is preselected"
    fields = {
        "csrf_token": CSRF_TOKEN,
        "practice_service": "pharmacy",
        "practice_code": str(premises[0]["code"]),
        "need_term_id": need,
    }
    bad = client.post("/directory/navigation/record", data=fields)
    assert bad.status_code == 400 and "Choose what happened" in page_text(bad.text)
    done = client.post("/directory/navigation/record", data={**fields, "outcome": "signposted"})
    assert done.status_code == 303 and done.headers["location"] == "/directory/navigation"
    shown = client.get("/directory/navigation")
    rows = html_table(shown.text, "recent-signposting").body_rows
    assert len(rows) == 1 and "Community pharmacist" in rows[0].cells[3].text
    report = html_table(shown.text, "signposting-report").body_rows
    totals = [c.text for r in report for c in r.cells if c.data("figure") == "total"]
    assert totals == ["withheld"]  # one signposting: counts of 1–7 are withheld


def _selected(html: str, select_id: str) -> str:
    select = html[html.index(f'id="{select_id}"') :]
    chosen = re.search(r'<option value="([^"]*)" selected>', select[: select.index("</select>")])
    return chosen.group(1) if chosen else ""
