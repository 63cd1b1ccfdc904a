"""Care navigation at first contact: a receptionist or care navigator finds the right service
for a caller — in the directory, or among the practice's own services (the community
pharmacist, self-referral physiotherapy, NHS Talking Therapies, the extended-access hub) — and
records the signposting with the caller's need and its outcome.

Counted by practice and need (`signposting_report`), so commissioners see how much demand is
met outside GP appointments: an outcome in `MET_OUTSIDE_GP` (signposted, or referred or booked
for the caller) is demand met elsewhere; "still needed a GP appointment" is not. The report is
an aggregate: every count passes small-number suppression (`governance.suppression`).

A record names no caller (see `navigation_models`), so recording needs no legitimate
relationship, only the `navigation.record` permission and a practice the user works in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import unit_of_work
from joinedup.directory import models as m
from joinedup.directory.navigation_models import Signposting
from joinedup.errors import UserError
from joinedup.governance.relationships import practices_covered
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import suppress_count

RECORD_PERMISSION = "navigation.record"
PURPOSE = "care navigation at first contact"

#: Outcome key → how the page says it.
OUTCOMES: dict[str, str] = {
    "signposted": "Given the service's details to contact it",
    "referred": "Referred or booked by us for the caller",
    "declined": "Caller declined",
    "gp_needed": "Caller still needed a GP appointment",
}
MET_OUTSIDE_GP = frozenset({"signposted", "referred"})


@dataclass(frozen=True)
class PracticeService:
    """A service the practice itself offers or sends callers to without a GP appointment."""

    key: str
    name: str
    description: str
    need: str  # the Open Eligibility category it meets


PRACTICE_SERVICES: tuple[PracticeService, ...] = (
    PracticeService(
        "pharmacy",
        "Community pharmacist (Pharmacy First)",
        "Minor illnesses and seven common conditions treated by the pharmacist, no GP needed.",
        "Health",
    ),
    PracticeService(
        "physiotherapy",
        "Self-referral physiotherapy",
        "Back, joint and muscle problems: the caller refers themselves to the MSK service.",
        "Health",
    ),
    PracticeService(
        "talking-therapies",
        "NHS Talking Therapies",
        "Anxiety, low mood and stress: the caller refers themselves online or by phone.",
        "Health",
    ),
    PracticeService(
        "hub",
        "Extended-access hub",
        "Evening and weekend appointments with the federation's clinicians.",
        "Health",
    ),
)
PRACTICE_SERVICE_KEYS = {s.key: s for s in PRACTICE_SERVICES}


class SignpostingError(UserError, ValueError):
    """A signposting cannot be recorded as asked; `problems` holds every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Destination:
    """Where a caller may be sent: a directory service or a practice service."""

    name: str
    service_id: str | None = None
    practice_service: str | None = None


@dataclass(frozen=True)
class RecordedSignposting:
    id: int
    recorded_at: dt.datetime
    recorded_by: str
    practice_code: str
    need: str
    destination: str
    outcome: str


@dataclass(frozen=True)
class ReportRow:
    practice_code: str
    practice_name: str
    need: str
    total: int | None  # suppressed: None is withheld (1–7)
    met_outside_gp: int | None


@dataclass(frozen=True)
class SignpostingReport:
    rows: tuple[ReportRow, ...]
    total: int | None
    met_outside_gp: int | None


def navigator_practices(sessions: sessionmaker[Session], user: Principal) -> list[Organisation]:
    """The practices the user works at or under, by name."""
    with sessions() as session:
        codes = practices_covered(session, user.organisations)
        return list(
            session.scalars(
                select(Organisation)
                .where(Organisation.org_code.in_(codes), Organisation.active.is_(True))
                .order_by(Organisation.name)
            )
        )


def record_signposting(
    sessions: sessionmaker[Session],
    user: Principal,
    *,
    practice_code: str,
    need_term_id: str,
    destination: Destination,
    outcome: str,
) -> int:
    """Record one signposting (audited in the same transaction); its id."""
    if not user.can(RECORD_PERMISSION):
        raise SignpostingError(["your role may not record care navigation"])
    problems = []
    if outcome not in OUTCOMES:
        problems.append("choose what happened (the outcome)")
    with unit_of_work(
        sessions,
        actor=user.actor,
        actor_role=user.role,
        action="navigation.signpost",
        entity_type="care_navigation_signpost",
        purpose=PURPOSE,
    ) as uow:
        session = uow.session
        if practice_code not in practices_covered(session, user.organisations):
            problems.append("choose a practice you work at")
        term = session.get(m.DirectoryTaxonomyTerm, need_term_id) if need_term_id else None
        if term is None:
            problems.append("choose the caller's need")
        name = _destination_name(session, destination)
        if name is None:
            problems.append("choose the service the caller was sent to")
        if problems:
            raise SignpostingError(problems)
        assert term is not None and name is not None
        row = Signposting(
            recorded_at=uow.now,
            recorded_by=user.actor,
            practice_code=practice_code,
            need_term_id=term.id,
            need=term.name,
            service_id=destination.service_id,
            practice_service=destination.practice_service,
            destination=name,
            outcome=outcome,
        )
        session.add(row)
        session.flush()
        uow.audit.entity_id = str(row.id)
        uow.audit.detail.update(
            practice_code=practice_code,
            need=term.name,
            service_id=destination.service_id,
            practice_service=destination.practice_service,
            outcome=outcome,
        )
        return row.id


def _destination_name(session: Session, destination: Destination) -> str | None:
    """The destination's name, or None when it names no service (or names two)."""
    if bool(destination.service_id) == bool(destination.practice_service):
        return None
    if destination.practice_service:
        found = PRACTICE_SERVICE_KEYS.get(destination.practice_service)
        return found.name if found else None
    service = session.get(m.DirectoryService, destination.service_id)
    return service.name if service else None


def recent_signposting(
    sessions: sessionmaker[Session], practice_codes: Iterable[str], limit: int = 20
) -> list[RecordedSignposting]:
    """The latest signposting recorded at these practices, newest first (no caller named)."""
    row = Signposting
    with sessions() as session:
        found = session.execute(
            select(
                row.id,
                row.recorded_at,
                row.recorded_by,
                row.practice_code,
                row.need,
                row.destination,
                row.outcome,
            )
            .where(row.practice_code.in_(list(practice_codes)))
            .order_by(row.recorded_at.desc(), row.id.desc())
            .limit(limit)
        )
        return [RecordedSignposting(*r) for r in found]


def signposting_report(
    sessions: sessionmaker[Session],
    *,
    since: dt.datetime | None = None,
) -> SignpostingReport:
    """Signposting counted by practice and need, every count suppressed."""
    row = Signposting
    met = func.sum(case((row.outcome.in_(sorted(MET_OUTSIDE_GP)), 1), else_=0))
    query = (
        select(row.practice_code, Organisation.name, row.need, func.count(), met)
        .join(Organisation, Organisation.org_code == row.practice_code)
        .group_by(row.practice_code, Organisation.name, row.need)
        .order_by(Organisation.name, row.need)
    )
    if since is not None:
        query = query.where(row.recorded_at >= since)
    with sessions() as session:
        counted = session.execute(query).all()
    rows = tuple(
        ReportRow(code, name, need, suppress_count(int(n)), suppress_count(int(m_ or 0)))
        for code, name, need, n, m_ in counted
    )
    total = sum(int(r[3]) for r in counted)
    met_total = sum(int(r[4] or 0) for r in counted)
    return SignpostingReport(rows, suppress_count(total), suppress_count(met_total))
