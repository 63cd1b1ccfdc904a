"""Reading Open Referral UK files: every shape of file, each record checked on its own, and a
corpus of malformed files where each bad record is rejected with its reason and nothing else
is lost. The models are held to the ORUK schema files in ../shared; so are the synthetic
area's directory and the paging arithmetic."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from joinedup.directory.importer import SourceFile, read_sources
from joinedup.directory.oruk import (
    Address,
    Location,
    Organization,
    Phone,
    RawRecord,
    Rejection,
    Schedule,
    Service,
    Taxonomy,
    TaxonomyTerm,
    check_record,
    decode_bytes,
    document,
    read_records,
)
from joinedup.directory.services import haversine_km, is_stale, page_object
from joinedup.directory.synthetic import (
    OPEN_ELIGIBILITY_CATEGORIES,
    practice_points,
    synthetic_directory,
)
from joinedup.population.store import PopulationStore
from tests.directory_support import OrukSchemas, as_bytes, oruk_schemas, page, service, uid


@pytest.fixture(scope="module")
def schemas(shared_dir: Path) -> OrukSchemas:
    return oruk_schemas(shared_dir)


def _ids(records: list[RawRecord]) -> list[str]:
    return [r.value["id"] for r in records]  # type: ignore[index]


# --- the shapes of a file ---------------------------------------------------------------------


def test_every_shape_of_file_yields_its_services_with_their_lines() -> None:
    one, two = service(1), service(2)
    shapes = {
        "one service": json.dumps(one),
        "a list": json.dumps([one, two]),
        "a page": json.dumps(page([one, two]), indent=2),
        "a list of pages": json.dumps([page([one]), page([two])]),
        "pages one after another": json.dumps(page([one])) + "\n" + json.dumps(page([two])),
        "NDJSON services": json.dumps(one) + "\n" + json.dumps(two) + "\n",
    }
    for shape, text in shapes.items():
        records, breaks = read_records(text)
        expected = [uid(1)] if shape == "one service" else [uid(1), uid(2)]
        assert (_ids(records), breaks) == (expected, []), shape
    records, _ = read_records(shapes["NDJSON services"])
    assert [r.line for r in records] == [1, 2]
    records, _ = read_records(shapes["a page"])
    assert [r.line for r in records] == [
        i + 1 for i, line in enumerate(shapes["a page"].splitlines()) if line == "    {"
    ]


def test_a_truncated_file_keeps_every_record_before_the_break() -> None:
    text = json.dumps(page([service(1), service(2), service(3)]), indent=2)
    cut = text.index(uid(3)) + 10  # part-way into the third service
    records, breaks = read_records(text[:cut])
    assert _ids(records) == [uid(1), uid(2)]
    [broken] = breaks
    third_starts = text[:cut].rindex("\n    {") + 1
    assert broken.line == text[:third_starts].count("\n") + 1  # the line the record starts on
    assert "breaks at line" in broken.reason and "could not be read" in broken.reason


def test_an_empty_file_and_a_file_of_rubbish_are_one_rejection_each() -> None:
    assert read_records("  \n") == ([], [Rejection(1, "the file holds no JSON: it is empty")])
    records, breaks = read_records("<html>not json</html>")
    assert records == [] and len(breaks) == 1 and "breaks at line 1" in breaks[0].reason


def test_bytes_that_are_not_utf8_reject_only_the_record_holding_them() -> None:
    good, bad = service(1), service(2, name="Caf\u00e9 Club")
    data = as_bytes([good, bad]).replace(b"Caf\\u00e9", b"Caf\xe9")
    assert b"\xe9" in data
    count, accepted, rejected = read_sources([SourceFile("mixed.json", data)])
    assert count == 2 and [a.service.id for a in accepted] == [uid(1)]
    assert [r.reason for r in rejected] == [f"service {uid(2)} holds bytes that are not UTF-8 text"]


def test_a_byte_order_mark_is_not_part_of_the_text() -> None:
    assert decode_bytes(b"\xef\xbb\xbf[]") == "[]"


# --- each record on its own: the malformed corpus ---------------------------------------------


def _broken(n: int, change: dict[str, Any]) -> dict[str, Any]:
    record = service(n)
    for path, value in change.items():
        target: Any = record
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return record


DELETE = object()

#: (change to a good record, words the rejection must hold)
CORPUS: list[tuple[dict[str, Any], str]] = [
    ({"id": DELETE}, "id: is required"),
    ({"id": "not-a-uuid"}, "is not a UUID"),
    ({"name": DELETE}, "name: is required"),
    ({"name": 42}, "name: Input should be a valid string"),
    ({"status": "open"}, "status: Input should be 'active'"),
    ({"minimum_age": "12"}, "minimum_age: Input should be a valid number"),
    ({"minimum_age": 70, "maximum_age": 60}, "minimum_age is above maximum_age"),
    ({"url": "larder.example.org"}, "is not a web address"),
    ({"assured_date": "15/01/2026"}, "assured_date: Input should be a valid date"),
    ({"schedules.0.byday": "Thursday"}, "schedules[0].byday: 'Thursday' is not a list of"),
    ({"schedules.0.opens_at": "25:00"}, "schedules[0].opens_at"),
    ({"schedules.0.freq": "DAILY"}, "schedules[0].freq"),
    ({"cost_options.0.amount": -1}, "cost_options[0].amount"),
    ({"contacts.0.phones.0.number": DELETE}, "contacts[0].phones[0].number: is required"),
    (
        {"service_at_locations.0.location.latitude": 100.0},
        "service_at_locations[0].location.latitude",
    ),
    (
        {"service_at_locations.0.location.location_type": "building"},
        "service_at_locations[0].location.location_type",
    ),
    (
        {"service_at_locations.0.location.addresses.0.country": "England"},
        "addresses[0].country",
    ),
    ({"languages": [{"id": uid(9001)}, {"id": uid(9001)}]}, "the language id"),
    ({"attributes.0.taxonomy_term": DELETE}, "names no taxonomy term"),
    (
        {
            "attributes.0.taxonomy_term.taxonomy": DELETE,
            "attributes.0.taxonomy_term.taxonomy_id": DELETE,
        },
        "names no taxonomy",
    ),
    ({"attributes.0.taxonomy_term_id": uid(9002)}, "taxonomy_term_id differs"),
    ({"organization_id": uid(9003)}, "organization_id differs from its organization"),
    ({"service_at_locations.0.location": DELETE}, "names no location"),
]


@pytest.mark.parametrize(("change", "words"), CORPUS, ids=[w for _, w in CORPUS])
def test_each_malformed_record_is_rejected_with_its_reason(
    change: dict[str, Any], words: str
) -> None:
    checked = check_record(RawRecord(7, _broken(1, change)))
    assert isinstance(checked, Rejection) and checked.line == 7
    assert words in checked.reason, checked.reason


def test_a_corpus_file_rejects_each_bad_record_and_keeps_every_good_one() -> None:
    bad = [_broken(100 + i, change) for i, (change, _) in enumerate(CORPUS)]
    good = [service(i) for i in range(1, 6)]
    mixed = [x for pair in zip(good, bad[: len(good)], strict=True) for x in pair]
    records = [*mixed, *bad[len(good) :], "a string, not a service", 12]
    text = json.dumps(page(records), indent=2)
    count, accepted, rejected = read_sources([SourceFile("corpus.json", text.encode())])
    assert count == len(records)
    assert sorted(a.service.id for a in accepted) == sorted(s["id"] for s in good)
    assert len(rejected) == len(bad) + 2
    assert all(r.reason for r in rejected)
    assert {r.line for r in rejected}.isdisjoint({a.line for a in accepted})
    assert "must be a JSON object, not a str" in rejected[-2].reason


def test_ids_are_kept_in_their_canonical_lower_case_form() -> None:
    record = service(1)
    record["id"] = record["id"].upper()
    checked = check_record(RawRecord(1, record))
    assert isinstance(checked, Service) and checked.id == uid(1)


# --- held to the ORUK schema files ---------------------------------------------------------


def _required(model: type[Any]) -> set[str]:
    return {name for name, f in model.model_fields.items() if f.is_required()}


@pytest.mark.parametrize(
    ("model", "definition"),
    [
        (Service, None),
        (Organization, "organization"),
        (Location, "location"),
        (Address, "address"),
        (Schedule, "schedule"),
        (Phone, "phone"),
        (Taxonomy, "taxonomy"),
        (TaxonomyTerm, "taxonomy_term"),
    ],
)
def test_the_models_require_what_the_oruk_schema_requires(
    shared_dir: Path, model: type[Any], definition: str | None
) -> None:
    compiled = shared_dir / "reference" / "open_referral_uk" / "schema_compiled"
    schema = json.loads((compiled / "service_with_definitions.json").read_text())
    entity = schema if definition is None else schema["definitions"][definition]
    assert _required(model) == set(entity["required"])
    for field, spec in entity["properties"].items():
        if "enum" in spec and field in model.model_fields:
            annotation = str(model.model_fields[field].annotation)
            assert all(repr(value) in annotation for value in spec["enum"]), field


def test_an_accepted_record_validates_against_the_schema(schemas: OrukSchemas) -> None:
    checked = check_record(RawRecord(1, service(1)))
    assert isinstance(checked, Service)
    assert schemas.errors(schemas.service, document(checked)) == []


# --- distances, paging, review ----------------------------------------------------------------


def _law_of_cosines_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Independent of the haversine: the spherical law of cosines on the same sphere."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
        lon2 - lon1
    )
    return 6371.0088 * math.acos(max(-1.0, min(1.0, cosine)))


@pytest.mark.parametrize(
    ("a", "b"),
    [((53.0, -1.5), (53.1, -1.4)), ((51.5, -0.12), (48.86, 2.35)), ((0, 0), (0, 90))],
)
def test_haversine_agrees_with_the_law_of_cosines(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    assert haversine_km(a, b) == pytest.approx(_law_of_cosines_km(a, b), rel=1e-9, abs=1e-6)


def test_a_degree_of_latitude_is_the_arc_of_the_mean_radius() -> None:
    assert haversine_km((52.0, 0.0), (53.0, 0.0)) == pytest.approx(6371.0088 * math.pi / 180)


@pytest.mark.parametrize(
    ("total", "per_page", "page_number", "size", "pages", "first", "last", "empty"),
    [
        (0, 10, 1, 0, 0, True, True, True),
        (10, 10, 1, 10, 1, True, True, False),
        (11, 10, 1, 10, 2, True, False, False),
        (11, 10, 2, 1, 2, False, True, False),
        (11, 10, 3, 0, 2, False, True, True),
        (25, 7, 4, 4, 4, False, True, False),
    ],
)
def test_the_page_object(
    total: int,
    per_page: int,
    page_number: int,
    size: int,
    pages: int,
    first: bool,
    last: bool,
    empty: bool,
    schemas: OrukSchemas,
) -> None:
    contents = [{"id": uid(i)} for i in range(size)]
    got = page_object(page_number, per_page, total, contents)
    assert got == {
        "total_items": total,
        "total_pages": pages,
        "page_number": page_number,
        "size": size,
        "first_page": first,
        "last_page": last,
        "empty": empty,
        "contents": contents,
    }
    assert schemas.errors(schemas.page, got) == []


def test_an_entry_is_stale_after_twelve_months_or_never_reviewed() -> None:
    today = dt.date(2026, 12, 6)
    assert not is_stale(dt.date(2025, 12, 6), today)
    assert is_stale(dt.date(2025, 12, 5), today)
    assert is_stale(None, today)
    assert not is_stale(dt.date(2025, 7, 1), today, months=18)


# --- the synthetic area's directory -----------------------------------------------------------


def test_the_synthetic_directory_is_valid_oruk_and_clearly_fictional(
    small_store: PopulationStore, schemas: OrukSchemas
) -> None:
    directory = synthetic_directory(small_store, seed=1)
    assert directory == synthetic_directory(small_store, seed=1)  # deterministic
    services = directory["contents"]
    assert len(services) >= 10
    assert schemas.page_errors(schemas.service, directory) == []
    for record in services:
        assert isinstance(check_record(RawRecord(1, record)), Service), record["name"]
        assert "Fictional" in record["description"]
        assert record["url"].endswith(".example.org")
        assert record["contacts"][0]["phones"][0]["number"].startswith("01632 960")
    ids = [s["id"] for s in services]
    assert len(set(ids)) == len(ids)
    terms = {a["taxonomy_term"]["name"] for s in services for a in s["attributes"]}
    assert terms <= set(OPEN_ELIGIBILITY_CATEGORIES) and len(terms) >= 8


def test_synthetic_services_are_near_their_neighbourhoods_practices_and_some_are_stale(
    small_store: PopulationStore,
) -> None:
    directory = synthetic_directory(small_store, seed=1)
    practices = list(practice_points(small_store).values())
    assert practices
    extract = dt.date.fromisoformat(str(small_store.metadata()["extract_date"])[:10])
    for record in directory["contents"]:
        location = record["service_at_locations"][0]["location"]
        if location["location_type"] == "physical":
            point = (location["latitude"], location["longitude"])
            nearest = min(_law_of_cosines_km(point, p) for p in practices)
            assert nearest <= 1.25, record["name"]
    stale = [
        is_stale(dt.date.fromisoformat(r["assured_date"]), extract) for r in directory["contents"]
    ]
    assert any(stale) and not all(stale)
