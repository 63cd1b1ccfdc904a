"""The registration rule (docs/GLOSSARY.md, "registered at the extract date") pinned on its
boundaries: the Ibis expression on every engine, and the same cases through the forms that do
not run on an engine (the SQL compiled for raw DuckDB, the fast one-person lookup).

Extract date 31 March 2026. Each person is one case; `EXPECTED` says, by hand, where each is
registered at the end of that day (None: not registered).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from joinedup.analytics.engine import put_table
from joinedup.population.reads import (
    find_person,
    practices_of,
    registered_person_ids,
    registered_population,
    registered_sql,
)
from joinedup.population.store import PopulationStore
from tests.spec.conftest import run

EXTRACT = dt.date(2026, 3, 31)
DAY = dt.timedelta(days=1)
LONG_AGO = dt.date(2015, 6, 1)
BORN = dt.date(1950, 5, 17)

#: person_id → (registrations as (practice, start, end), date of birth, date of death)
CASES: dict[int, tuple[list[tuple[str, dt.date, dt.date | None]], dt.date, dt.date | None]] = {
    1: ([("P1", LONG_AGO, None)], BORN, None),  # open-ended
    2: ([("P1", LONG_AGO, EXTRACT)], BORN, None),  # last day is the extract date: closed
    3: ([("P1", LONG_AGO, EXTRACT + DAY)], BORN, None),  # ends the day after: still open
    4: ([("P1", EXTRACT, None)], BORN, None),  # starts on the extract date
    5: ([("P1", EXTRACT + DAY, None)], BORN, None),  # starts the day after
    6: ([("P1", LONG_AGO, dt.date(2025, 1, 1))], BORN, None),  # ended before
    7: ([("P1", LONG_AGO, dt.date(2024, 2, 1)), ("P2", dt.date(2024, 2, 2), None)], BORN, None),
    8: ([("P1", LONG_AGO, None), ("P2", dt.date(2023, 1, 1), None)], BORN, None),  # overlap
    9: ([("P1", LONG_AGO, None)], BORN, EXTRACT),  # died on the extract date
    10: ([("P1", LONG_AGO, None)], BORN, EXTRACT + DAY),  # dies the day after
    11: ([("P2", EXTRACT, None)], EXTRACT, None),  # born on the extract date
    12: ([("P2", EXTRACT, None)], EXTRACT + DAY, None),  # not yet born
    13: ([], BORN, None),  # never registered
}
EXPECTED: dict[int, str | None] = {
    1: "P1",
    2: None,
    3: "P1",
    4: "P1",
    5: None,
    6: None,
    7: "P2",
    8: "P2",
    9: None,
    10: "P1",
    11: "P2",
    12: None,
    13: None,
}
REGISTERED = {p: code for p, code in EXPECTED.items() if code is not None}


def _registrations() -> pa.Table:
    rows = [(p, *r) for p, (regs, _, _) in CASES.items() for r in regs]
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.int64()),
            "practice_code": [r[1] for r in rows],
            "start_date": pa.array([r[2] for r in rows], pa.date32()),
            "end_date": pa.array([r[3] for r in rows], pa.date32()),
        }
    )


def _patients() -> pa.Table:
    ids = sorted(CASES)
    return pa.table(
        {
            "person_id": pa.array(ids, pa.int64()),
            "nhs_number": [f"99900000{p:02d}" for p in ids],
            "date_of_birth": pa.array([CASES[p][1] for p in ids], pa.date32()),
            "sex": ["F"] * len(ids),
            "date_of_death": pa.array([CASES[p][2] for p in ids], pa.date32()),
            "imd_decile": pa.array([5] * len(ids), pa.int64()),
        }
    )


def test_the_rule_on_every_engine(con) -> None:
    registrations = put_table(con, "spec_registrations", _registrations())
    patients = put_table(con, "spec_patients", _patients())
    people = registered_population(registrations, patients, EXTRACT)
    found = run(con, people.select("person_id", "practice_code")).to_pylist()
    assert {r["person_id"]: r["practice_code"] for r in found} == REGISTERED
    assert len(found) == len(REGISTERED)  # one row each


def test_the_rule_compiled_for_raw_duckdb_sql() -> None:
    with duckdb.connect() as db:
        db.register("registrations", _registrations())
        db.register("patients", _patients())
        rows = db.execute(registered_sql(EXTRACT)).fetchall()
    assert {person: practice for person, practice, _ in rows} == REGISTERED
    assert len(rows) == len(REGISTERED)


@pytest.fixture
def store(tmp_path) -> PopulationStore:
    store = PopulationStore(tmp_path / "population")
    store.write_metadata({"extract_date": EXTRACT.isoformat()})
    pq.write_table(_registrations(), store.path("registrations"))
    pq.write_table(_patients(), store.path("patients"))
    organisations = pa.table(
        {
            "org_code": ["N1", "P1", "P2"],
            "name": ["North", "Practice One", "Practice Two"],
            "org_type": ["neighbourhood", "practice", "practice"],
            "parent_code": ["", "N1", "N1"],
            "imd_decile": pa.array([None, 3, 7], pa.int64()),
        }
    )
    pq.write_table(organisations, store.path("organisations"))
    return store


def test_the_fast_lookups_follow_the_rule(store: PopulationStore) -> None:
    assert {p: find_person(store, p).practice_code for p in CASES} == EXPECTED  # type: ignore[union-attr]
    assert practices_of(store, CASES) == REGISTERED
    assert registered_person_ids(store).tolist() == sorted(REGISTERED)
    one = find_person(store, 7)
    assert one is not None
    assert (one.practice_name, one.neighbourhood_code, one.neighbourhood_name) == (
        "Practice Two",
        "N1",
        "North",
    )
    assert find_person(store, 999) is None
