"""What a receptionist sees to book a hub appointment: the light identity view.

A receptionist books for any patient of the federation (issue 17) but has no legitimate
relationship with their record, so they see a person only as **name, date of birth, NHS number
and registered practice** — nothing else of the record (`BookingIdentity`). They find people
only among the registered patients of the practices of their own federations; every search is
audited as one event naming the kinds of key typed (never the values), and opening a person to
book for them is audited as ``view.person.booking``.

Continuity first: for people on the coordinated care register or with long-term conditions
(the caller says which), the free slots of their usual hub clinician — the one they have been
booked with most, from their appointment history — are offered before all others
(`offers`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import (
    AppointmentView,
    BookingError,
    SlotView,
    get_appointment,
    search_free_slots,
)
from joinedup.access.federation import federation_of, federation_practices
from joinedup.access.models import Appointment, Hub, RotaSession, Slot
from joinedup.governance.audit import record_search, record_view
from joinedup.governance.person_search import MOST_RESULTS, PersonQuery
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import find_person, organisation_names, search_people
from joinedup.population.store import PopulationStore

#: How far ahead a receptionist is offered slots: GP Connect's cap.
OFFER_DAYS = 14


class NotOurPatient(BookingError, LookupError):
    """No registered patient of the user's federations has that number (or id)."""


@dataclass(frozen=True)
class BookingIdentity:
    """A person as the booking pages show them: nothing else of their record."""

    person_id: int
    name: str | None
    date_of_birth: dt.date
    nhs_number: str  # formatted 3 3 4
    practice_code: str
    practice_name: str


def find_patients(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    principal: Principal,
    query: PersonQuery,
) -> tuple[list[BookingIdentity], bool]:
    """The registered patients of the user's federations matching `query` (at most 50, and
    whether there were more); audited before anything is shown."""
    found = search_people(
        store,
        within_practices=federation_practices(store, principal.organisations),
        family_name=query.family_name,
        given_name=query.given_name,
        date_of_birth=query.date_of_birth,
        nhs_number=query.nhs_number,
        limit=MOST_RESULTS + 1,
    )
    record_search(sessions, principal, kinds=query.kinds, shown=min(len(found), MOST_RESULTS))
    names = organisation_names(store)
    people = [
        BookingIdentity(
            p.person_id,
            p.name,
            p.date_of_birth,
            format_nhs_number(p.nhs_number),
            p.practice_code or "",
            names.get(p.practice_code or "", ""),
        )
        for p in found[:MOST_RESULTS]
    ]
    return people, len(found) > MOST_RESULTS


def patient_for_booking(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    principal: Principal,
    person_id: int,
) -> BookingIdentity:
    """The light identity of a registered patient of the user's federations (audited), or
    `NotOurPatient`."""
    person = find_person(store, person_id)
    practices = federation_practices(store, principal.organisations)
    if person is None or person.practice_code not in practices:
        raise NotOurPatient("there is no registered patient of your federation with that number")
    record_view(sessions, principal, person_id=person_id, what="person.booking")
    return BookingIdentity(
        person.person_id,
        person.display_name,
        person.date_of_birth,
        format_nhs_number(person.nhs_number),
        person.practice_code or "",
        person.practice_name or "",
    )


def upcoming_appointments(
    sessions: sessionmaker[Session], person_id: int, now: dt.datetime
) -> list[AppointmentView]:
    """The person's booked hub appointments that have not started, earliest first."""
    with sessions() as session:
        ids = session.scalars(
            select(Appointment.id)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.person_id == person_id,
                Appointment.status == "booked",
                Slot.starts_at > now,
            )
            .order_by(Slot.starts_at)
        ).all()
    return [get_appointment(sessions, appointment_id) for appointment_id in ids]


def usual_clinician(session: Session, person_id: int) -> int | None:
    """The hub clinician the person has been booked with most (attended, booked or did not
    attend; cancelled bookings do not count), the latest breaking a tie; None if none."""
    rows = session.execute(
        select(RotaSession.clinician_id, Slot.starts_at)
        .join(Slot, Slot.session_id == RotaSession.id)
        .join(Appointment, Appointment.slot_id == Slot.id)
        .where(Appointment.person_id == person_id, Appointment.status != "cancelled")
    ).all()
    if not rows:
        return None
    counts = Counter(row.clinician_id for row in rows)
    latest = {row.clinician_id: row.starts_at for row in sorted(rows, key=lambda r: r.starts_at)}
    return max(counts, key=lambda c: (counts[c], latest[c]))


@dataclass(frozen=True)
class Offers:
    slots: list[SlotView]
    #: The usual clinician whose slots come first (None: no continuity asked or no history).
    usual_clinician_id: int | None


def hubs_serving(session: Session, practice_code: str) -> list[str]:
    """The codes of the hubs of the practice's federation (those that may see its patients)."""
    federation = federation_of(session, practice_code)
    if federation is None:
        return []
    hubs = session.execute(select(Hub.code, Hub.pcn_code).order_by(Hub.code)).all()
    return [h.code for h in hubs if federation_of(session, h.pcn_code) == federation]


def offers(
    sessions: sessionmaker[Session],
    patient: BookingIdentity,
    *,
    continuity_first: bool,
    start: dt.datetime,
    end: dt.datetime,
    limit: int = 200,
) -> Offers:
    """Free slots a practice may book for `patient` between `start` and `end` at the hubs of
    their federation, earliest first — except that, if `continuity_first`, their usual
    clinician's come before all others."""
    with sessions() as session:
        hubs = hubs_serving(session, patient.practice_code)
        usual = usual_clinician(session, patient.person_id) if continuity_first else None
    if not hubs:
        return Offers([], usual)

    def free(clinician_id: int | None = None) -> list[SlotView]:
        return search_free_slots(
            sessions,
            kind="practice",
            start=start,
            end=end,
            hubs=hubs,
            clinician_id=clinician_id,
            limit=limit,
        )

    first = [] if usual is None else free(usual)
    chosen = {s.id for s in first}
    rest = [s for s in free() if s.id not in chosen]
    return Offers((first + rest)[:limit], usual)
