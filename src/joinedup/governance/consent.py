"""A person's consent to share their care plan: recorded as history, the latest decision stands.

Sharing a care plan across organisations honours the person's own choice (the Caldicott
Principles, National Data Guardian, 2020: principle 7, the duty to share for individual care,
and principle 8, informing people how their information is used). Each decision — given,
refused or withdrawn — is a new row (`joinedup.governance.models.Consent`); nothing is
overwritten, so the history shows what was in force when. Recording is a write like any
other: one transaction with its audit event. The note is the recorder's own words and stays
in the care store, not in the audit detail (audit events name the person by person_id only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.models import Consent, Objection
from joinedup.governance.roles import Principal

KINDS: dict[str, str] = {"share_care_plan": "Share my care plan with the people caring for me"}
DECISIONS: dict[str, str] = {
    "given": "Consent given",
    "refused": "Consent refused",
    "withdrawn": "Consent withdrawn",
}
DEFAULT_KIND = "share_care_plan"
NOTE_MAX = 2_000
PURPOSE = "direct care: record the person's consent"


class ConsentError(UserError, ValueError):
    """A consent decision cannot be recorded as asked (the message says what to fix)."""


class ConsentNotAllowed(UserError, PermissionError):
    """The user's role may not record people's consent."""


@dataclass(frozen=True)
class ConsentRecord:
    """One recorded decision."""

    id: int
    person_id: int
    kind: str
    decision: str
    recorded_at: dt.datetime
    recorded_by: str
    note: str | None

    @property
    def decision_label(self) -> str:
        return DECISIONS.get(self.decision, self.decision)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class ObjectionRecord:
    """An objection to secondary use, as recorded (active while `withdrawn_at` is None)."""

    id: int
    kind: str
    source: str
    recorded_at: dt.datetime
    recorded_by: str
    withdrawn_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


def _record(row: Consent) -> ConsentRecord:
    return ConsentRecord(
        row.id, row.person_id, row.kind, row.decision, row.recorded_at, row.recorded_by, row.note
    )


def record_consent(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    kind: str = DEFAULT_KIND,
    decision: str = "given",
    note: str | None = None,
) -> ConsentRecord:
    """Record `person_id`'s decision about `kind`; it stands until the next one is recorded.

    The caller has checked the legitimate relationship; this checks the permission
    (``consent.record``), the kind, the decision and the note's length. The note is stored
    exactly as written (whitespace at its ends trimmed).
    """
    if not principal.can("consent.record"):
        raise ConsentNotAllowed(f"the {principal.role_name} role may not record consent")
    if kind not in KINDS:
        raise ConsentError(f"consent kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if decision not in DECISIONS:
        raise ConsentError(
            f"a consent decision must be one of {', '.join(DECISIONS)}, not {decision!r}"
        )
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise ConsentError(f"The note must be {NOTE_MAX:,} characters or fewer")
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="consent.record",
        entity_type="consent",
        person_id=person_id,
        purpose=PURPOSE,
        detail={"kind": kind, "decision": decision, "has_note": text is not None},
    ) as uow:
        row = Consent(
            person_id=person_id,
            kind=kind,
            decision=decision,
            recorded_at=uow.now,
            recorded_by=principal.actor,
            note=text,
        )
        uow.session.add(row)
        uow.session.flush()
        uow.audit.entity_id = str(row.id)
        return _record(row)


def consent_history(
    sessions: sessionmaker[Session], person_id: int, kind: str = DEFAULT_KIND
) -> list[ConsentRecord]:
    """Every decision recorded for `person_id` about `kind`, newest first."""
    with sessions() as session:
        return consent_history_in(session, person_id, kind)


def consent_history_in(
    session: Session, person_id: int, kind: str = DEFAULT_KIND
) -> list[ConsentRecord]:
    """`consent_history` in a session of the caller's (a page's reads together)."""
    rows = session.scalars(
        select(Consent)
        .where(Consent.person_id == person_id, Consent.kind == kind)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
    )
    return [_record(r) for r in rows]


def current_consent_in(
    session: Session, person_id: int, kind: str = DEFAULT_KIND
) -> ConsentRecord | None:
    """`current_consent` in a session of the caller's."""
    history = consent_history_in(session, person_id, kind)
    return history[0] if history else None


def current_consent(
    sessions: sessionmaker[Session], person_id: int, kind: str = DEFAULT_KIND
) -> ConsentRecord | None:
    """The decision in force for `person_id` about `kind` (the latest recorded), or None."""
    history = consent_history(sessions, person_id, kind)
    return history[0] if history else None


def objections_of(sessions: sessionmaker[Session], person_id: int) -> list[ObjectionRecord]:
    """Every objection recorded for `person_id`, active or withdrawn, newest first."""
    with sessions() as session:
        rows = session.scalars(
            select(Objection)
            .where(Objection.person_id == person_id)
            .order_by(Objection.recorded_at.desc(), Objection.id.desc())
        )
        return [
            ObjectionRecord(r.id, r.kind, r.source, r.recorded_at, r.recorded_by, r.withdrawn_at)
            for r in rows
        ]
