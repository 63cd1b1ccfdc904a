"""The demo's extended-access hubs, so a receptionist can book and the PCN week is measured.

One hub per neighbourhood of the area (its PCN), at the neighbourhood's first practice, with a
rota from the Monday of the demo's week for six weeks, loaded through the rota service (one
audited, all-or-nothing load). Every hub offers the Enhanced Access hours of NHS England's
Network Contract DES 2022/23, section 8.1 (weekdays 18:30–20:00, Saturdays 09:00–17:00: a GP
and a practice nurse); the neighbourhoods then differ, so the PCN week's compliance and the
delivery tracker's A4 have something to tell apart:

* every third neighbourhood (the first, fourth, …) runs its hub 08:00–20:00 seven days a week
  (a second GP all day): the DES minutes and the local specification's 84 hours;
* the next adds a second GP on Saturdays, enough minutes for the DES at the demo's list sizes
  but not the 84 hours;
* the third offers the DES hours alone, which at 30–50,000 people falls short of 60 minutes
  per 1,000.

Idempotent: when the care store has any hub, nothing is loaded (a second demo run adds none).
Clinicians are fictional.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.models import Hub
from joinedup.access.rota import RotaSummary, load_rota
from joinedup.carestore.models import Organisation

#: How long the demo's rota runs from the Monday of the demo's week.
WEEKS = 6
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
#: Fictional clinicians, three to a hub in turn (one person is never at two hubs at once).
GPS = (
    "Dr Priya Raman",
    "Dr Ben Okafor",
    "Dr Helen Marsh",
    "Dr Sam Adeyemi",
    "Dr Ruth Kaplan",
    "Dr Owen Pryce",
    "Dr Nadia Karim",
    "Dr Luke Whitfield",
    "Dr Grace Mensah",
    "Dr Ian Dunmore",
    "Dr Leah Sorensen",
    "Dr Kofi Boateng",
    "Dr Anna Lisowska",
    "Dr Tariq Hussain",
    "Dr Megan Hale",
    "Dr Rhys Morgan",
)
NURSES = (
    "Tom Ellery",
    "Jo Whitcombe",
    "Amara Nwosu",
    "Kate Penrose",
    "Dev Mistry",
    "Lucy Farrant",
    "Sian Howells",
    "Marek Nowak",
)


def _clinicians(index: int) -> tuple[tuple[str, str, str], ...]:
    """(name, role, room) of the evening GP, the nurse and the day GP of the `index`th hub."""
    return (
        (GPS[(2 * index) % len(GPS)], "gp", "Room 1"),
        (NURSES[index % len(NURSES)], "nurse", "Room 2"),
        (GPS[(2 * index + 1) % len(GPS)], "gp", "Room 3"),
    )


def hub_code(neighbourhood_code: str) -> str:
    """The demo hub's code for a neighbourhood (codes are 3–12 capitals and digits)."""
    return ("HUB" + neighbourhood_code)[:12]


def demo_rota(neighbourhoods: list[tuple[str, str, str]], today: dt.date) -> dict[str, Any]:
    """The rota definition for (neighbourhood code, name, first practice's name) in order."""
    first = today - dt.timedelta(days=today.weekday())
    last = first + dt.timedelta(days=7 * WEEKS - 1)
    span = {"from": first.isoformat(), "to": last.isoformat()}
    hubs: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for index, (code, name, practice) in enumerate(neighbourhoods):
        hub = hub_code(code)
        kind = index % 3  # 0: seven days 8-8; 1: a second GP on Saturdays; 2: the DES hours only
        evening_gp, nurse, day_gp = _clinicians(index)
        clinicians = [evening_gp, nurse] + ([day_gp] if kind < 2 else [])
        hubs.append(
            {
                "code": hub,
                "name": f"{name.removesuffix(' Neighbourhood')} Extended Access Hub",
                "address": f"{practice}, {name}",
                "pcn_code": code,
                "opening_hours": {day: ["08:00", "20:00"] for day in EVERY_DAY},
                "rooms": sorted({room for _, _, room in clinicians}),
                "clinicians": [{"name": n, "role": r} for n, r, _ in clinicians],
            }
        )

        for who in (evening_gp, nurse):
            lines.append(_line(hub, who, span, WEEKDAYS, "18:30", "20:00"))
            lines.append(_line(hub, who, span, ("sat",), "09:00", "17:00"))
        if kind == 0:
            lines.append(_line(hub, day_gp, span, EVERY_DAY, "08:00", "20:00"))
        elif kind == 1:
            lines.append(_line(hub, day_gp, span, ("sat",), "09:00", "17:00"))
    return {"hubs": hubs, "sessions": lines}


def _line(
    hub: str,
    who: tuple[str, str, str],
    span: dict[str, str],
    days: tuple[str, ...],
    start: str,
    end: str,
) -> dict[str, Any]:
    """One rota line: `who` in their room at `hub` on `days` of `span`, 15-minute routine
    face-to-face slots a practice may book, released to NHS 111 two hours before."""
    return {
        "hub": hub,
        "clinician": who[0],
        "room": who[2],
        **span,
        "weekdays": list(days),
        "start": start,
        "end": end,
        "slot_minutes": 15,
        "category": "General Consultation Routine",
        "mode": "face_to_face",
        "bookable_by": ["practice", "nhs111"],
        "release_to_nhs111_minutes_before": 120,
    }


def seed_demo_hubs(sessions: sessionmaker[Session], today: dt.date) -> RotaSummary | None:
    """Load the demo's hubs and rota (see the module docstring); None when hubs exist already
    or the area has no neighbourhood with a practice."""
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(Hub)):
            return None
        neighbourhoods = _neighbourhoods(session)
    if not neighbourhoods:
        return None
    return load_rota(sessions, demo_rota(neighbourhoods, today), actor="demo", actor_role="cli")


def _neighbourhoods(session: Session) -> list[tuple[str, str, str]]:
    """(code, name, first practice's name) of each active neighbourhood with a practice."""
    found: list[tuple[str, str, str]] = []
    for org in session.scalars(
        select(Organisation)
        .where(Organisation.org_type == "neighbourhood", Organisation.active.is_(True))
        .order_by(Organisation.org_code)
    ):
        practice = session.scalar(
            select(Organisation.name)
            .where(
                Organisation.parent_code == org.org_code,
                Organisation.org_type == "practice",
                Organisation.active.is_(True),
            )
            .order_by(Organisation.org_code)
            .limit(1)
        )
        if practice is not None:
            found.append((org.org_code, org.name, practice))
    return found
