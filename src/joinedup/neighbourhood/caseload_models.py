"""Care-store tables of the neighbourhood caseload and its home visits (issues 15 and 16).

* A **team member** belongs to one neighbourhood's integrated team, from any organisation (the
  community trust, a practice, social care), with a team role; a member may be a joinedup user
  (`user_id`) or not (a social care worker without an account). Nurses carry their band,
  skills, whole-time equivalent and base, which the visit planner reads.
* A **caseload entry** is a person on a neighbourhood's caseload: why, acuity, the named nurse,
  and the visit the named nurse set — type, how many days a week, minutes, the time window
  (QNI: the clinician sets it, not the app), a fixed time, required skills, two-person, the
  preferred nurse — and the next review. One open entry per person per neighbourhood (partial
  unique index on ``discharged_at IS NULL``). Discharge keeps the row, with its reason.
* A **rota shift** is one member's shift on one day (with break and most visits); ``off_from``
  is set when they go off sick that day.
* A **day plan** is one solved plan of a neighbourhood's day, kept whole as the planner's JSON
  (`visits.model.Plan`): options (least travel, most continuity) and replans. The adopted plan
  is the latest with ``adopted``; a replan carries what changed and who must be told.
* A **visit outcome** is what happened at one planned visit (done, not at home, declined, needs
  review), once per visit of a day.

Clock times on a day are whole minutes after midnight, as in the planner; instants are UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, JSONDocument, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey

ORGANISATION_KINDS = ("community_trust", "practice", "social_care")
TEAM_ROLES = (
    "lead_gp",
    "lead_district_nurse",
    "district_nurse",
    "community_nurse",
    "community_matron",
    "healthcare_assistant",
    "therapist",
    "social_worker",
    "care_coordinator",
)
#: Team roles who make home visits, so may be on the visit rota.
VISITING_ROLES = (
    "lead_district_nurse",
    "district_nurse",
    "community_nurse",
    "community_matron",
    "healthcare_assistant",
)
ACUITIES = ("high", "medium", "low")
INTAKE_SOURCES = ("referral", "register", "hospital_discharge")
VISIT_TYPES = (
    "insulin",
    "wound_care",
    "end_of_life",
    "catheter",
    "compression",
    "medication",
    "assessment",
)
DISCHARGE_REASONS = (
    "goals_met",
    "self_managing",
    "admitted_to_hospital",
    "moved_away",
    "transferred",
    "declined",
    "died",
)
PLAN_KINDS = ("least_travel", "most_continuity", "replan")
OUTCOMES = ("done", "not_at_home", "declined", "needs_review")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TeamMember(Base):
    """A member of a neighbourhood's integrated team, from any organisation, in a team role."""

    __tablename__ = "neighbourhood_team_members"
    __table_args__ = (
        CheckConstraint(_one_of("organisation_kind", ORGANISATION_KINDS), name="org_kind"),
        CheckConstraint(_one_of("team_role", TEAM_ROLES), name="team_role"),
        CheckConstraint("wte > 0 AND wte <= 1.5", name="wte"),
        CheckConstraint("band IS NULL OR band BETWEEN 2 AND 9", name="band"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    neighbourhood_code: Mapped[str] = mapped_column(
        ORG_CODE, ForeignKey("organisations.org_code"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_kind: Mapped[str] = mapped_column(String(32))
    organisation_name: Mapped[str] = mapped_column(String(200))
    team_role: Mapped[str] = mapped_column(String(32))
    band: Mapped[int | None]
    skills: Mapped[list[str]] = mapped_column(JSONDocument)
    wte: Mapped[float] = mapped_column(Float)
    base_lat: Mapped[float | None] = mapped_column(Float)
    base_lon: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CaseloadEntry(Base):
    """A person on a neighbourhood's caseload, with the visit their named nurse set."""

    __tablename__ = "caseload_entries"
    __table_args__ = (
        CheckConstraint(_one_of("acuity", ACUITIES), name="acuity"),
        CheckConstraint(_one_of("intake_source", INTAKE_SOURCES), name="intake_source"),
        CheckConstraint(_one_of("visit_type", VISIT_TYPES), name="visit_type"),
        CheckConstraint("visits_per_week BETWEEN 1 AND 7", name="visits_per_week"),
        CheckConstraint("duration_min BETWEEN 5 AND 240", name="duration"),
        CheckConstraint(
            "window_start >= 0 AND window_end <= 1440 "
            "AND window_end - window_start >= duration_min",
            name="window",
        ),
        CheckConstraint(
            f"discharge_reason IS NULL OR {_one_of('discharge_reason', DISCHARGE_REASONS)}",
            name="discharge_reason",
        ),
        CheckConstraint(
            "(discharged_at IS NULL) = (discharge_reason IS NULL)", name="discharge_complete"
        ),
        Index(
            "uq_caseload_entries_open_person",
            "neighbourhood_code",
            "person_id",
            unique=True,
            postgresql_where=text("discharged_at IS NULL"),
            sqlite_where=text("discharged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    neighbourhood_code: Mapped[str] = mapped_column(
        ORG_CODE, ForeignKey("organisations.org_code"), index=True
    )
    person_id: Mapped[int] = mapped_column(BigKey, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    intake_source: Mapped[str] = mapped_column(String(32))
    acuity: Mapped[str] = mapped_column(String(8))
    named_nurse_id: Mapped[int] = mapped_column(ForeignKey("neighbourhood_team_members.id"))
    preferred_nurse_id: Mapped[int | None] = mapped_column(
        # Named here: the convention's name is longer than PostgreSQL's 63 characters.
        ForeignKey("neighbourhood_team_members.id", name="fk_caseload_entries_preferred_nurse")
    )
    visit_type: Mapped[str] = mapped_column(String(32))
    visits_per_week: Mapped[int]
    duration_min: Mapped[int]
    window_start: Mapped[int]
    window_end: Mapped[int]
    fixed_time: Mapped[int | None]
    required_skills: Mapped[list[str]] = mapped_column(JSONDocument)
    two_person: Mapped[bool] = mapped_column(Boolean, default=False)
    next_review: Mapped[dt.date] = mapped_column(Date)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_outcome_on: Mapped[dt.date | None] = mapped_column(Date)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    discharged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    discharged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discharge_reason: Mapped[str | None] = mapped_column(String(32))


class RotaShift(Base):
    """One team member's shift on one day."""

    __tablename__ = "rota_shifts"
    __table_args__ = (
        UniqueConstraint("member_id", "day", name="uq_rota_shifts_member_day"),
        CheckConstraint("shift_end > shift_start", name="shift_order"),
        CheckConstraint(
            "break_start >= shift_start AND break_end <= shift_end "
            "AND break_end - break_start >= break_min",
            name="break_inside",
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("neighbourhood_team_members.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    shift_start: Mapped[int]
    shift_end: Mapped[int]
    break_start: Mapped[int]
    break_end: Mapped[int]
    break_min: Mapped[int]
    max_visits: Mapped[int | None]
    off_from: Mapped[int | None]


class DayPlan(Base):
    """One solved plan of a neighbourhood's day, kept whole as the planner's JSON."""

    __tablename__ = "visit_day_plans"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PLAN_KINDS), name="kind"),
        Index("ix_visit_day_plans_hood_day", "neighbourhood_code", "day"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    neighbourhood_code: Mapped[str] = mapped_column(ORG_CODE, ForeignKey("organisations.org_code"))
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    continuity_weight: Mapped[int]
    plan: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    adopted: Mapped[bool] = mapped_column(Boolean, default=False)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("visit_day_plans.id"))
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    nurses_to_tell: Mapped[list[str] | None] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class VisitOutcome(Base):
    """What happened at one planned visit of a day."""

    __tablename__ = "visit_outcomes"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
        UniqueConstraint("neighbourhood_code", "day", "visit_id", name="uq_visit_outcomes_visit"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    neighbourhood_code: Mapped[str] = mapped_column(ORG_CODE, ForeignKey("organisations.org_code"))
    day: Mapped[dt.date] = mapped_column(Date)
    visit_id: Mapped[str] = mapped_column(String(100))
    entry_id: Mapped[int] = mapped_column(ForeignKey("caseload_entries.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("neighbourhood_team_members.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
