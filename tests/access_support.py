"""A small extended-access rota for the booking tests: one hub open 8am-8pm every day, two
clinicians and two rooms, sessions on the day after tomorrow (so every slot is in the future)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import Booker
from joinedup.access.rota import load_rota

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


def definition() -> dict[str, Any]:
    """HUB01: a GP evening session (6 face-to-face slots, practices only, released to 111 two
    hours before) and a nurse telephone session (4 slots, practices and 111)."""
    return {
        "hubs": [hub()],
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


def load_small_rota(sessions: sessionmaker[Session]) -> None:
    load_rota(sessions, definition(), actor="test", actor_role="manager")
