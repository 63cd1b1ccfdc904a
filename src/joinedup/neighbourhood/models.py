"""Care-store tables of the virtual ward: wards, admissions, observation schedules, reading sets
and the alerts raised on them (issue 15; NEWS2 and the rules are in `news2` and `alerts`).

* One open admission per person, by a partial unique index (``discharged_at IS NULL``): a
  person is on at most one virtual ward at a time, on PostgreSQL and SQLite alike.
* A reading set keeps every measured value and what NEWS2 made of it when it was recorded:
  the sub-scores, and either the total and risk band or, for an incomplete set, what was missing
  (ADR 0012). Stored, not recomputed, so the board shows what the nurse was shown.
* An alert moves open → acknowledged → actioned → closed. Every change is one conditional
  ``UPDATE … WHERE state = ? AND version = ?`` (`alert_queue`): two nurses acknowledging at
  once cannot both win. ``escalation_chain`` is the rule's rota at the time it fired and
  ``escalation_level`` the place on it that now holds the alert.
* Missed readings are alerts too; ``uq_ward_alerts_admission_rule_raised`` makes the missed-
  reading check safe to run again (the same miss is never raised twice).

Instants are UTC (`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, JSONDocument, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey

# The values each coded column may take; the services and the forms read them too.
PATHWAYS = ("step_up", "step_down")
ADMISSION_SOURCES = ("gp", "community_team", "urgent_community_response", "ambulance", "hospital")
DISCHARGE_OUTCOMES = ("home", "caseload", "hospital", "died")
TAKEN_BY = ("staff", "person", "carer", "device")
ALERT_STATES = ("open", "acknowledged", "actioned", "closed")
ACTIONS_TAKEN = ("call", "visit", "medication_change", "hospital")
CONSCIOUSNESS = ("A", "C", "V", "P", "U")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class VirtualWard(Base):
    """A virtual ward of a neighbourhood or hub (`org_code`), with its capacity in beds."""

    __tablename__ = "virtual_wards"
    __table_args__ = (CheckConstraint("capacity_beds > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    org_code: Mapped[str] = mapped_column(ORG_CODE, ForeignKey("organisations.org_code"))
    capacity_beds: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WardAdmission(Base):
    """A person's stay on a virtual ward, from admission to discharge (and its outcome)."""

    __tablename__ = "ward_admissions"
    __table_args__ = (
        CheckConstraint(_one_of("pathway", PATHWAYS), name="pathway"),
        CheckConstraint(_one_of("source", ADMISSION_SOURCES), name="source"),
        CheckConstraint(
            f"discharge_outcome IS NULL OR {_one_of('discharge_outcome', DISCHARGE_OUTCOMES)}",
            name="discharge_outcome",
        ),
        CheckConstraint(
            "(discharged_at IS NULL) = (discharge_outcome IS NULL)", name="discharge_complete"
        ),
        CheckConstraint("expected_stay_days BETWEEN 1 AND 90", name="expected_stay"),
        Index(
            "uq_ward_admissions_open_person",
            "person_id",
            unique=True,
            postgresql_where=text("discharged_at IS NULL"),
            sqlite_where=text("discharged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("virtual_wards.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigKey, index=True)
    pathway: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    expected_stay_days: Mapped[int]
    responsible_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    admitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    admitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A recorded clinical decision to score SpO2 on Scale 2 (RCP 2017), or none: Scale 1.
    scale2_decided_by: Mapped[str | None] = mapped_column(String(200))
    scale2_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    scale2_target_low: Mapped[int | None]
    scale2_target_high: Mapped[int | None]
    discharged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    discharged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discharge_outcome: Mapped[str | None] = mapped_column(String(16))


class ObservationSchedule(Base):
    """Which NEWS2 parameters a person is to send, how often, with what grace, from when."""

    __tablename__ = "ward_observation_schedules"
    __table_args__ = (
        CheckConstraint("every_minutes > 0", name="every_positive"),
        CheckConstraint("grace_minutes >= 0", name="grace_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("ward_admissions.id"), index=True)
    parameters: Mapped[list[str]] = mapped_column(JSONDocument)
    every_minutes: Mapped[int]
    grace_minutes: Mapped[int]
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ReadingSet(Base):
    """One set of observations taken together, with the NEWS2 result it had when recorded."""

    __tablename__ = "ward_reading_sets"
    __table_args__ = (
        CheckConstraint(_one_of("taken_by", TAKEN_BY), name="taken_by"),
        CheckConstraint(
            f"consciousness IS NULL OR {_one_of('consciousness', CONSCIOUSNESS)}",
            name="consciousness",
        ),
        CheckConstraint("spo2_scale IN (1, 2)", name="spo2_scale"),
        CheckConstraint(
            "news2_risk IS NULL OR news2_risk IN ('low', 'low-medium', 'medium', 'high')",
            name="news2_risk",
        ),
        CheckConstraint("(news2_total IS NULL) = (news2_risk IS NULL)", name="total_and_risk"),
        Index("ix_ward_reading_sets_admission_taken", "admission_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("ward_admissions.id"))
    person_id: Mapped[int] = mapped_column(BigKey)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resp_rate: Mapped[float | None] = mapped_column(Float)
    spo2: Mapped[float | None] = mapped_column(Float)
    on_oxygen: Mapped[bool | None]
    systolic_bp: Mapped[float | None] = mapped_column(Float)
    pulse: Mapped[float | None] = mapped_column(Float)
    consciousness: Mapped[str | None] = mapped_column(String(1))
    temperature: Mapped[float | None] = mapped_column(Float)
    spo2_scale: Mapped[int]
    sub_scores: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    missing: Mapped[list[str]] = mapped_column(JSONDocument)
    partial_sum: Mapped[int]
    red_score: Mapped[bool]
    news2_total: Mapped[int | None]
    news2_risk: Mapped[str | None] = mapped_column(String(16))


class WardAlert(Base):
    """An alert in the ward's queue: what fired, why, by when, and what was done about it."""

    __tablename__ = "ward_alerts"
    __table_args__ = (
        CheckConstraint(_one_of("state", ALERT_STATES), name="state"),
        CheckConstraint(
            f"action_taken IS NULL OR {_one_of('action_taken', ACTIONS_TAKEN)}",
            name="action_taken",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        UniqueConstraint(
            "admission_id", "rule_id", "raised_at", name="uq_ward_alerts_admission_rule_raised"
        ),
        Index("ix_ward_alerts_state_due", "state", "due_by"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("ward_admissions.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigKey)
    reading_set_id: Mapped[int | None] = mapped_column(ForeignKey("ward_reading_sets.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_by: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="open")
    escalation_chain: Mapped[list[str]] = mapped_column(JSONDocument)
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_to_role: Mapped[str] = mapped_column(String(32))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    action_taken: Mapped[str | None] = mapped_column(String(32))
    actioned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actioned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(500))
    changed_management: Mapped[bool | None]
    version: Mapped[int] = mapped_column(default=1)
