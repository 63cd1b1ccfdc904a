"""Break-glass: opening one person's record without a legitimate relationship, and its review.

Modelled on the NHS Care Record Guarantee's commitment that access without a legitimate
relationship is possible in an emergency but recorded, justified and checked afterwards
(NHS Care Record Guarantee, commitment 9; Spine "emergency access"/"break glass" with a
reason, reported to the organisation's privacy officer). Here:

* a user with ``record.break_glass`` states a reason (at least `MIN_REASON_LENGTH`
  characters, so "emergency" alone will not do) and gets access to that one person for
  `GRANT_DURATION`; `joinedup.governance.relationships.person_access` honours unexpired grants;
* the grant is audited (``break_glass.grant``, reason in the detail: it explains the access,
  it is not patient data) and stays flagged until a governance lead (``break_glass.review``)
  reviews it as appropriate or inappropriate; nobody reviews their own grant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE, GOVERNANCE
from joinedup.governance.models import BreakGlassGrant, User
from joinedup.governance.roles import Principal

GRANT_DURATION = dt.timedelta(hours=8)  # one working shift
MIN_REASON_LENGTH = 15
RECENT_REVIEWS = 20

Outcome = Literal["appropriate", "inappropriate"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


class BreakGlassError(UserError):
    """A break-glass request or review that cannot be done as asked."""


class BreakGlassNotAllowed(BreakGlassError, PermissionError):
    """The user's role does not allow this, or they are reviewing their own access."""


class GrantNotFound(BreakGlassError, LookupError):
    """No break-glass grant has that id."""


def _need(principal: Principal, permission: str) -> None:
    if not principal.can(permission):
        raise BreakGlassNotAllowed(f"your role does not allow {permission}")


def break_glass(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> BreakGlassGrant:
    """Grant `principal` access to `person_id` for `GRANT_DURATION` on a stated `reason`."""
    _need(principal, "record.break_glass")
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise BreakGlassError(
            f"Enter why you need this record now, without a care relationship, in at least "
            f"{MIN_REASON_LENGTH} characters"
        )
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action="break_glass.grant",
        entity_type="break_glass_grant",
        person_id=person_id,
        purpose=DIRECT_CARE,
    ) as uow:
        granted_at = now or uow.now
        grant = BreakGlassGrant(
            user_id=principal.user_id,
            person_id=person_id,
            reason=reason,
            granted_at=granted_at,
            expires_at=granted_at + GRANT_DURATION,
        )
        uow.session.add(grant)
        uow.session.flush()
        uow.audit.entity_id = str(grant.id)
        uow.audit.detail.update(reason=reason, expires_at=grant.expires_at.isoformat())
    return grant


@dataclass(frozen=True)
class GrantSummary:
    """A grant as the review page shows it: who, whom, why, when, and any review."""

    id: int
    username: str
    display_name: str
    person_id: int
    reason: str
    granted_at: dt.datetime
    expires_at: dt.datetime
    reviewed_at: dt.datetime | None
    reviewer: str | None
    outcome: str | None
    note: str | None

    def open_at(self, now: dt.datetime) -> bool:
        """Whether the grant still gives access at `now`."""
        return self.expires_at > now


def _summaries(
    session: Session, *conditions: ColumnElement[bool], newest_review: bool
) -> list[GrantSummary]:
    holder, reviewer = aliased(User), aliased(User)
    query = (
        select(BreakGlassGrant, holder.username, holder.display_name, reviewer.username)
        .join(holder, holder.id == BreakGlassGrant.user_id)
        .outerjoin(reviewer, reviewer.id == BreakGlassGrant.reviewed_by)
        .where(*conditions)
    )
    if newest_review:
        query = query.order_by(BreakGlassGrant.reviewed_at.desc()).limit(RECENT_REVIEWS)
    else:
        query = query.order_by(BreakGlassGrant.granted_at, BreakGlassGrant.id)
    return [
        GrantSummary(
            id=grant.id,
            username=username,
            display_name=display_name,
            person_id=grant.person_id,
            reason=grant.reason,
            granted_at=grant.granted_at,
            expires_at=grant.expires_at,
            reviewed_at=grant.reviewed_at,
            reviewer=reviewer_name,
            outcome=grant.review_outcome,
            note=grant.review_note,
        )
        for grant, username, display_name, reviewer_name in session.execute(query)
    ]


def pending_reviews(sessions: sessionmaker[Session]) -> list[GrantSummary]:
    """Grants nobody has reviewed yet, oldest first (the review queue)."""
    with sessions() as session:
        return _summaries(session, BreakGlassGrant.reviewed_at.is_(None), newest_review=False)


def recent_reviews(sessions: sessionmaker[Session]) -> list[GrantSummary]:
    """The latest reviewed grants, newest review first."""
    with sessions() as session:
        return _summaries(session, BreakGlassGrant.reviewed_at.is_not(None), newest_review=True)


def review(
    sessions: sessionmaker[Session],
    reviewer: Principal,
    grant_id: int,
    outcome: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> BreakGlassGrant:
    """Record a governance lead's review of a grant (`outcome`: appropriate | inappropriate)."""
    _need(reviewer, "break_glass.review")
    if outcome not in OUTCOMES:
        raise BreakGlassError(f"Choose whether the access was {' or '.join(OUTCOMES)}")
    with unit_of_work(
        sessions,
        actor=reviewer.actor,
        actor_role=reviewer.role,
        action="break_glass.review",
        entity_type="break_glass_grant",
        entity_id=str(grant_id),
        purpose=GOVERNANCE,
        detail={"outcome": outcome},
    ) as uow:
        grant = uow.session.get(BreakGlassGrant, grant_id)
        if grant is None:
            raise GrantNotFound(f"there is no break-glass access {grant_id}")
        if grant.user_id == reviewer.user_id:
            raise BreakGlassNotAllowed("you cannot review your own break-glass access")
        if grant.reviewed_at is not None:
            raise BreakGlassError(f"break-glass access {grant_id} has been reviewed already")
        grant.reviewed_at = now or uow.now
        grant.reviewed_by = reviewer.user_id
        grant.review_outcome = outcome
        grant.review_note = note.strip() or None
        uow.audit.person_id = grant.person_id
    return grant
