"""The coordinated care register: who is on it, where they are on it, and every move, audited.

A person is added from a case-finding list, from their own page or by referral, always with a
reason and where it came from. They then move through the states of `REGISTER_STATES`:

    identified → invited → consented → active ⇄ review_due → discharged

with `declined` and `not_contactable` as outcomes in their own right. `TRANSITIONS` is the one
table of allowed moves; each move is a `RegisterTransition` row written in the same unit of work
as its audit event, and names the entry version it started from, so a stale form cannot
overwrite a newer state (optimistic concurrency).

There is one entry per person ever on the register (``register_entries.person_id`` is unique):
two people adding the same person at once get one entry and, for the second, a clear "already
on the register" answer. Someone who left (discharged, declined, not contactable) comes back by
moving their entry to `identified` again, so their history stays in one place.

Moving to `consented` needs the person's consent to share their care plan in force
(`joinedup.governance.consent`): the user either confirms it was recorded already, or records it
in the same transaction (which needs ``consent.record``, exactly as recording it alone does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import (
    REGISTER_SOURCES,
    REGISTER_STATES,
    NamedProfessional,
    RegisterEntry,
    RegisterTransition,
)
from joinedup.carestore.db import reading
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.consent import DEFAULT_KIND, current_consent
from joinedup.governance.models import CareTeamMember, Consent
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore

#: Where an entry may move from each state. The one table the service and the pages read.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "identified": ("invited", "declined", "not_contactable", "discharged"),
    "invited": ("consented", "declined", "not_contactable", "discharged"),
    "consented": ("active", "declined", "discharged"),
    "active": ("review_due", "discharged"),
    "review_due": ("active", "discharged"),
    # Leaving is not for ever: a re-referral reopens the same entry.
    "discharged": ("identified",),
    "declined": ("identified",),
    "not_contactable": ("invited", "identified"),
}
#: States in which a person has left the register (a reason is required to move into them).
ENDED_STATES = frozenset({"discharged", "declined", "not_contactable"})
#: States in which a person counts as on the register (coverage, measures, case finding).
OPEN_STATES = tuple(s for s in REGISTER_STATES if s not in ENDED_STATES)
STATE_LABELS: Mapping[str, str] = {
    "identified": "Identified",
    "invited": "Invited",
    "consented": "Consented",
    "active": "Active",
    "review_due": "Review due",
    "discharged": "Discharged",
    "declined": "Declined",
    "not_contactable": "Not contactable",
}
SOURCE_LABELS: Mapping[str, str] = {
    "case_finding": "Case-finding list",
    "person_page": "The person's page",
    "referral": "Referral",
}
#: How long after becoming active (or being reviewed) the next review falls due, unless given.
REVIEW_INTERVAL = dt.timedelta(days=182)
REASON_MAX = 2_000
DETAIL_MAX = 200

assert set(TRANSITIONS) == set(REGISTER_STATES)


class RegisterError(UserError, ValueError):
    """A register change cannot be made as asked (the message says what to fix)."""


class AlreadyOnRegister(RegisterError):
    """The person already has a register entry."""

    def __init__(self, person_id: int, status: str | None) -> None:
        state = STATE_LABELS.get(status or "", status or "on it")
        super().__init__(
            f"person {person_id} is already on the coordinated care register ({state.lower()})"
        )
        self.person_id = person_id
        self.status = status


class StaleEntry(RegisterError):
    """The entry changed since the form was opened."""


class NotOnRegister(UserError, LookupError):
    """No register entry with that id or for that person."""


class RegisterNotAllowed(UserError, PermissionError):
    """The user may not change this person's register entry."""


class PersonUnknown(UserError, LookupError):
    """The population store holds no such person."""


@dataclass(frozen=True)
class RegisterRecord:
    """A register entry as the pages show it."""

    id: int
    person_id: int
    practice_code: str
    neighbourhood_code: str | None
    status: str
    source: str
    source_detail: str | None
    reason: str
    added_by: int
    added_at: dt.datetime
    status_changed_at: dt.datetime
    review_due_on: dt.date | None
    outcome_reason: str | None
    version: int

    @property
    def status_label(self) -> str:
        return STATE_LABELS.get(self.status, self.status)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def is_open(self) -> bool:
        return self.status not in ENDED_STATES

    @property
    def next_states(self) -> tuple[str, ...]:
        return TRANSITIONS.get(self.status, ())


@dataclass(frozen=True)
class TransitionRecord:
    from_status: str | None
    to_status: str
    at: dt.datetime
    by_user: int
    reason: str | None

    @property
    def to_label(self) -> str:
        return STATE_LABELS.get(self.to_status, self.to_status)

    @property
    def from_label(self) -> str:
        return STATE_LABELS.get(self.from_status or "", "") if self.from_status else ""


def record_of(row: RegisterEntry) -> RegisterRecord:
    return RegisterRecord(
        row.id,
        row.person_id,
        row.practice_code,
        row.neighbourhood_code,
        row.status,
        row.source,
        row.source_detail,
        row.reason,
        row.added_by,
        row.added_at,
        row.status_changed_at,
        row.review_due_on,
        row.outcome_reason,
        row.version,
    )


# --- adding ------------------------------------------------------------------------------------


def add_to_register(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    actor: Principal,
    *,
    person_id: int,
    source: str,
    reason: str,
    source_detail: str | None = None,
) -> RegisterRecord:
    """Add `person_id` to the register as `identified`; one transaction with its audit event.

    Refuses users without ``care.write`` or a legitimate relationship with the person, unknown
    people, and people already on the register (`AlreadyOnRegister`, also when another user
    added them a moment earlier). The practice and neighbourhood are the person's registration
    in the population store now.
    """
    _require_write(actor)
    if source not in REGISTER_SOURCES:
        raise RegisterError(f"the source must be one of {', '.join(REGISTER_SOURCES)}")
    why = _text(reason, "the reason", REASON_MAX, required=True)
    detail = _text(source_detail, "the source detail", DETAIL_MAX)
    person = find_person(store, person_id)
    if person is None:
        raise PersonUnknown(f"there is no person {person_id} in the population store")
    if not person.practice_code:
        raise RegisterError(f"person {person_id} is not registered at one of the area's practices")
    if not person_access(sessions, actor, person_id, person.practice_code).allowed:
        raise RegisterNotAllowed(
            "you have no care relationship with this person, so you cannot add them"
        )
    existing = entry_for_person(sessions, person_id)
    if existing is not None:
        raise AlreadyOnRegister(person_id, existing.status)
    try:
        with unit_of_work(
            sessions,
            actor=actor.actor,
            actor_role=actor.role,
            action="register.add",
            entity_type="register_entry",
            person_id=person_id,
            purpose=DIRECT_CARE,
            detail={"source": source, "source_detail": detail, "status": "identified"},
        ) as uow:
            row = RegisterEntry(
                person_id=person_id,
                practice_code=person.practice_code,
                neighbourhood_code=person.neighbourhood_code,
                status="identified",
                source=source,
                source_detail=detail,
                reason=why,
                added_by=actor.user_id,
                added_at=uow.now,
                status_changed_at=uow.now,
                version=1,
            )
            uow.session.add(row)
            uow.session.flush()  # a parallel addition of the same person fails here
            uow.session.add(
                RegisterTransition(
                    entry_id=row.id,
                    from_status=None,
                    to_status="identified",
                    at=uow.now,
                    by_user=actor.user_id,
                    reason=why,
                )
            )
            uow.audit.entity_id = str(row.id)
            record = record_of(row)
    except IntegrityError:
        # Another transaction added the person between our check and our insert.
        raced = entry_for_person(sessions, person_id)
        raise AlreadyOnRegister(person_id, raced.status if raced else None) from None
    return record


# --- moving ------------------------------------------------------------------------------------


def move(
    sessions: sessionmaker[Session],
    actor: Principal,
    entry_id: int,
    *,
    to_status: str,
    expected_version: int,
    reason: str | None = None,
    review_due_on: dt.date | None = None,
    consent_confirmed: bool = False,
    record_consent: bool = False,
) -> RegisterRecord:
    """Move entry `entry_id` to `to_status`, if `TRANSITIONS` allows it; audited, one transaction.

    `expected_version` is the version the user's form showed: a newer one means someone else
    changed the entry, and nothing is written (`StaleEntry`). Moving to an ended state needs a
    reason. Moving to `consented` needs the person's consent in force (`consent_confirmed`
    checks it is recorded) or recorded now (`record_consent`: needs ``consent.record``).
    Becoming `active` sets the next review date (`review_due_on`, else `REVIEW_INTERVAL` on);
    leaving ends the current named professional and their care-team place.
    """
    _require_write(actor)
    if to_status not in REGISTER_STATES:
        raise RegisterError(f"the state must be one of {', '.join(REGISTER_STATES)}")
    why = _text(reason, "the reason", REASON_MAX, required=to_status in ENDED_STATES)
    current = get_entry(sessions, entry_id)
    if not person_access(sessions, actor, current.person_id, current.practice_code).allowed:
        raise RegisterNotAllowed("you have no care relationship with this person")
    if to_status == "consented":
        _check_consent(sessions, actor, current.person_id, consent_confirmed, record_consent)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="register.transition",
        entity_type="register_entry",
        entity_id=str(entry_id),
        person_id=current.person_id,
        purpose=DIRECT_CARE,
    ) as uow:
        row = uow.session.get(RegisterEntry, entry_id, with_for_update=True)
        if row is None:
            raise NotOnRegister(f"there is no register entry {entry_id}")
        if row.version != expected_version:
            raise StaleEntry(
                f"this entry was changed after you opened it (it is now "
                f"{STATE_LABELS.get(row.status, row.status).lower()}): review it and try again"
            )
        if to_status not in TRANSITIONS[row.status]:
            allowed = ", ".join(STATE_LABELS[s].lower() for s in TRANSITIONS[row.status])
            raise RegisterError(
                f"an entry that is {STATE_LABELS[row.status].lower()} can move only to: {allowed}"
            )
        uow.audit.detail.update(from_status=row.status, to_status=to_status)
        if to_status == "consented" and record_consent:
            _insert_consent(uow.session, actor, row.person_id, uow.now)
            uow.audit.detail["consent_recorded"] = True
        _apply(uow.session, row, to_status, why, review_due_on, uow.now)
        uow.session.add(
            RegisterTransition(
                entry_id=row.id,
                from_status=uow.audit.detail["from_status"],
                to_status=to_status,
                at=uow.now,
                by_user=actor.user_id,
                reason=why,
            )
        )
        if to_status in ENDED_STATES:
            ended = end_named_professional(uow.session, row.person_id, uow.now, "left the register")
            uow.audit.detail["named_professional_ended"] = ended
        uow.session.flush()
        return record_of(row)


def _apply(
    session: Session,
    row: RegisterEntry,
    to_status: str,
    reason: str | None,
    review_due_on: dt.date | None,
    now: dt.datetime,
) -> None:
    row.status = to_status
    row.status_changed_at = now
    row.version += 1
    if to_status in ENDED_STATES:
        row.outcome_reason = reason
        row.review_due_on = None
    elif to_status == "identified":
        row.outcome_reason = None
    if to_status == "active":
        row.review_due_on = review_due_on or (now + REVIEW_INTERVAL).date()
    elif review_due_on is not None and to_status not in ENDED_STATES:
        row.review_due_on = review_due_on


def end_named_professional(session: Session, person_id: int, now: dt.datetime, reason: str) -> bool:
    """End the person's current named professional and their care-team place, inside the
    caller's unit of work. True if there was one."""
    current = session.scalars(
        select(NamedProfessional).where(
            NamedProfessional.person_id == person_id, NamedProfessional.ended_at.is_(None)
        )
    ).all()
    for named in current:
        named.ended_at = now
        named.end_reason = reason
        for member in session.scalars(
            select(CareTeamMember).where(
                CareTeamMember.person_id == person_id,
                CareTeamMember.user_id == named.user_id,
                CareTeamMember.team_role == NAMED_TEAM_ROLE,
                CareTeamMember.ended_at.is_(None),
            )
        ):
            member.ended_at = now
    return bool(current)


#: The care-team role a named professional holds (the legitimate relationship it gives).
NAMED_TEAM_ROLE = "named_professional"


def _check_consent(
    sessions: sessionmaker[Session],
    actor: Principal,
    person_id: int,
    confirmed: bool,
    record_now: bool,
) -> None:
    if record_now:
        if not actor.can("consent.record"):
            raise RegisterNotAllowed(f"the {actor.role_name} role may not record consent")
        return
    consent = current_consent(sessions, person_id)
    if consent is None or consent.decision != "given":
        raise RegisterError(
            "the person's consent to share their care plan is not recorded: record it first, "
            "or record it now as you mark them consented"
        )
    if not confirmed:
        raise RegisterError("Confirm that the person has consented to coordinated care")


def _insert_consent(session: Session, actor: Principal, person_id: int, now: dt.datetime) -> None:
    """The same row `joinedup.governance.consent.record_consent` writes, in this transaction."""
    session.add(
        Consent(
            person_id=person_id,
            kind=DEFAULT_KIND,
            decision="given",
            recorded_at=now,
            recorded_by=actor.actor,
            note="Recorded when the person joined the coordinated care register.",
        )
    )


def mark_reviews_due(sessions: sessionmaker[Session], actor: Principal, *, as_of: dt.date) -> int:
    """Move every active entry whose review date has come (on or before `as_of`) to
    `review_due`; one audited transaction per entry. Returns how many moved."""
    with sessions() as session:
        due = session.execute(
            select(RegisterEntry.id, RegisterEntry.version).where(
                RegisterEntry.status == "active", RegisterEntry.review_due_on <= as_of
            )
        ).all()
    moved = 0
    for entry_id, version in due:
        try:
            move(sessions, actor, entry_id, to_status="review_due", expected_version=version)
        except (StaleEntry, RegisterNotAllowed):
            continue  # changed meanwhile, or outside the actor's care: left for its own team
        moved += 1
    return moved


# --- reading -----------------------------------------------------------------------------------


def get_entry(sessions: sessionmaker[Session], entry_id: int) -> RegisterRecord:
    with sessions() as session:
        row = session.get(RegisterEntry, entry_id)
        if row is None:
            raise NotOnRegister(f"there is no register entry {entry_id}")
        return record_of(row)


def entry_for_person(sessions: sessionmaker[Session], person_id: int) -> RegisterRecord | None:
    with sessions() as session:
        return entry_in(session, person_id)


def entry_in(session: Session, person_id: int) -> RegisterRecord | None:
    """`entry_for_person` in a session of the caller's (a page's reads together)."""
    row = session.scalar(select(RegisterEntry).where(RegisterEntry.person_id == person_id))
    return record_of(row) if row is not None else None


def transitions_of(sessions: sessionmaker[Session], entry_id: int) -> list[TransitionRecord]:
    """Every move of the entry, oldest first."""
    with sessions() as session:
        return transitions_in(session, entry_id)


def transitions_in(session: Session, entry_id: int) -> list[TransitionRecord]:
    """`transitions_of` in a session of the caller's."""
    rows = session.scalars(
        select(RegisterTransition)
        .where(RegisterTransition.entry_id == entry_id)
        .order_by(RegisterTransition.at, RegisterTransition.id)
    )
    return [TransitionRecord(r.from_status, r.to_status, r.at, r.by_user, r.reason) for r in rows]


def register_members(sessions: sessionmaker[Session]) -> frozenset[int]:
    """People on the register now: every entry in an open state (`OPEN_STATES`)."""
    with reading(sessions)() as session:
        ids = session.scalars(
            select(RegisterEntry.person_id).where(RegisterEntry.status.in_(OPEN_STATES))
        ).all()
    return frozenset(int(i) for i in ids)


def list_entries(
    sessions: sessionmaker[Session],
    *,
    practices: Collection[str] | None = None,
    status: str | None = None,
    neighbourhood: str | None = None,
    limit: int = 500,
) -> list[RegisterRecord]:
    """Register entries, newest change first, within `practices` (None: all)."""
    query = select(RegisterEntry)
    if practices is not None:
        query = query.where(RegisterEntry.practice_code.in_(sorted(practices)))
    if status:
        query = query.where(RegisterEntry.status == status)
    if neighbourhood:
        query = query.where(RegisterEntry.neighbourhood_code == neighbourhood)
    query = query.order_by(RegisterEntry.status_changed_at.desc(), RegisterEntry.id).limit(limit)
    with sessions() as session:
        return [record_of(r) for r in session.scalars(query)]


def counts_by_state(
    sessions: sessionmaker[Session],
    *,
    practices: Collection[str] | None = None,
    excluding: Collection[int] = (),
) -> dict[str, int]:
    """How many entries are in each state (every state listed, zeros included)."""
    query = select(RegisterEntry.status, func.count()).group_by(RegisterEntry.status)
    if practices is not None:
        query = query.where(RegisterEntry.practice_code.in_(sorted(practices)))
    if excluding:
        query = query.where(RegisterEntry.person_id.not_in(sorted(excluding)))
    with sessions() as session:
        found = {str(s): int(n) for s, n in session.execute(query)}
    return {state: found.get(state, 0) for state in REGISTER_STATES}


# --- helpers -----------------------------------------------------------------------------------


def _require_write(actor: Principal) -> None:
    if not actor.can("care.write"):
        raise RegisterNotAllowed(f"the {actor.role_name} role may not change the register")


def _text(value: str | None, what: str, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip() or None
    if text is None and required:
        raise RegisterError(f"Enter {what}")
    if text is not None and len(text) > limit:
        raise RegisterError(f"{what[:1].upper()}{what[1:]} must be {limit:,} characters or fewer")
    return text
