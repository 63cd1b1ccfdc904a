"""Care-store tables of social prescribing, shaped by the PRSB Social Prescribing Information
Standard's minimum dataset (v1.1, 2023: demographics; needs and concerns; support offered,
including the activities referred to; outcomes).

* `SocialPrescribingReferral` — one referral of a person to the link worker service: who referred
  (source), the needs, consent, the SNOMED CT code that records it (871731000000106 referral to
  social prescribing service; 871711000000103 social prescribing declined), first contact,
  the "what matters to me" conversation, the personalised plan, and discharge. A person has at
  most one open referral (a partial unique index, as the virtual ward does for admissions).
* `SocialPrescribingContact` — each follow-up after first contact.
* `SocialPrescribingOnwardReferral` — a referral on to a directory service (ORUK id) and what
  came of it: attended, not taken up, service full.
* `SocialPrescribingMeasure` — one completed outcome measure (ONS4, WEMWBS, SWEMWBS) at start,
  review or end; the item answers are kept with the score worked out from them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, JSONDocument, UTCDateTime
from joinedup.carestore.models import BigKey
from joinedup.directory.models import ORUK_ID

REFERRED_CODE = "871731000000106"  # SNOMED CT: Referral to social prescribing service
DECLINED_CODE = "871711000000103"  # SNOMED CT: Social prescribing declined

SOURCES = ("professional", "register", "mdt", "self")
STATUSES = ("referred", "active", "declined", "discharged")
NEEDS = (
    "loneliness",
    "low_mood",
    "physical_activity",
    "money_and_debt",
    "housing",
    "carer_support",
    "long_term_condition",
    "employment",
)
CONTACT_MODES = ("in_person", "phone", "video")
ONWARD_OUTCOMES = ("attended", "not_taken_up", "service_full")
INSTRUMENTS = ("ons4", "wemwbs", "swemwbs")
TIMEPOINTS = ("start", "review", "end")
DISCHARGE_REASONS = ("goals_met", "disengaged", "moved_away", "referred_elsewhere", "died")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SocialPrescribingReferral(Base):
    """A person's referral to the link worker service, from referral to discharge."""

    __tablename__ = "sp_referrals"
    __table_args__ = (
        CheckConstraint(_one_of("source", SOURCES), name="source"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("snomed_code", (REFERRED_CODE, DECLINED_CODE)), name="snomed_code"),
        CheckConstraint(
            f"discharge_reason IS NULL OR {_one_of('discharge_reason', DISCHARGE_REASONS)}",
            name="discharge_reason",
        ),
        Index(
            "uq_sp_referrals_open_person",
            "person_id",
            unique=True,
            postgresql_where=text("status IN ('referred', 'active')"),
            sqlite_where=text("status IN ('referred', 'active')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigKey, index=True)
    practice_code: Mapped[str | None] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(16))
    needs: Mapped[list[str]] = mapped_column(JSONDocument)
    reason: Mapped[str] = mapped_column(String(500))
    consent: Mapped[bool]
    snomed_code: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(16))
    referred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    referred_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    link_worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    first_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_contact_mode: Mapped[str | None] = mapped_column(String(16))
    what_matters: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    plan_agreed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    discharged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    discharge_reason: Mapped[str | None] = mapped_column(String(24))


class SocialPrescribingContact(Base):
    """A follow-up with the person after first contact."""

    __tablename__ = "sp_contacts"
    __table_args__ = (CheckConstraint(_one_of("mode", CONTACT_MODES), name="mode"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("sp_referrals.id"), index=True)
    contact_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1000))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class SocialPrescribingOnwardReferral(Base):
    """A referral on to a directory service, and its outcome once known."""

    __tablename__ = "sp_onward_referrals"
    __table_args__ = (
        CheckConstraint(
            f"outcome IS NULL OR {_one_of('outcome', ONWARD_OUTCOMES)}", name="outcome"
        ),
        CheckConstraint("(outcome IS NULL) = (outcome_at IS NULL)", name="outcome_complete"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("sp_referrals.id"), index=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    referred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    referred_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SocialPrescribingMeasure(Base):
    """One completed outcome measure: its item answers and the score worked out from them."""

    __tablename__ = "sp_measures"
    __table_args__ = (
        CheckConstraint(_one_of("instrument", INSTRUMENTS), name="instrument"),
        CheckConstraint(_one_of("timepoint", TIMEPOINTS), name="timepoint"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("sp_referrals.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(8))
    timepoint: Mapped[str] = mapped_column(String(8))
    items: Mapped[list[Any]] = mapped_column(JSONDocument)
    # WEMWBS total; SWEMWBS metric score (raw in raw_score); ONS4 has no single score.
    score: Mapped[float | None] = mapped_column(Float)
    raw_score: Mapped[int | None]
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
