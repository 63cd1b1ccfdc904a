"""A small extended-access rota for the booking tests (one hub open 8am-8pm every day, two
clinicians and two rooms, sessions on the day after tomorrow so every slot is in the future)
and the booking API serving it with real system tokens."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import Booker
from joinedup.access.rota import load_rota
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import Organisation
from joinedup.governance.system_tokens import issue_token
from joinedup.governance.users import add_user
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.carestore_support import migrated

#: Test organisations for rotas loaded with no generated area: the hub's network NBH01 in
#: federation FED01 with practice P81001; practice P99001 of another federation (FED02).
TEST_ORGANISATIONS = (
    ("FED01", "Test federation", "federation", None),
    ("NBH01", "Test neighbourhood", "neighbourhood", "FED01"),
    ("P81001", "Test practice", "practice", "NBH01"),
    ("FED02", "Other federation", "federation", None),
    ("NBH02", "Other neighbourhood", "neighbourhood", "FED02"),
    ("P99001", "Practice of another federation", "practice", "NBH02"),
)
#: Where the people booked for in tests with no generated area are registered.
IN_FEDERATION, OUTSIDE_FEDERATION = "P81001", "P99001"
EVERY_DAY = {day: ["08:00", "20:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
PRACTICE = Booker("reception-p81001", "receptionist", "practice", "P81001")
NHS111 = Booker("nhs111-system", "nhs111", "nhs111", "NHS111")


def rota_day(offset: int = 2) -> dt.date:
    return dt.date.today() + dt.timedelta(days=offset)


def hub(code: str = "HUB01", pcn: str = "NBH01") -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Hub {code}",
        "address": "1 Mill Lane, Riverside",
        "pcn_code": pcn,
        "opening_hours": EVERY_DAY,
        "rooms": ["Room 1", "Room 2"],
        "clinicians": [
            {"name": "Dr Asha Patel", "role": "gp"},
            {"name": "Sam Okoro", "role": "nurse"},
        ],
    }


def session_line(**changes: Any) -> dict[str, Any]:
    line = {
        "hub": "HUB01",
        "clinician": "Dr Asha Patel",
        "room": "Room 1",
        "date": rota_day().isoformat(),
        "start": "18:30",
        "end": "20:00",
        "slot_minutes": 15,
        "category": "General Consultation Routine",
        "mode": "face_to_face",
        "bookable_by": ["practice"],
        "release_to_nhs111_minutes_before": 120,
    }
    return line | changes


def definition(pcn: str = "NBH01") -> dict[str, Any]:
    """HUB01 of network `pcn`: a GP evening session (6 face-to-face slots, practices only,
    released to 111 two hours before) and a nurse telephone session (4 slots, practices and
    111)."""
    return {
        "hubs": [hub(pcn=pcn)],
        "sessions": [
            session_line(),
            session_line(
                clinician="Sam Okoro",
                room="Room 2",
                start="09:00",
                end="10:00",
                category="Planned Clinics",
                mode="telephone",
                bookable_by=["practice", "nhs111"],
            ),
        ],
    }


def add_test_organisations(sessions: sessionmaker[Session]) -> None:
    """`TEST_ORGANISATIONS` in the care store, each unless already there."""
    now = dt.datetime.now(dt.UTC)
    with sessions() as session, session.begin():
        for code, name, kind, parent in TEST_ORGANISATIONS:
            if session.get(Organisation, code) is None:
                session.add(
                    Organisation(
                        org_code=code, name=name, org_type=kind, parent_code=parent, synced_at=now
                    )
                )
                session.flush()


def load_small_rota(sessions: sessionmaker[Session], pcn: str = "NBH01") -> None:
    add_test_organisations(sessions)
    load_rota(sessions, definition(pcn), actor="test", actor_role="manager")


# --- the booking API over a generated area ------------------------------------------------


@dataclass(frozen=True)
class BookingWorld:
    """A care store with the small rota, a receptionist and an NHS 111 system account (each
    with a system token), and the web app serving it over the generated area."""

    app: FastAPI
    sessions: sessionmaker[Session]
    tokens: dict[str, str]
    person_ids: tuple[int, ...]
    practice: str


def booking_world(small_area: Settings, database_url: str) -> BookingWorld:
    migrated(database_url)
    store = PopulationStore(small_area.population_dir)
    sessions = session_factory(make_engine(database_url))
    sync_organisations(store, sessions)
    with sessions() as session:
        orgs = {o.org_type: o.org_code for o in session.scalars(select(Organisation))}
    found = [find_person(store, pid) for pid in range(1, 400)]
    registered = [p for p in found if p is not None and p.practice_code]
    first = registered[0]
    # The hub serves the first person's neighbourhood; everyone booked for is of its federation.
    neighbourhood = first.neighbourhood_code
    people = tuple(
        itertools.islice(
            (p.person_id for p in registered if p.neighbourhood_code == neighbourhood), 3
        )
    )
    practice = first.practice_code
    assert practice is not None and neighbourhood is not None
    accounts = {
        "reception": ("receptionist", [practice]),
        "nhs111": ("nhs111", [orgs["commissioning_area"]]),
    }
    tokens = {}
    for username, (role, places) in accounts.items():
        add_user(sessions, username, username, role, places)
        tokens[username], _ = issue_token(
            sessions, username, days=30, actor="test", actor_role="test"
        )
    load_small_rota(sessions, pcn=neighbourhood)
    app = create_app(Settings(home=small_area.home, database_url=database_url))
    app.state.care_sessions = sessions
    return BookingWorld(app, sessions, tokens, people, practice)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def appointment_body(free: Mapping[str, Any], person_id: int, **changes: Any) -> dict[str, Any]:
    """A GP Connect-style booking of the slot `free` (a Slot resource as JSON) for `person_id`."""
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": free["start"],
        "end": free["end"],
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "description": "Review",
        "slot": [{"reference": f"Slot/{free['id']}"}],
        "participant": [{"actor": {"reference": f"Patient/{person_id}"}, "status": "accepted"}],
    }
    return body | changes
