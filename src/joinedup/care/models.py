"""Care-store tables of coordinated care: the register, named professionals, the holistic care
plan and its versions, MDT meetings and their decisions, and the actions that follow.

People are named by `person_id` (the population store's id); nothing here copies their
demographics. Who did what is a user id (`users.id`); the audit trail says it again.

* `RegisterEntry` — one row per person ever on the coordinated care register (a unique
  `person_id`, so parallel additions cannot make duplicates); its `status` moves through
  `REGISTER_STATES`, and every move is a `RegisterTransition` row.
* `NamedProfessional` — who oversees the person's care, as history (`ended_at` empty = now).
* `CarePlan` + `CarePlanVersion` — one plan per person; every save is a new immutable
  version holding the whole plan as a JSON document; `CarePlan.version` is the optimistic
  concurrency token (a save names the version it started from).
* `MdtMeeting`, `MdtAttendee`, `MdtAgendaItem`, `MdtDecision` — a neighbourhood's
  multidisciplinary team meetings, their agenda (built from the register) and decisions.
* `CareAction` — one table for every tracked action, whether it came from a care plan, an MDT
  decision or was raised on its own; the worklists read it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, JSONDocument, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey

#: The register's states, in the order a person usually moves through them.
REGISTER_STATES = (
    "identified",
    "invited",
    "consented",
    "active",
    "review_due",
    "discharged",
    "declined",
    "not_contactable",
)
#: Where an addition to the register came from.
REGISTER_SOURCES = ("case_finding", "person_page", "referral")
#: The kinds of professional who may be someone's named professional.
NAMED_PROFESSIONAL_ROLES = ("gp", "nurse", "care_coordinator", "navigator")
#: Where a tracked action came from, and the states it can be in.
ACTION_SOURCES = ("care_plan", "mdt_decision", "register")
ACTION_STATES = ("open", "done", "cancelled")
CODE = String(40)


class RegisterEntry(Base):
    """A person on the coordinated care register, and where they are on it now."""

    __tablename__ = "register_entries"
    __table_args__ = (Index("ix_register_entries_practice_status", "practice_code", "status"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Where the person was registered when added: the register is read by practice and
    # neighbourhood without a trip to the population store.
    practice_code: Mapped[str] = mapped_column(ORG_CODE, index=True)
    neighbourhood_code: Mapped[str | None] = mapped_column(ORG_CODE, index=True)
    status: Mapped[str] = mapped_column(CODE, index=True)
    source: Mapped[str] = mapped_column(CODE)
    # e.g. the case-finding list id, or "efi=0.31" — what made someone add the person.
    source_detail: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    review_due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # Why someone left the register (discharged, declined, not contactable).
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    # Bumped on every change: a stale form cannot overwrite a newer state.
    version: Mapped[int] = mapped_column(Integer, default=1)


class RegisterTransition(Base):
    """One move of a register entry from one state to another: when, by whom and why."""

    __tablename__ = "register_transitions"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entries.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(CODE)  # empty for the addition itself
    to_status: Mapped[str] = mapped_column(CODE)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    by_user: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)


class NamedProfessional(Base):
    """Who oversees a person's care, as history: the row with no `ended_at` is current."""

    __tablename__ = "named_professionals"
    __table_args__ = (Index("ix_named_professionals_user_ended", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entries.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    professional_role: Mapped[str] = mapped_column(CODE)  # one of NAMED_PROFESSIONAL_ROLES
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why it ended: a hand-over note, leaving the register …
    end_reason: Mapped[str | None] = mapped_column(Text)


class CarePlan(Base):
    """A person's one holistic care plan; its content lives in its versions."""

    __tablename__ = "care_plans"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The latest version's number: the optimistic-concurrency token a save must name.
    version: Mapped[int] = mapped_column(Integer)
    # "draft" until the person has agreed a version, then "agreed" (a later unagreed save
    # makes it "draft" again); review_due_on copies the latest version's review date.
    status: Mapped[str] = mapped_column(CODE, index=True)
    review_due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class CarePlanVersion(Base):
    """One saved version of a care plan: the whole plan as a JSON document, never changed.

    `content` holds what matters to the person (in their words), goals with measures, needs by
    domain, key contacts and carer, the urgent/crisis plan, ceilings of treatment and preferred
    places of care and death (only where the person chose to record them), the medication
    review date and self-management support. The plan's service module defines its shape.
    """

    __tablename__ = "care_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    saved_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    change_note: Mapped[str | None] = mapped_column(Text)
    # The person's own agreement to this version, and who recorded it when.
    agreed_by_person: Mapped[bool] = mapped_column(default=False)
    agreed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    agreement_recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Others who agreed it (the carer, the named professional …), as written.
    agreed_with: Mapped[str | None] = mapped_column(Text)


class MdtMeeting(Base):
    """A multidisciplinary team meeting of one neighbourhood."""

    __tablename__ = "mdt_meetings"
    __table_args__ = (
        Index("ix_mdt_meetings_neighbourhood_starts", "neighbourhood_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    neighbourhood_code: Mapped[str] = mapped_column(ORG_CODE)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(CODE)  # scheduled | held | cancelled
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    held_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Generated when the meeting is closed, kept as written then.
    minutes: Mapped[str | None] = mapped_column(Text)


class MdtAttendee(Base):
    """Someone invited to (and perhaps at) a meeting, from any organisation."""

    __tablename__ = "mdt_attendees"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("mdt_meetings.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # empty for guests
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200))
    attended: Mapped[bool | None] = mapped_column()  # unknown until the meeting is held


class MdtAgendaItem(Base):
    """A person on a meeting's agenda, with why they are there (new entrant, riser …)."""

    __tablename__ = "mdt_agenda_items"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("mdt_meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    position: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSONDocument)
    discussed: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)


class MdtDecision(Base):
    """A decision the team made about a person at a meeting."""

    __tablename__ = "mdt_decisions"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("mdt_meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    text: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class CareAction(Base):
    """A tracked action for one person: an owner, an organisation, a due date and a status."""

    __tablename__ = "care_actions"
    __table_args__ = (
        Index("ix_care_actions_owner_status_due", "owner_user_id", "status", "due_on"),
        Index("ix_care_actions_person_status", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(CODE)  # one of ACTION_SOURCES
    care_plan_id: Mapped[int | None] = mapped_column(ForeignKey("care_plans.id"))
    mdt_decision_id: Mapped[int | None] = mapped_column(ForeignKey("mdt_decisions.id"))
    # The meeting the action was first raised at or last carried to.
    mdt_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("mdt_meetings.id"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_name: Mapped[str] = mapped_column(String(200))  # as shown, also for guests
    owner_org: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(CODE)  # one of ACTION_STATES
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
