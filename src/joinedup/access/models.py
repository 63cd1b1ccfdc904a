"""Care-store tables of extended access: hubs, their rooms and clinicians, rota sessions, slots
and the appointments booked into them.

Double booking is made impossible by the database, not by Python (ADR 0017):

* ``uq_appointments_booked_slot`` is a partial unique index on ``appointments(slot_id)`` where
  ``status = 'booked'``: at most one live booking per slot, on PostgreSQL and SQLite alike,
  while cancelled bookings of the same slot stay as history;
* booking first claims the slot with one conditional statement,
  ``UPDATE slots SET status = 'booked' WHERE id = ? AND status = 'free' AND <bookable>``;
  on PostgreSQL a concurrent claimer waits for the row lock and then re-reads the row, so it
  finds the slot booked and claims nothing (the pattern of NEXT_DOMAINS 3.5; the index is the
  guarantee if any other code path inserts a booking).

Instants are UTC (`UTCDateTime`); a session's ``day`` is its local (Europe/London) date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, JSONDocument, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey

# The values each coded column may take; the services and the FHIR mapping read them too.
CLINICIAN_ROLES = (
    "gp",
    "nurse",
    "pharmacist",
    "physiotherapist",
    "paramedic",
    "healthcare_assistant",
    "mental_health_practitioner",
    "social_prescriber",
)
MODES = ("face_to_face", "telephone", "video", "home_visit")
SLOT_STATUSES = ("free", "booked")
APPOINTMENT_STATUSES = ("booked", "cancelled", "attended", "dna")
#: Who books: a practice of the federation, NHS 111, the person themself (NHS App, later).
BOOKER_KINDS = ("practice", "nhs111", "person")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Hub(Base):
    """A site of a federation or primary care network that offers extended-access sessions.

    `opening_hours` maps a weekday (``mon`` … ``sun``) to ``["08:00", "20:00"]`` (local time);
    a weekday it does not name, the hub is closed.
    """

    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(ORG_CODE, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    pcn_code: Mapped[str] = mapped_column(ORG_CODE, index=True)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class HubRoom(Base):
    """A consulting room of a hub."""

    __tablename__ = "hub_rooms"
    __table_args__ = (UniqueConstraint("hub_id", "name", name="uq_hub_rooms_hub_name"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))


class HubClinician(Base):
    """Someone who runs sessions at a hub; optionally a joinedup user."""

    __tablename__ = "hub_clinicians"
    __table_args__ = (
        UniqueConstraint("hub_id", "name", name="uq_hub_clinicians_hub_name"),
        CheckConstraint(_one_of("role", CLINICIAN_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RotaSession(Base):
    """One clinician in one room of a hub from `starts_at` to `ends_at` (a rota line)."""

    __tablename__ = "rota_sessions"
    __table_args__ = (
        UniqueConstraint("clinician_id", "starts_at", name="uq_rota_sessions_clinician_start"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("hub_clinicians.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("hub_rooms.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Slot(Base):
    """A bookable piece of a session: its GPAD national category, its mode, who may book it.

    NHS 111 may book a slot if `bookable_nhs111`, or once `released_to_nhs111_at` has passed
    (the release rule: unused capacity offered to 111, e.g. two hours before).
    """

    __tablename__ = "slots"
    __table_args__ = (
        Index("ix_slots_hub_id_starts_at", "hub_id", "starts_at"),
        Index("ix_slots_status_starts_at", "status", "starts_at"),
        UniqueConstraint("session_id", "starts_at", name="uq_slots_session_start"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(_one_of("mode", MODES), name="mode"),
        CheckConstraint(_one_of("status", SLOT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("rota_sessions.id"))
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(20))
    bookable_practices: Mapped[bool] = mapped_column(default=True)
    bookable_nhs111: Mapped[bool] = mapped_column(default=False)
    bookable_person: Mapped[bool] = mapped_column(default=False)
    released_to_nhs111_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="free")


class Appointment(Base):
    """A booking of one slot for one person. Never deleted: cancelled, attended or DNA.

    `version` starts at 1 and goes up by one with every change; the FHIR API sends it as the
    ETag (``W/"n"``) and a cancel must name it in ``If-Match``.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "uq_appointments_booked_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        CheckConstraint(_one_of("status", APPOINTMENT_STATUSES), name="status"),
        CheckConstraint(_one_of("booker_kind", BOOKER_KINDS), name="booker_kind"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    booked_by: Mapped[str] = mapped_column(String(64))
    booker_kind: Mapped[str] = mapped_column(String(10))
    booking_org: Mapped[str] = mapped_column(ORG_CODE)
    status: Mapped[str] = mapped_column(String(10), default="booked")
    version: Mapped[int] = mapped_column(default=1)
    description: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
