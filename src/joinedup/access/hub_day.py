"""A hub's day as its staff run it: each session (clinician, room, times) with its slots, who
is booked into each and how it went (booked, attended, did not attend), and the day's counts.

The hub list and the day are plain reads of the care store; the pages name booked people by
the light identity (`joinedup.access.reception`), looked up by the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import NotFound
from joinedup.access.models import Appointment, Hub, HubClinician, HubRoom, RotaSession, Slot


@dataclass(frozen=True)
class HubRow:
    code: str
    name: str
    address: str
    pcn_code: str


def list_hubs(sessions: sessionmaker[Session]) -> list[HubRow]:
    with sessions() as session:
        rows = session.execute(
            select(Hub.code, Hub.name, Hub.address, Hub.pcn_code).order_by(Hub.name)
        ).all()
    return [HubRow(*row) for row in rows]


@dataclass(frozen=True)
class DaySlot:
    slot_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    category: str
    mode: str
    #: free, or the live (or last) appointment's status: booked, attended, dna.
    status: str
    appointment_id: int | None
    person_id: int | None
    #: The live appointment's version, which a recorded outcome must name (else None).
    appointment_version: int | None = None

    def awaits_outcome(self, now: dt.datetime) -> bool:
        """Booked and already started: the hub records whether the person came."""
        return self.status == "booked" and self.starts_at <= now


@dataclass
class DaySession:
    clinician: str
    clinician_role: str
    room: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    slots: list[DaySlot] = field(default_factory=list)


@dataclass(frozen=True)
class HubDay:
    hub: HubRow
    day: dt.date
    sessions: list[DaySession]

    def count(self, status: str) -> int:
        return sum(s.status == status for session in self.sessions for s in session.slots)

    @property
    def slots(self) -> int:
        return sum(len(session.slots) for session in self.sessions)

    @property
    def person_ids(self) -> set[int]:
        return {s.person_id for x in self.sessions for s in x.slots if s.person_id is not None}


def hub_day(sessions: sessionmaker[Session], code: str, day: dt.date) -> HubDay:
    """Hub `code`'s sessions on local date `day`, each with its slots in time order."""
    with sessions() as session:
        hub = session.execute(
            select(Hub.id, Hub.code, Hub.name, Hub.address, Hub.pcn_code).where(Hub.code == code)
        ).one_or_none()
        if hub is None:
            raise NotFound(f"there is no hub {code}")
        rows = session.execute(_day_query(hub.id, day)).all()
    by_session: dict[int, DaySession] = {}
    for row in rows:
        day_session = by_session.setdefault(
            row.session_id,
            DaySession(row.clinician, row.clinician_role, row.room, row.s_start, row.s_end),
        )
        if day_session.slots and day_session.slots[-1].slot_id == row.slot_id:
            continue  # an earlier, cancelled booking of this slot: the live one came first
        status = row.appointment_status or "free"
        live = status != "cancelled"
        day_session.slots.append(
            DaySlot(
                row.slot_id,
                row.starts_at,
                row.ends_at,
                row.category,
                row.mode,
                status if live else "free",
                row.appointment_id if live else None,
                row.person_id if live else None,
                row.appointment_version if live else None,
            )
        )
    return HubDay(
        HubRow(hub.code, hub.name, hub.address, hub.pcn_code), day, list(by_session.values())
    )


def _day_query(hub_id: int, day: dt.date) -> Select[*tuple[Any, ...]]:
    # Each slot with its appointments, the live one (not cancelled) first.
    live_first = (Appointment.status == "cancelled").asc()
    return (
        select(
            RotaSession.id.label("session_id"),
            RotaSession.starts_at.label("s_start"),
            RotaSession.ends_at.label("s_end"),
            HubClinician.name.label("clinician"),
            HubClinician.role.label("clinician_role"),
            HubRoom.name.label("room"),
            Slot.id.label("slot_id"),
            Slot.starts_at,
            Slot.ends_at,
            Slot.category,
            Slot.mode,
            Appointment.id.label("appointment_id"),
            Appointment.status.label("appointment_status"),
            Appointment.person_id,
            Appointment.version.label("appointment_version"),
        )
        .join(Slot, Slot.session_id == RotaSession.id)
        .join(HubClinician, HubClinician.id == RotaSession.clinician_id)
        .join(HubRoom, HubRoom.id == RotaSession.room_id)
        .outerjoin(Appointment, Appointment.slot_id == Slot.id)
        .where(RotaSession.hub_id == hub_id, RotaSession.day == day)
        .order_by(RotaSession.starts_at, HubClinician.name, Slot.starts_at, live_first)
    )
