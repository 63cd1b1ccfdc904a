"""The directory in the care store (SQLite and PostgreSQL): imports are idempotent and audited,
--strict commits nothing, a malformed file loses nothing but its bad records, an export
re-imports unchanged, and the public Open Referral UK API answers with documents that validate
against the ORUK schema files, paged, searched and ordered by distance as an independent
computation says."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.carestore.models import AuditEvent
from joinedup.cli import app as cli_app
from joinedup.directory import models as m
from joinedup.directory.importer import SourceFile, import_directory
from joinedup.directory.services import export_page
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.directory_support import (
    OTHER_TERM_ID,
    TAXONOMY_ID,
    TERM_ID,
    OrukSchemas,
    as_bytes,
    oruk_schemas,
    page,
    service,
    term,
    uid,
)


@pytest.fixture(scope="module")
def schemas(shared_dir: Path) -> OrukSchemas:
    return oruk_schemas(shared_dir)


def _load(
    sessions: sessionmaker[Session], value: Any, *, strict: bool = False, name: str = "f.json"
):  # type: ignore[no-untyped-def]
    return import_directory(
        sessions, "tester", [SourceFile(name, as_bytes(value))], source_name=name, strict=strict
    )


def _count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _audit(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action.like("directory.%"))).all()
        )


# --- import -----------------------------------------------------------------------------------


def test_an_import_is_one_audited_batch_and_the_same_content_again_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    first = _load(sessions, page([service(1), service(2, "Walking Group")]))
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, [])
    assert _count(sessions, m.DirectoryService) == 2
    assert _count(sessions, m.DirectoryOrganization) == 1  # nested twice, stored once
    assert _count(sessions, m.DirectoryTaxonomyTerm) == 1
    assert _count(sessions, m.DirectoryTaxonomy) == 1
    [event] = _audit(sessions)
    assert (event.action, event.entity_id, event.actor) == ("directory.import", "1", "tester")
    assert event.detail["created"] == 2

    again = _load(sessions, [service(2, "Walking Group"), service(1)])  # a list, other order
    assert again.no_changes and (again.created, again.updated, again.unchanged) == (0, 0, 2)

    changed = service(1)
    changed["schedules"][0]["byday"] = "TH,FR"
    changed["organization"]["description"] = "A fictional charity, renamed."
    update = _load(sessions, changed)
    assert (update.created, update.updated, update.unchanged) == (0, 1, 0)
    assert update.shared_written == 1  # the organisation
    with sessions() as session:
        stored = session.get(m.DirectoryService, uid(1))
        assert stored is not None and [s.byday for s in stored.schedules] == ["TH,FR"]
        org = session.get(m.DirectoryOrganization, stored.organization_id)
        assert org is not None and org.description.endswith("renamed.")
    assert _count(sessions, m.DirectorySchedule) == 2  # replaced, not added


def test_strict_commits_nothing_when_any_record_is_rejected(
    sessions: sessionmaker[Session],
) -> None:
    bad = service(3)
    bad["status"] = "open"
    report = _load(sessions, page([service(1), bad]), strict=True)
    assert not report.committed and report.loaded == 0 and len(report.rejected) == 1
    for model in (m.DirectoryService, m.DirectoryOrganization, m.DirectoryImportBatch):
        assert _count(sessions, model) == 0
    assert _audit(sessions) == []


def test_a_malformed_file_rejects_each_bad_record_and_loses_nothing_else(
    sessions: sessionmaker[Session],
) -> None:
    _load(sessions, service(1))  # already in the directory
    clash = service(5)
    clash["schedules"][0]["id"] = uid(103)  # service 1's schedule
    unknown_term = service(6)
    unknown_term["attributes"] = [{"id": uid(9601), "taxonomy_term_id": uid(9999)}]
    unknown_taxonomy = service(7)
    unknown_taxonomy["attributes"][0]["taxonomy_term"] = term(OTHER_TERM_ID) | {
        "taxonomy_id": uid(8888)
    }
    del unknown_taxonomy["attributes"][0]["taxonomy_term"]["taxonomy"]
    unknown_org = service(8)
    del unknown_org["organization"]
    unknown_org["organization_id"] = uid(7777)
    other_org = service(9)
    other_org["organization"]["name"] = "Another name for the same organisation"
    wrong_type = service(10)
    wrong_type["maximum_age"] = "sixty"
    by_reference = service(11)  # refers to things already known, by id only
    by_reference["attributes"] = [{"id": uid(1108), "taxonomy_term_id": TERM_ID}]
    by_reference["service_at_locations"] = [{"id": uid(1109), "location_id": uid(101)}]
    del by_reference["organization"]
    by_reference["organization_id"] = service(1)["organization"]["id"]
    records = [
        service(2),
        service(2),  # the same id twice
        clash,
        unknown_term,
        unknown_taxonomy,
        service(3),
        unknown_org,
        other_org,
        wrong_type,
        by_reference,
        service(4),
    ]
    report = _load(sessions, page(records))
    reasons = [r.reason for r in report.rejected]
    assert (report.created, report.unchanged) == (4, 0), reasons
    expected = [
        "appears twice in the import",
        f"the schedule id {uid(103)} already belongs to {uid(1)}",
        f"taxonomy term {uid(9999)} is not known (bad taxonomy reference)",
        f"taxonomy {uid(8888)}, which is not known and not named (bad taxonomy reference)",
        f"organization {uid(7777)} is not known",
        "organization 0d3c2a6e-5f4b-4c1d-9e8f-7a6b5c4d3e2f differs from the one at line",
        "maximum_age: Input should be a valid number",
    ]
    assert len(reasons) == len(expected)
    for words, reason in zip(expected, reasons, strict=True):
        assert words in reason, (words, reason)
    with sessions() as session:
        ids = set(session.scalars(select(m.DirectoryService.id)))
    assert ids == {uid(1), uid(2), uid(3), uid(4), uid(11)}


def test_a_folder_of_pages_with_a_truncated_page_loads_every_readable_record(
    sessions: sessionmaker[Session],
) -> None:
    whole = as_bytes(page([service(1), service(2)]))
    truncated = as_bytes(page([service(3), service(1), service(4)]))  # service 1 again
    cut = truncated.index(uid(4).encode()) + 5
    report = import_directory(
        sessions,
        "tester",
        [SourceFile("page-1.json", whole), SourceFile("page-2.json", truncated[:cut])],
        source_name="pages",
    )
    assert report.created == 3
    broken, twice = report.rejected
    assert broken.reason.startswith("page-2.json: the JSON breaks at line")
    assert twice.reason.startswith(f"page-2.json: service {uid(1)}: appears twice")


def test_an_export_reimports_with_no_changes(
    sessions: sessionmaker[Session], schemas: OrukSchemas
) -> None:
    _load(sessions, page([service(i) for i in range(1, 5)]))
    exported = export_page(sessions)
    assert exported["total_items"] == 4
    assert schemas.page_errors(schemas.service, exported) == []
    again = _load(sessions, exported, name="export.json")
    assert again.no_changes and again.unchanged == 4


# --- the API ----------------------------------------------------------------------------------

#: Services around a point, with their distances worked out independently below.
ORIGIN = (53.0, -1.5)
PLACES = {
    1: ("Community Larder", (53.010, -1.500), TERM_ID),
    2: ("Walking Group", (53.000, -1.530), OTHER_TERM_ID),
    3: ("Debt Advice Larder Line", (53.050, -1.450), TERM_ID),
    4: ("Carers Circle", (52.990, -1.505), OTHER_TERM_ID),
    5: ("Job Club", (53.200, -1.500), TERM_ID),
    6: ("Chair Yoga", (53.004, -1.497), OTHER_TERM_ID),
    7: ("Memory Cafe", None, OTHER_TERM_ID),
}


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Spherical law of cosines: independent of the haversine the service uses."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
        lon2 - lon1
    )
    return 6371.0088 * math.acos(min(1.0, cosine))


@pytest.fixture
def api(care_store: str, sessions: sessionmaker[Session], tmp_path: Path) -> TestClient:
    records = []
    for n, (name, point, term_id) in PLACES.items():
        lat, lon = point if point else (None, None)
        records.append(service(n, name, lat=lat, lon=lon, term_id=term_id))
    records[-1]["service_at_locations"][0]["location"]["location_type"] = "virtual"
    report = _load(sessions, page(records))
    assert report.created == len(PLACES), report.rejected
    return TestClient(create_app(Settings(home=tmp_path, database_url=care_store)))


def _all_pages(api: TestClient, path: str, per_page: int, **params: Any) -> list[dict[str, Any]]:
    pages, number = [], 1
    while True:
        response = api.get(path, params={**params, "page": number, "per_page": per_page})
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if pages[-1]["last_page"]:
            return pages
        number += 1


def test_the_api_is_public_and_every_answer_validates_against_the_oruk_schemas(
    api: TestClient, schemas: OrukSchemas
) -> None:
    root = api.get("/api/oruk/")
    assert root.status_code == 200 and root.json()["version"] == "3.0"
    services = api.get("/api/oruk/services").json()
    assert services["total_items"] == len(PLACES)
    assert schemas.page_errors(schemas.service_list_item, services) == []
    for item in services["contents"]:
        full = api.get(f"/api/oruk/services/{item['id']}")
        assert full.status_code == 200
        assert schemas.errors(schemas.service, full.json()) == []
    at_locations = api.get("/api/oruk/service_at_locations").json()
    assert at_locations["total_items"] == len(PLACES)
    assert schemas.page_errors(schemas.service_at_location_list_item, at_locations) == []
    taxonomies = api.get("/api/oruk/taxonomies").json()
    assert schemas.page_errors(schemas.taxonomy, taxonomies) == []
    [taxonomy] = taxonomies["contents"]
    assert taxonomy["id"] == TAXONOMY_ID
    one = api.get(f"/api/oruk/taxonomies/{TAXONOMY_ID}").json()
    assert schemas.errors(schemas.taxonomy, one) == []
    assert {t["id"] for t in one["taxonomy_terms"]} == {TERM_ID, OTHER_TERM_ID}
    terms = api.get("/api/oruk/taxonomy_terms").json()
    assert terms["total_items"] == 2
    assert schemas.page_errors(schemas.taxonomy_term, terms) == []
    assert (
        schemas.errors(schemas.taxonomy_term, api.get(f"/api/oruk/taxonomy_terms/{TERM_ID}").json())
        == []
    )


def test_unknown_ids_and_bad_queries_are_clear_errors(api: TestClient) -> None:
    assert api.get(f"/api/oruk/services/{uid(999)}").status_code == 404
    assert api.get(f"/api/oruk/taxonomies/{uid(999)}").status_code == 404
    assert api.get(f"/api/oruk/taxonomy_terms/{uid(999)}").status_code == 404
    for odd in ("not-a-uuid", "%00", "x" * 5000):
        assert api.get(f"/api/oruk/services/{odd}").status_code == 404, odd
    assert api.get(f"/api/oruk/services/{uid(1).upper()}").json()["id"] == uid(1)
    upper = api.get("/api/oruk/services", params={"taxonomy_term_id": TERM_ID.upper()})
    assert upper.json()["total_items"] == sum(t == TERM_ID for _, _, t in PLACES.values())
    nul = api.get("/api/oruk/services", params={"taxonomy_id": "\x00"})
    assert nul.status_code == 400
    for params in (
        {"page": 0},
        {"per_page": 0},
        {"per_page": 5000},
        {"lat": 53},
        {"proximity": 10},
    ):
        response = api.get("/api/oruk/services", params=params)
        assert response.status_code == 400, params
        assert response.json()["detail"]
    postcode = api.get("/api/oruk/service_at_locations", params={"postcode": "ZZ1 1AA"})
    assert postcode.status_code == 400 and "lat and lon" in postcode.json()["detail"]


@pytest.mark.parametrize("per_page", [1, 2, 3, 7, 50])
def test_paging_covers_every_service_once_in_name_order(api: TestClient, per_page: int) -> None:
    pages = _all_pages(api, "/api/oruk/services", per_page)
    total = len(PLACES)
    assert len(pages) == math.ceil(total / per_page)
    for number, got in enumerate(pages, start=1):
        assert got["page_number"] == number and got["total_items"] == total
        assert got["total_pages"] == math.ceil(total / per_page)
        assert got["size"] == len(got["contents"]) == min(per_page, total - (number - 1) * per_page)
        assert got["first_page"] == (number == 1) and not got["empty"]
    names = [s["name"] for got in pages for s in got["contents"]]
    assert names == sorted(name for name, _, _ in PLACES.values())
    beyond = api.get("/api/oruk/services", params={"page": len(pages) + 1, "per_page": per_page})
    assert beyond.json()["empty"] and beyond.json()["last_page"] and beyond.json()["size"] == 0


def test_search_and_taxonomy_filters_match_an_independent_filter(api: TestClient) -> None:
    def names(**params: Any) -> set[str]:
        return {s["name"] for s in api.get("/api/oruk/services", params=params).json()["contents"]}

    assert names(search="larder") == {n for n, _, _ in PLACES.values() if "larder" in n.lower()}
    assert names(search="LARDER line") == {"Debt Advice Larder Line"}
    everything = {n for n, _, _ in PLACES.values()}
    assert names(search="low income") == everything  # every word, in name or description
    assert names(search="larder income") == names(search="larder")
    assert names(search="%") == set()  # LIKE wildcards are matched literally
    assert names(taxonomy_term_id=TERM_ID) == {n for n, _, t in PLACES.values() if t == TERM_ID}
    assert names(taxonomy_id=TAXONOMY_ID) == everything
    assert names(taxonomy_id=uid(4242)) == set()


def test_proximity_orders_by_distance_and_cuts_at_the_radius(api: TestClient) -> None:
    located = {name: point for name, point, _ in PLACES.values() if point}
    by_distance = sorted(located, key=lambda name: _distance_km(ORIGIN, located[name]))
    lat, lon = ORIGIN
    got = api.get("/api/oruk/services", params={"lat": lat, "lon": lon}).json()
    assert [s["name"] for s in got["contents"]] == by_distance  # the virtual service has no place
    for radius_km in (0.5, 1.2, 3.0, 10.0):
        within = [n for n in by_distance if _distance_km(ORIGIN, located[n]) <= radius_km]
        params = {"lat": lat, "lon": lon, "proximity": radius_km * 1000}
        answer = api.get("/api/oruk/services", params=params).json()
        assert [s["name"] for s in answer["contents"]] == within, radius_km
        assert answer["total_items"] == len(within)
        places = api.get("/api/oruk/service_at_locations", params=params).json()
        assert [p["service"]["name"] for p in places["contents"]] == within
    paged = _all_pages(api, "/api/oruk/services", 2, lat=lat, lon=lon)
    assert [s["name"] for got in paged for s in got["contents"]] == by_distance


# --- the command line -------------------------------------------------------------------------


def test_the_commands_import_report_and_export(
    care_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schemas: OrukSchemas
) -> None:
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", care_store)
    bad = service(2)
    bad["id"] = "not-a-uuid"
    feed = tmp_path / "feed.json"
    feed.write_bytes(as_bytes(page([service(1), bad])))
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    result = runner.invoke(cli_app, ["directory", "import", str(feed), *home])
    assert result.exit_code == 1
    assert "Created" in result.output and "is not a UUID" in result.output
    again = runner.invoke(cli_app, ["directory", "import", str(feed), "--strict", *home])
    assert again.exit_code == 1 and "Nothing was loaded (--strict)" in again.output
    missing = runner.invoke(cli_app, ["directory", "import", str(tmp_path / "nope.json"), *home])
    # A UserError: `joinedup.cli.main` prints it as one line (see tests/unit/test_cli.py).
    assert missing.exit_code == 1 and "there is no file" in str(missing.exception)
    out = tmp_path / "export.json"
    exported = runner.invoke(cli_app, ["directory", "export", "-o", str(out), *home])
    assert exported.exit_code == 0, exported.output
    written = json.loads(out.read_text())
    assert written["total_items"] == 1 and schemas.page_errors(schemas.service, written) == []
    reimport = runner.invoke(cli_app, ["directory", "import", str(out), *home])
    assert reimport.exit_code == 0 and "No changes" in reimport.output
    stale = runner.invoke(cli_app, ["directory", "stale", "--months", "1", *home])
    assert stale.exit_code == 0 and "Community Larder" in stale.output


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_seeds_the_synthetic_directory_through_the_import_once(
    sessions: sessionmaker[Session], small_area: Settings, schemas: OrukSchemas
) -> None:
    import datetime as dt

    from joinedup.directory.services import stale_before, stale_services
    from joinedup.directory.synthetic import seed_directory

    today = dt.date.today()
    first = seed_directory(sessions, small_area, generated_on=today)
    assert first.created > 0 and first.rejected == []
    again = seed_directory(sessions, small_area, generated_on=today)
    assert again.no_changes and again.unchanged == first.created
    exported = export_page(sessions)
    assert exported["total_items"] == first.created
    assert schemas.page_errors(schemas.service, exported) == []
    # Reviews are dated over the two years before the day the demo is made, and staleness is
    # measured from today: the entries reviewed over a year ago need checking, the others not
    # (dated from a long-past extract date, nearly all of them did).
    reviewed = {s["id"]: dt.date.fromisoformat(s["assured_date"]) for s in exported["contents"]}
    assert max(reviewed.values()) <= today
    assert min(reviewed.values()) > today - dt.timedelta(days=731)
    old = {sid for sid, day in reviewed.items() if day < stale_before(today)}
    assert {s.id for s in stale_services(sessions, today)} == old
    assert 0 < len(old) < first.created


def test_stale_entries_are_the_never_reviewed_and_the_long_unreviewed(
    sessions: sessionmaker[Session],
) -> None:
    import datetime as dt

    from joinedup.directory.services import stale_services

    never = service(2, "Never Reviewed")
    del never["assured_date"], never["assurer_email"]
    old = service(3, "Reviewed Long Ago")
    old["assured_date"] = "2024-06-30"
    _load(sessions, [service(1), never, old])  # service 1 was reviewed on 2026-01-15
    today = dt.date(2026, 12, 6)
    assert [e.name for e in stale_services(sessions, today)] == [
        "Never Reviewed",
        "Reviewed Long Ago",
    ]
    six_months = stale_services(sessions, today, months=6)
    assert [e.name for e in six_months] == [
        "Never Reviewed",
        "Reviewed Long Ago",
        "Community Larder",
    ]
    assert six_months[2].reviewed_by == "reviewer@example.org"
    assert [e.name for e in stale_services(sessions, dt.date(2025, 1, 1), months=12)] == [
        "Never Reviewed"
    ]
