"""The audit trail's read side and the recording of views.

Writes are audited by `joinedup.carestore.uow.unit_of_work` in their own transaction; a *view*
of an identifiable record or an *export* has no other change to commit, so `record_view` and
`record_export` (and `record_list_view` for a worklist) write the audit event alone, before the
data is shown or sent.

The read side answers the two questions information governance asks of a trail — who looked
at this person, and what did this user see — and checks the trail's hash chain
(`verify_audit_chain`; how the chain works and what it cannot detect:
`joinedup.carestore.audit_chain`). Answering a question is itself audited
(`record_audit_query`): the audit of the auditors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.audit_chain import (
    GENESIS_HASH,
    HASHED_COLUMNS,
    entry_hash,
    seal_pending,
    sealed_tail,
)
from joinedup.carestore.models import AuditEvent
from joinedup.carestore.uow import unit_of_work
from joinedup.governance.roles import Principal

DIRECT_CARE = "direct care"
COMMISSIONING = "commissioning: pseudonymised, objectors left out"
GOVERNANCE = "information governance"
DEFAULT_LIMIT = 100
VERIFY_BATCH = 1_000

CONTENT_ALTERED = "content altered: its hash does not match what the row holds"
PREVIOUS_MISSING = "previous entry deleted or reordered: it does not follow the entry before it"
FIRST_MISSING = "earlier entries deleted: the first entry does not start the chain"
HEAD_MISSING = "the recorded head is not in the chain: newer entries were removed or rewritten"


def _record_alone(
    sessions: sessionmaker[Session], *, actor: str, actor_role: str, **event: Any
) -> None:
    """Write one audit event with nothing else to commit (a view, an export, a question)."""
    with unit_of_work(sessions, actor=actor, actor_role=actor_role, **event):
        pass


def record_view(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    person_id: int,
    what: str,
    purpose: str = DIRECT_CARE,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that `principal` is about to see `what` (e.g. "person.scores") of `person_id`."""
    _record_alone(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action=f"view.{what}",
        entity_type="person",
        entity_id=str(person_id),
        person_id=person_id,
        purpose=purpose,
        detail=detail,
    )


def record_list_view(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    what: str,
    list_id: str,
    scope: Mapping[str, Any],
    rows: int,
    identifiable: bool,
    purpose: str | None = None,
) -> None:
    """Record that `principal` is about to see `rows` people of list `list_id` in `scope`.

    A list names many people, so its view is one event naming the list, its scope and how many
    rows were shown; the people are not named: the list's rule, scope and index date reproduce
    exactly who was shown. `what` names the kind of list; the action is ``view.<what>``.
    """
    _record_alone(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action=f"view.{what}",
        entity_type=what,
        entity_id=list_id,
        purpose=purpose or (DIRECT_CARE if identifiable else COMMISSIONING),
        detail={"list": list_id, "scope": dict(scope), "rows": rows, "identifiable": identifiable},
    )


def record_search(
    sessions: sessionmaker[Session], principal: Principal, *, kinds: list[str], shown: int
) -> None:
    """Record that `principal` searched for a person by `kinds` of key (name, date_of_birth,
    nhs_number) and is about to see `shown` people. The values typed are never recorded."""
    _record_alone(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="search.people",
        entity_type="person_search",
        entity_id="people",
        purpose=DIRECT_CARE,
        detail={"kinds": list(kinds), "shown": shown},
    )


def record_export(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    what: str,
    purpose: str,
    detail: dict[str, Any] | None = None,
    channel: str | None = None,
    person_id: int | None = None,
) -> None:
    """Record that `principal` is about to download `what` (an export: rows, scope in detail).

    `channel` names a way in other than the signed-in web session (``"cli"``: the actor is
    recorded as "<username> via cli"); `person_id` is set for an export of one person's record.
    """
    _record_alone(
        sessions,
        actor=principal.actor if channel is None else f"{principal.actor} via {channel}",
        actor_role=principal.role,
        action=f"export.{what}",
        entity_type="export",
        entity_id=what,
        purpose=purpose,
        detail=detail,
        **({} if person_id is None else {"person_id": person_id}),
    )


# --- The hash chain ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What checking the audit trail's hash chain found.

    `head_hash` and `rows_checked` describe the chain up to the first break (the whole chain
    when it holds): record them elsewhere, because removing the newest entries leaves a
    shorter chain that still holds — `expect_head` then finds its recorded head missing.
    """

    rows_checked: int
    head_id: int | None
    head_hash: str
    bad_row_id: int | None = None
    problem: str | None = None
    expected_head: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _chain_rows(session: Session, up_to: int) -> Iterator[dict[str, Any]]:
    """Every audit row up to id `up_to` in id order, read in batches so a large trail is never
    all in memory."""
    columns = [AuditEvent.__table__.c[name] for name in (*HASHED_COLUMNS, "entry_hash")]
    last_id: int | None = None
    while True:
        query = select(*columns).where(AuditEvent.id <= up_to)
        query = query.order_by(AuditEvent.id).limit(VERIFY_BATCH)
        if last_id is not None:
            query = query.where(AuditEvent.id > last_id)
        rows = session.execute(query).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last_id = rows[-1]["id"]


def _link_problem(row: dict[str, Any], prev_hash: str, first: bool) -> str | None:
    if row["entry_hash"] != entry_hash(row):
        return CONTENT_ALTERED
    if row["prev_hash"] != prev_hash:
        return FIRST_MISSING if first else PREVIOUS_MISSING
    return None


def verify_audit_chain(
    sessions: sessionmaker[Session], *, expect_head: str | None = None
) -> ChainReport:
    """Seal the events not yet in the chain, then check every entry up to the sealed tail,
    oldest first, and stop at the first that breaks the chain. An empty hash below the tail
    (a sealed entry emptied since) is a content change like any other.

    `expect_head`: an `entry_hash` recorded earlier (e.g. by yesterday's verify); the chain
    must still contain it, or its newest entries were removed.
    """
    seal_pending(sessions)
    checked, head_id, head_hash = 0, None, GENESIS_HASH
    seen_expected = expect_head in (None, GENESIS_HASH)
    with sessions() as session:
        tail_id, _ = sealed_tail(session)
        rows = _chain_rows(session, tail_id) if tail_id is not None else iter(())
        for row in rows:
            checked += 1
            problem = _link_problem(row, head_hash, first=checked == 1)
            if problem is not None:
                return ChainReport(checked, head_id, head_hash, row["id"], problem, expect_head)
            head_id, head_hash = row["id"], row["entry_hash"]
            seen_expected = seen_expected or head_hash == expect_head
    problem = None if seen_expected else HEAD_MISSING
    return ChainReport(checked, head_id, head_hash, None, problem, expect_head)


# --- Who looked at whom --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    """One audit event as the governance pages and the CLI show it (no detail: it may hold
    reasons and counts that are not for a results table)."""

    when: dt.datetime
    who: str
    role: str
    action: str
    purpose: str
    entity: str
    person_id: int | None


def _audit_rows(session: Session, query: Any) -> list[AuditRow]:
    return [
        AuditRow(
            when=event.occurred_at,
            who=event.actor,
            role=event.actor_role,
            action=event.action,
            purpose=event.purpose,
            entity=" ".join(p for p in (event.entity_type, event.entity_id) if p),
            person_id=event.person_id,
        )
        for event in session.scalars(query)
    ]


def who_viewed_person(
    sessions: sessionmaker[Session], person_id: int, limit: int = DEFAULT_LIMIT
) -> list[AuditRow]:
    """Everything recorded against `person_id` (views, changes, break-glass), newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.person_id == person_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    with sessions() as session:
        return _audit_rows(session, query)


def what_user_saw(
    sessions: sessionmaker[Session],
    username: str,
    since: dt.datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[AuditRow]:
    """Everything `username` did (views, exports, changes) since `since`, newest first."""
    query = select(AuditEvent).where(AuditEvent.actor == username)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    with sessions() as session:
        return _audit_rows(session, query)


def record_audit_query(
    sessions: sessionmaker[Session],
    *,
    actor: str,
    actor_role: str,
    person_id: int | None = None,
    username: str | None = None,
) -> None:
    """Record that `actor` asked the trail about a person or a user (before the answer is
    shown). The pages pass the principal's ``actor``/``role``; the command line its OS user."""
    _record_alone(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="audit.query",
        entity_type="person" if person_id is not None else "user",
        entity_id=str(person_id) if person_id is not None else username,
        person_id=person_id,
        purpose=GOVERNANCE,
        detail={"question": "who_viewed_person" if person_id is not None else "what_user_saw"},
    )
