"""The extended-access pages as a receptionist (SQLite; the services are the same on
PostgreSQL, see test_access_booking): the search through the light identity view, audited and
within the federation; book, rebook and cancel; the hub's day with its DNAs; continuity first;
the PCN week against the Enhanced Access requirement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from joinedup.access.booking import book, booker_for, get_appointment, record_outcome
from joinedup.access.compliance import compliance_week
from joinedup.access.hub_measures import NOT_KNOWN, QUINTILE_LABELS, hub_measures
from joinedup.access.models import Appointment, Slot
from joinedup.access.reception import offers, patient_for_booking
from joinedup.access.rota import LOCAL_ZONE
from joinedup.carestore.models import AuditEvent
from joinedup.population.reads import (
    find_person,
    organisations,
    practices_of,
    registered_person_ids,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.access_support import BookingWorld, booking_world, rota_day
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as
from tests.html_support import html_table, page_text


@pytest.fixture(scope="module")
def world(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BookingWorld]:
    folder: Path = tmp_path_factory.mktemp("access-pages")
    made = booking_world(small_area, f"sqlite:///{folder / 'care.db'}")
    yield made
    made.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def store(small_area: Settings) -> PopulationStore:
    return PopulationStore(small_area.population_dir)


@pytest.fixture(scope="module")
def client(world: BookingWorld) -> TestClient:
    sign_in_as(world.app, principal("receptionist", organisations=(world.practice,)))
    return TestClient(world.app, follow_redirects=False)


def _last_audit(world: BookingWorld) -> AuditEvent:
    with world.sessions() as session:
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert event is not None
        return event


def test_the_receptionist_finds_a_patient_by_nhs_number_and_sees_only_the_light_identity(
    world: BookingWorld, client: TestClient, store: PopulationStore
) -> None:
    person = find_person(store, world.person_ids[0])
    assert person is not None
    page = client.get("/access/patients", params={"nhs_number": person.nhs_number})
    assert page.status_code == 200, page.text
    table = html_table(page.text, "patients")
    assert [r.data("key") for r in table.body_rows] == [str(person.person_id)]
    headers = [c.text for c in table.rows[0].cells]
    assert headers == ["Name", "Date of birth", "NHS number", "Practice"]
    event = _last_audit(world)
    assert (event.action, event.detail["kinds"]) == ("search.people", ["nhs_number"])
    assert person.nhs_number not in str(event.detail)  # the typed value is never recorded
    opened = client.get(f"/access/patients/{person.person_id}")
    assert opened.status_code == 200
    assert opened.headers["cache-control"] == "no-store"
    text = page_text(opened.text)
    assert person.postcode is None or person.postcode not in text  # nothing else of the record
    assert person.address_line is None or person.address_line not in text
    assert _last_audit(world).action == "view.person.booking"


def test_the_receptionist_finds_by_family_name_and_the_date_of_birth_in_three_boxes(
    world: BookingWorld, client: TestClient, store: PopulationStore
) -> None:
    """As a caller gives it: "Smith, born 27 March 1950", typed in the NHS date input's day,
    month and year boxes; a date that cannot be is said in words, the boxes kept as typed."""
    person = next(p for pid in world.person_ids if (p := find_person(store, pid)) and p.family_name)
    born = person.date_of_birth
    boxes = {"dob-day": str(born.day), "dob-month": str(born.month), "dob-year": str(born.year)}
    page = client.get("/access/patients", params={"family_name": person.family_name, **boxes})
    assert page.status_code == 200, page.text
    assert str(person.person_id) in [
        r.data("key") for r in html_table(page.text, "patients").body_rows
    ]
    slip = client.get(
        "/access/patients",
        params={
            "family_name": person.family_name,
            "dob-day": "31",
            "dob-month": "2",
            "dob-year": "1950",
        },
    )
    assert slip.status_code == 400
    assert "Date of birth must be a real date" in page_text(slip.text)
    assert 'id="dob-day" name="dob-day"' in slip.text and 'value="31"' in slip.text


def test_a_receptionist_of_no_federation_finds_no_one(
    world: BookingWorld, store: PopulationStore
) -> None:
    outsider = principal("receptionist", user_id=99, organisations=("NOWHERE",))
    person = find_person(store, world.person_ids[0])
    assert person is not None
    sign_in_as(world.app, outsider)
    try:
        client = TestClient(world.app, follow_redirects=False)
        found = client.get("/access/patients", params={"nhs_number": person.nhs_number})
        assert "No registered patient of your federation matches" in found.text
        assert client.get(f"/access/patients/{person.person_id}").status_code == 404
        book_answer = client.post(
            f"/access/patients/{person.person_id}/appointments",
            data={"csrf_token": CSRF_TOKEN, "slot_id": "1"},
        )
        assert book_answer.status_code == 404
    finally:
        sign_in_as(world.app, principal("receptionist", organisations=(world.practice,)))


def test_book_rebook_and_cancel_from_the_patient_page(
    world: BookingWorld, client: TestClient
) -> None:
    person_id = world.person_ids[1]
    page = client.get(f"/access/patients/{person_id}")
    free = html_table(page.text, "free-slots").body_rows
    first, second = (int(r.data("key") or 0) for r in free[:2])
    booked = client.post(
        f"/access/patients/{person_id}/appointments",
        data={"csrf_token": CSRF_TOKEN, "slot_id": str(first)},
    )
    assert booked.status_code == 303 and booked.headers["location"].endswith(f"/{person_id}")
    page = client.get(f"/access/patients/{person_id}")
    (row,) = html_table(page.text, "appointments").body_rows
    appointment_id = int(row.data("key") or 0)
    assert get_appointment(world.sessions, appointment_id).slot.id == first
    # With one appointment booked, the free slots offer to move it there.
    assert 'data-action="rebook"' in page.text
    client.post(
        f"/access/appointments/{appointment_id}/rebook",
        data={"csrf_token": CSRF_TOKEN, "version": "1", "slot_id": str(second)},
    )
    assert get_appointment(world.sessions, appointment_id).status == "cancelled"
    page = client.get(f"/access/patients/{person_id}")
    (row,) = html_table(page.text, "appointments").body_rows
    moved = get_appointment(world.sessions, int(row.data("key") or 0))
    assert (moved.slot.id, moved.status) == (second, "booked")
    stale = client.post(
        f"/access/appointments/{moved.id}/cancel", data={"csrf_token": CSRF_TOKEN, "version": "7"}
    )
    assert stale.status_code == 303  # back to the page with the error; nothing changed
    assert get_appointment(world.sessions, moved.id).status == "booked"
    client.post(
        f"/access/appointments/{moved.id}/cancel", data={"csrf_token": CSRF_TOKEN, "version": "1"}
    )
    assert get_appointment(world.sessions, moved.id).status == "cancelled"
    page = client.get(f"/access/patients/{person_id}")
    assert 'id="no-appointments"' in page.text


def test_a_receptionist_booking_as_an_organisation_outside_the_federation_is_refused(
    world: BookingWorld,
) -> None:
    """Working first at P99001 (another federation) and also at a practice of the hub's, the
    receptionist sees the patient but books as P99001: the service refuses it, audited."""
    sign_in_as(world.app, principal("receptionist", organisations=("P99001", world.practice)))
    try:
        client = TestClient(world.app, follow_redirects=False)
        person_id = world.person_ids[0]
        page = client.get(f"/access/patients/{person_id}")
        slot_id = int(html_table(page.text, "free-slots").body_rows[0].data("key") or 0)
        answer = client.post(
            f"/access/patients/{person_id}/appointments",
            data={"csrf_token": CSRF_TOKEN, "slot_id": str(slot_id)},
        )
        assert answer.status_code == 303
        event = _last_audit(world)
        assert event.action == "appointment.book_refused"
        with world.sessions() as session:
            slot = session.get(Slot, slot_id)
            assert slot is not None and slot.status == "free"
    finally:
        sign_in_as(world.app, principal("receptionist", organisations=(world.practice,)))


def test_the_pcn_week_against_the_enhanced_access_requirement(
    world: BookingWorld, store: PopulationStore
) -> None:
    (row,) = compliance_week(world.sessions, store, rota_day())
    orgs = organisations(store)
    practices = practices_of(store, registered_person_ids(store))
    hub_people = [p for p, code in practices.items() if orgs[code].parent_code == row.pcn_code]
    assert row.registered == len(hub_people)
    # 6 GP slots of 15 minutes (18:30-20:00) and 4 nurse slots (09:00-10:00) in the week.
    assert row.minutes_offered == 150
    assert row.hours_covered == pytest.approx(2.5)
    saturday = rota_day().weekday() == 5
    weekday = rota_day().weekday() < 5
    assert row.enhanced_hours_covered == pytest.approx(1.5 * weekday + 1.0 * saturday)
    assert row.minutes_per_1000 == pytest.approx(150_000 / len(hub_people))
    assert row.meets_requirement is (150_000 / len(hub_people) >= 60)
    assert (
        compliance_week(world.sessions, store, rota_day() + dt.timedelta(days=7))[0].minutes_offered
        == 0
    )


def test_the_hub_day_shows_bookings_and_dnas(world: BookingWorld, client: TestClient) -> None:
    receptionist = booker_for(principal("receptionist", organisations=(world.practice,)))
    person_id = world.person_ids[2]
    with world.sessions() as session:
        slot_ids = session.scalars(
            select(Slot.id).where(Slot.status == "free").order_by(Slot.starts_at).limit(2)
        ).all()
    for slot_id in slot_ids:
        book(
            world.sessions,
            receptionist,
            slot_id=slot_id,
            person_id=person_id,
            registered_practice=world.practice,
        )
    # The first appointment took place (its slot moved into the past) and was missed.
    with world.sessions() as session, session.begin():
        appointment_id = session.scalar(
            select(Appointment.id).where(
                Appointment.slot_id == slot_ids[0], Appointment.status == "booked"
            )
        )
        slot = session.get(Slot, slot_ids[0])
        assert slot is not None and appointment_id is not None
        length = slot.ends_at - slot.starts_at
        session.execute(
            update(Slot)
            .where(Slot.id == slot.id)
            .values(starts_at=dt.datetime.now(dt.UTC) - length, ends_at=dt.datetime.now(dt.UTC))
        )
    record_outcome(world.sessions, receptionist, appointment_id, version=1, outcome="dna")
    page = client.get(f"/access/hubs/HUB01?day={rota_day().isoformat()}")
    assert page.status_code == 200
    counts = {
        key: int(value)
        for key, value in (
            (part.split('data-count="')[1].split('"')[0], part.split(">")[1].split("<")[0])
            for part in page.text.split("<dd")[1:]
            if 'data-count="' in part
        )
    }
    assert counts["dna"] == 1 and counts["booked"] >= 1
    assert counts["slots"] == 10
    assert "Did not attend" in page.text
    assert _last_audit(world).action == "view.hub_day"


def test_the_hub_day_records_attended_once_the_slot_has_started(
    world: BookingWorld, client: TestClient
) -> None:
    receptionist = booker_for(principal("receptionist", organisations=(world.practice,)))
    with world.sessions() as session:
        slot_id = session.scalar(
            select(Slot.id).where(Slot.status == "free").order_by(Slot.starts_at).limit(1)
        )
    assert slot_id is not None
    booked = book(
        world.sessions,
        receptionist,
        slot_id=slot_id,
        person_id=world.person_ids[2],
        registered_practice=world.practice,
    )
    outcome = f"/access/appointments/{booked.id}/outcome"
    # Not yet due: refused back to the hub's day, nothing changed, no button offered.
    early = client.post(outcome, data={"csrf_token": CSRF_TOKEN, "version": "1", "outcome": "dna"})
    assert early.status_code == 303
    assert early.headers["location"].startswith("/access/hubs/HUB01?day=")
    assert get_appointment(world.sessions, booked.id).status == "booked"
    day_page = f"/access/hubs/HUB01?day={rota_day().isoformat()}"
    assert f'action="/access/appointments/{booked.id}/outcome"' not in client.get(day_page).text
    # The slot starts: the day offers the buttons, and "Attended" is recorded and audited.
    with world.sessions() as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        session.execute(
            update(Slot)
            .where(Slot.id == slot_id)
            .values(starts_at=now - dt.timedelta(minutes=15), ends_at=now)
        )
    assert f'action="/access/appointments/{booked.id}/outcome"' in client.get(day_page).text
    stale = client.post(
        outcome, data={"csrf_token": CSRF_TOKEN, "version": "9", "outcome": "attended"}
    )
    assert stale.status_code == 303
    assert get_appointment(world.sessions, booked.id).status == "booked"
    done = client.post(
        outcome, data={"csrf_token": CSRF_TOKEN, "version": "1", "outcome": "attended"}
    )
    assert done.status_code == 303
    assert get_appointment(world.sessions, booked.id).status == "attended"
    event = _last_audit(world)
    assert (event.action, event.entity_id) == ("appointment.attended", str(booked.id))
    # The only attendance recorded in this module's store; the buttons are gone.
    recorded = client.get(day_page).text
    assert 'data-count="attended">1</dd>' in recorded
    assert f'action="/access/appointments/{booked.id}/outcome"' not in recorded


def test_continuity_first_offers_the_usual_clinicians_slots_first(
    world: BookingWorld, store: PopulationStore
) -> None:
    user = principal("receptionist", organisations=(world.practice,))
    person_id = world.person_ids[0]
    patient = patient_for_booking(world.sessions, store, user, person_id)
    now = dt.datetime.now(dt.UTC)
    window = {"start": now, "end": now + dt.timedelta(days=14)}
    plain = offers(world.sessions, patient, continuity_first=False, **window)
    # Earliest first: the nurse's morning session comes before the GP's evening one.
    assert plain.slots[0].clinician_name == "Sam Okoro"
    gp_slot = next(s for s in plain.slots if s.clinician_name == "Dr Asha Patel")
    book(
        world.sessions,
        booker_for(user),
        slot_id=gp_slot.id,
        person_id=person_id,
        registered_practice=patient.practice_code,
    )
    first = offers(world.sessions, patient, continuity_first=True, **window)
    assert first.usual_clinician_id == gp_slot.clinician_id
    names = [s.clinician_name for s in first.slots]
    gp_count = names.count("Dr Asha Patel")
    assert gp_count > 0 and names[:gp_count] == ["Dr Asha Patel"] * gp_count
    assert (
        offers(world.sessions, patient, continuity_first=False, **window).slots[0]
        == (plain.slots[0])
    )


def test_hub_measures_fill_utilisation_dna_and_the_third_next_slot(world: BookingWorld) -> None:
    """Held to plain SQL counts of the same rows (after the tests above booked, moved, missed
    and attended)."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=4)
    measured = hub_measures(world.sessions, start, end, now)
    (hub,) = measured.hubs
    within = "s.starts_at >= :start AND s.starts_at < :end"
    with world.sessions() as session:

        def count(sql: str) -> int:
            return int(session.scalar(text(sql), {"start": start, "end": end}) or 0)

        offered = count(f"SELECT count(*) FROM slots s WHERE {within}")
        booked = count(
            "SELECT count(DISTINCT a.slot_id) FROM appointments a JOIN slots s ON s.id = a.slot_id"
            f" WHERE a.status <> 'cancelled' AND {within}"
        )
        free_starts = session.scalars(
            select(Slot.starts_at)
            .where(Slot.status == "free", Slot.bookable_practices.is_(True), Slot.starts_at > now)
            .order_by(Slot.starts_at)
        ).all()
        live = session.execute(
            select(Appointment.created_at, Slot.starts_at)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(Appointment.status != "cancelled", Slot.starts_at >= start, Slot.starts_at < end)
        ).all()
    assert (hub.offered, hub.booked, hub.dna, hub.attended, hub.past) == (offered, booked, 1, 1, 2)
    # Booked the same day: the booking's and the slot's dates on UK clocks.
    on_the_day = sum(
        made.astimezone(LOCAL_ZONE).date() == starts.astimezone(LOCAL_ZONE).date()
        for made, starts in live
    )
    assert hub.booked_same_day == on_the_day and len(live) == booked
    # Both outcomes are of the nurse's telephone slots (the earliest free ones).
    assert [(c.with_outcome, c.dna) for c in measured.dna_by_mode] == [(2, 1)]
    assert measured.dna_by_deprivation == []  # no population store given
    assert hub.third_next_available_days == pytest.approx(
        (free_starts[2] - now).total_seconds() / 86_400
    )


def test_dna_by_deprivation_groups_outcomes_by_the_persons_imd_quintile(
    world: BookingWorld, store: PopulationStore
) -> None:
    """Held to the patients table read directly (after the tests above missed and attended)."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=4)
    measured = hub_measures(world.sessions, start, end, now, store=store)
    with world.sessions() as session:
        outcomes = session.execute(
            select(Appointment.person_id, Appointment.status).where(
                Appointment.status.in_(("attended", "dna"))
            )
        ).all()
    patients = pd.read_parquet(store.path("patients"), columns=["person_id", "imd_decile"])
    decile = dict(zip(patients["person_id"], patients["imd_decile"], strict=True))
    expected: dict[str, list[int]] = {}
    for person, status in outcomes:
        d = decile.get(person)
        label = QUINTILE_LABELS[(int(d) + 1) // 2] if d is not None and d == d else NOT_KNOWN
        expected.setdefault(label, [0, 0])
        expected[label][0] += 1
        expected[label][1] += status == "dna"
    assert len(outcomes) == 2
    got = {c.group: [c.with_outcome, c.dna] for c in measured.dna_by_deprivation}
    assert got == expected


def test_the_manager_sees_the_week_and_the_hubs_use(world: BookingWorld) -> None:
    sign_in_as(world.app, principal("manager", organisations=(world.practice,)))
    try:
        page = TestClient(world.app).get(f"/access/compliance?week={rota_day().isoformat()}")
        assert page.status_code == 200
        assert html_table(page.text, "compliance").body_rows[0].data("key")
        hub = html_table(page.text, "hub-use").row("key", "HUB01")
        assert hub.cells[1].text == "10"  # slots offered: 10, published rounded to 5s
        # The practices' shares of hub appointments (the area's site_code) against their lists.
        shares = html_table(page.text, "hub-share")
        assert shares.row("key", world.practice).cells[3].text.endswith("%")
        # This week holds the outcomes recorded above: DNA by deprivation, counts suppressed.
        started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15)
        week = started.astimezone(LOCAL_ZONE).date().isoformat()
        now_week = TestClient(world.app).get(f"/access/compliance?week={week}").text
        assert "Did not attend, by deprivation quintile" in now_week
    finally:
        sign_in_as(world.app, principal("receptionist", organisations=(world.practice,)))
