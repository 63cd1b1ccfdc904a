"""When GP appointments were booked (`gp_appointments.booked_date`): the synthetic area's shape
against the published GPAD figures, read from FHIR, and same-day access (A5) by practice held
to plain Python counts of the same Parquet file."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from joinedup.access import same_day
from joinedup.commissioning.delivery import Area, measure
from joinedup.commissioning.specification import load_specification
from joinedup.governance.suppression import suppress_count
from joinedup.population.ingest.batch import run_batch
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.reads import extract_date, organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.ingest_support import good_resources, write_bundle

COLUMNS = ["person_id", "practice_code", "appointment_date", "booked_date", "site_code"]


@pytest.fixture(scope="module")
def appointments(small_store: PopulationStore) -> list[tuple[Any, ...]]:
    table = pq.read_table(small_store.path("gp_appointments"), columns=COLUMNS).to_pydict()
    return list(zip(*(table[c] for c in COLUMNS), strict=True))


def test_the_synthetic_area_books_about_two_in_five_appointments_the_same_day(
    appointments: list[tuple[Any, ...]],
) -> None:
    lead = [(held - booked).days for _, _, held, booked, _ in appointments]
    share = Counter(
        "same day" if d == 0 else "1-7" if d <= 7 else "8-28" if d <= 28 else "29+" for d in lead
    )
    n = len(lead)
    assert min(lead) == 0  # never booked after it took place, and every row has a date
    assert 0.40 <= share["same day"] / n <= 0.46  # GPAD: about 40-45% nationally
    assert 0.22 <= share["1-7"] / n <= 0.32
    assert 0.03 <= share["29+"] / n <= 0.08  # GPAD: about 5% beyond 28 days
    at_hub = [held == booked for _, _, held, booked, hub in appointments if hub is not None]
    assert sum(at_hub) / len(at_hub) < 0.25  # Enhanced Access is booked ahead


def test_same_day_access_by_practice_counts_what_the_file_holds(
    small_store: PopulationStore, appointments: list[tuple[Any, ...]]
) -> None:
    as_of = extract_date(small_store)
    first = as_of - dt.timedelta(days=same_day.WINDOW_DAYS)
    objectors = {person for person, *_ in appointments[::50]}
    expected_same, expected_known = Counter[str](), Counter[str]()
    for person, practice, held, booked, _ in appointments:
        if person in objectors or not first < held <= as_of or booked is None:
            continue
        expected_known[practice] += 1
        expected_same[practice] += held == booked
    found = same_day.same_day_by_practice(small_store, as_of=as_of, excluding=objectors)
    assert {p.practice_code: (p.booked_same_day, p.with_booking_date) for p in found} == {
        code: (expected_same[code], count) for code, count in expected_known.items()
    }

    # A5 of the tracker for one neighbourhood: the sum over its practices.
    orgs = organisations(small_store)
    home = {c: o.parent_code or "" for c, o in orgs.items() if o.org_type == "practice"}
    hood = home[found[0].practice_code]

    class Provider:
        def same_day(self, as_of: dt.date) -> list[same_day.PracticeSameDay]:
            return found

        def practice_neighbourhoods(self) -> dict[str, str]:
            return home

    a5 = measure(
        load_specification().element("A5"), Area(hood, hood, 10_000, org_code=hood),
        Provider(), as_of,  # type: ignore[arg-type]
    )  # fmt: skip
    mine = [code for code, parent in home.items() if parent == hood]
    numerator = sum(expected_same[c] for c in mine)
    denominator = sum(expected_known[c] for c in mine)
    shown = (suppress_count(numerator), suppress_count(denominator))  # as every count is
    assert a5 is not None and (a5.numerator, a5.denominator) == shown
    assert shown[0] is not None and shown[1]
    assert a5.percent == round(100 * shown[0] / shown[1], 1)
    assert same_day.WINDOW_DAYS == 90 and "90 days" in a5.rule


def _encounter(eid: str, start: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": start},
        "serviceProvider": {"reference": "Organization/org1"},
        **extra,
    }


def _appointment(aid: str, created: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": aid,
        "status": "fulfilled",
        "created": created,
        "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}],
    }


def test_fhir_gp_encounters_take_the_booking_day_of_their_appointment(tmp_path: Path) -> None:
    settings = Settings.from_env(tmp_path / "home")
    path = write_bundle(
        tmp_path / "b.json",
        *good_resources(),
        _encounter(  # the Appointment inside the Encounter
            "e1",
            "2021-03-04T09:00:00Z",
            contained=[_appointment("a", "2021-02-20T16:05:00Z")],
            appointment=[{"reference": "#a"}],
        ),
        _encounter("e2", "2021-03-05T09:00:00Z", appointment=[{"reference": "Appointment/a2"}]),
        _encounter("e3", "2021-03-06T09:00:00Z"),  # no appointment: no booking date
        _encounter("e4", "2021-03-07T09:00:00Z", appointment=[{"reference": "Appointment/a4"}]),
        _appointment("a2", "2021-03-05T08:01:00Z"),  # after the encounter naming it
        _appointment("a4", "2021-03-09T10:00:00Z"),  # booked after it took place: refused
    )
    result = run_batch(settings, read_fhir([path]), source="booking dates")
    rows = PopulationStore(settings.population_dir).read("gp_appointments").to_pydict()
    booked = dict(zip(rows["appointment_date"], rows["booked_date"], strict=True))
    assert booked == {
        dt.date(2021, 3, 4): dt.date(2021, 2, 20),
        dt.date(2021, 3, 5): dt.date(2021, 3, 5),
        dt.date(2021, 3, 6): None,
    }
    assert result.tables["gp_appointments"].rejected == 1
    reasons = result.rejects_path.read_text()
    assert "Encounter/e4: booked_date 2021-03-09 is after appointment_date" in reasons
