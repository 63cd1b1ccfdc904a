"""What the social prescribing pages show (reads only; writes are in `referrals`).

* `caseload` — a link worker's list: referrals waiting for first contact in the practices they
  work with, and the people whose link worker they are, with how long each has waited.
* `person_record` — one person's referrals, each with its follow-ups, onward referrals (named by
  the directory's service) and outcome measures.
* `service_choices` — the directory's active services to refer on to.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.directory.models import DirectoryService
from joinedup.directory.social_prescribing.models import (
    SocialPrescribingContact,
    SocialPrescribingMeasure,
    SocialPrescribingOnwardReferral,
    SocialPrescribingReferral,
)
from joinedup.governance.relationships import user_practices

OPEN = ("referred", "active")


@dataclass(frozen=True)
class CaseloadRow:
    referral_id: int
    person_id: int
    status: str
    source: str
    needs: tuple[str, ...]
    referred_at: dt.datetime
    first_contact_at: dt.datetime | None
    days_waiting: int | None  # referral to first contact, or to today while waiting
    mine: bool


@dataclass(frozen=True)
class OnwardRow:
    id: int
    service_id: str
    service_name: str
    referred_at: dt.datetime
    outcome: str | None


@dataclass(frozen=True)
class MeasureRow:
    instrument: str
    timepoint: str
    items: tuple[int, ...]
    score: float | None
    raw_score: int | None
    recorded_at: dt.datetime


@dataclass
class ReferralRecord:
    referral: SocialPrescribingReferral
    contacts: list[SocialPrescribingContact] = field(default_factory=list)
    onward: list[OnwardRow] = field(default_factory=list)
    measures: list[MeasureRow] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.referral.status in OPEN

    @property
    def days_to_first_contact(self) -> int | None:
        first = self.referral.first_contact_at
        return None if first is None else (first - self.referral.referred_at).days


def caseload(sessions: sessionmaker[Session], user_id: int, now: dt.datetime) -> list[CaseloadRow]:
    """Open referrals the link worker holds, and those waiting in their practices."""
    with sessions() as session:
        practices = user_practices(session, user_id)
        rows = session.scalars(
            select(SocialPrescribingReferral)
            .where(
                SocialPrescribingReferral.status.in_(OPEN),
                or_(
                    SocialPrescribingReferral.link_worker_id == user_id,
                    (SocialPrescribingReferral.status == "referred")
                    & SocialPrescribingReferral.practice_code.in_(sorted(practices)),
                ),
            )
            .order_by(SocialPrescribingReferral.referred_at)
        ).all()
    return [_row(r, user_id, now) for r in rows]


def _row(r: SocialPrescribingReferral, user_id: int, now: dt.datetime) -> CaseloadRow:
    until = r.first_contact_at or now
    return CaseloadRow(
        r.id,
        r.person_id,
        r.status,
        r.source,
        tuple(r.needs),
        r.referred_at,
        r.first_contact_at,
        (until - r.referred_at).days,
        r.link_worker_id == user_id,
    )


def person_record(sessions: sessionmaker[Session], person_id: int) -> list[ReferralRecord]:
    """The person's referrals, newest first, each with what was done."""
    with sessions() as session:
        referrals = session.scalars(
            select(SocialPrescribingReferral)
            .where(SocialPrescribingReferral.person_id == person_id)
            .order_by(SocialPrescribingReferral.referred_at.desc())
        ).all()
        records = {r.id: ReferralRecord(r) for r in referrals}
        ids = sorted(records)
        for contact in session.scalars(
            select(SocialPrescribingContact)
            .where(SocialPrescribingContact.referral_id.in_(ids))
            .order_by(SocialPrescribingContact.contact_at)
        ):
            records[contact.referral_id].contacts.append(contact)
        for onward, name in session.execute(
            select(SocialPrescribingOnwardReferral, DirectoryService.name)
            .join(
                DirectoryService, DirectoryService.id == SocialPrescribingOnwardReferral.service_id
            )
            .where(SocialPrescribingOnwardReferral.referral_id.in_(ids))
            .order_by(SocialPrescribingOnwardReferral.referred_at)
        ):
            records[onward.referral_id].onward.append(
                OnwardRow(onward.id, onward.service_id, name, onward.referred_at, onward.outcome)
            )
        for m in session.scalars(
            select(SocialPrescribingMeasure)
            .where(SocialPrescribingMeasure.referral_id.in_(ids))
            .order_by(SocialPrescribingMeasure.recorded_at)
        ):
            records[m.referral_id].measures.append(
                MeasureRow(
                    m.instrument, m.timepoint, tuple(m.items), m.score, m.raw_score, m.recorded_at
                )
            )
    return list(records.values())


def service_choices(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(id, name) of every active service of the directory, by name."""
    with sessions() as session:
        rows = session.execute(
            select(DirectoryService.id, DirectoryService.name)
            .where(DirectoryService.status == "active")
            .order_by(DirectoryService.name)
        ).all()
    return [(str(i), str(n)) for i, n in rows]


def measures_by_referral(
    session: Session, referral_ids: list[int]
) -> dict[int, list[SocialPrescribingMeasure]]:
    found: dict[int, list[SocialPrescribingMeasure]] = defaultdict(list)
    for m in session.scalars(
        select(SocialPrescribingMeasure)
        .where(SocialPrescribingMeasure.referral_id.in_(referral_ids))
        .order_by(SocialPrescribingMeasure.recorded_at)
    ):
        found[m.referral_id].append(m)
    return found
