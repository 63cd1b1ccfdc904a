"""Tracked actions: one owner, one organisation, one due date and a status, for one person.

Every action — from a care plan, an MDT decision or raised on its own — is a `CareAction` row;
the worklists, the person page and the MDT agenda read them through `open_actions` and
`overdue_actions`. Writes are one `unit_of_work` each, audited with the person's id but never
the action's words (titles and outcomes are free text and may hold clinical detail).

Changes after creation (complete, cancel, reassign) name the version they started from
(`expected_version`): a form opened before someone else changed the action is refused with
`StaleActionError`, which says who changed it and when, instead of silently overwriting. The
version check is one conditional UPDATE (``… WHERE id = ? AND version = ?``), so two
concurrent completions cannot both succeed on either backend.

The caller checks the legitimate relationship to the person; these services check the
``care.write`` permission and the inputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import ACTION_SOURCES, CareAction
from joinedup.carestore.models import AuditEvent
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import User
from joinedup.governance.roles import Principal

TITLE_MAX = 500
OUTCOME_MAX = 4_000
NAME_MAX = 200


class ActionError(UserError, ValueError):
    """An action cannot be created or changed as asked; the message says why."""


class ActionNotAllowed(UserError, PermissionError):
    """The user's role may not change tracked actions."""


class ActionNotFound(ActionError, LookupError):
    """There is no action with that id."""


class StaleActionError(ActionError):
    """The action changed since the form was opened: who changed it, and when."""

    def __init__(
        self, action: ActionRecord, changed_by: str | None, when: dt.datetime | None
    ) -> None:
        self.current = action
        self.changed_by = changed_by
        self.changed_at = when
        at = f" at {when:%H:%M} on {when.day} {when:%B %Y}" if when else ""
        who = f" by {changed_by}" if changed_by else ""
        super().__init__(
            f"this action was changed{who}{at} after you opened it (it is now "
            f"{action.status}): review their change before you change it again"
        )


@dataclass(frozen=True)
class ActionRecord:
    """A tracked action as read from the care store."""

    id: int
    person_id: int
    title: str
    source: str
    care_plan_id: int | None
    mdt_decision_id: int | None
    mdt_meeting_id: int | None
    owner_user_id: int | None
    owner_name: str
    owner_org: str
    due_on: dt.date
    status: str
    created_at: dt.datetime
    created_by: int
    completed_at: dt.datetime | None
    completed_by: int | None
    outcome: str | None
    version: int

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def is_overdue(self, on: dt.date) -> bool:
        """Open and due before `on`."""
        return self.is_open and self.due_on < on


def action_record(row: CareAction) -> ActionRecord:
    return ActionRecord(
        id=row.id,
        person_id=row.person_id,
        title=row.title,
        source=row.source,
        care_plan_id=row.care_plan_id,
        mdt_decision_id=row.mdt_decision_id,
        mdt_meeting_id=row.mdt_meeting_id,
        owner_user_id=row.owner_user_id,
        owner_name=row.owner_name,
        owner_org=row.owner_org,
        due_on=row.due_on,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        outcome=row.outcome,
        version=row.version,
    )


def _check_can_write(actor: Principal) -> None:
    if not actor.can("care.write"):
        raise ActionNotAllowed(f"the {actor.role_name} role may not change tracked actions")


def _clean(text: str, what: str, limit: int, *, required: bool = True) -> str:
    cleaned = " ".join(text.split()) if "\n" not in text else text.strip()
    if required and not cleaned:
        raise ActionError(f"Enter the {what}")
    if len(cleaned) > limit:
        raise ActionError(f"The {what} must be {limit:,} characters or fewer")
    return cleaned


def new_action_row(
    session: Session,
    actor: Principal,
    now: dt.datetime,
    *,
    person_id: int,
    title: str,
    source: str,
    owner_user_id: int | None,
    owner_name: str,
    owner_org: str,
    due_on: dt.date,
    care_plan_id: int | None = None,
    mdt_decision_id: int | None = None,
    mdt_meeting_id: int | None = None,
) -> CareAction:
    """Check and add one open action inside the caller's unit of work (flushed: it has an id).

    The one place a `CareAction` is made, so an MDT decision and its actions can commit in
    one transaction; outside one, call `create_action`.
    """
    _check_can_write(actor)
    if source not in ACTION_SOURCES:
        raise ActionError(f"an action's source must be one of {', '.join(ACTION_SOURCES)}")
    if not isinstance(due_on, dt.date):
        raise ActionError("Enter the date the action is due")
    owner = _clean(owner_name, "owner's name", NAME_MAX)
    if owner_user_id is not None and session.get(User, owner_user_id) is None:
        raise ActionError("the owner is not a joinedup user: name them as a guest instead")
    row = CareAction(
        person_id=person_id,
        title=_clean(title, "action", TITLE_MAX),
        source=source,
        care_plan_id=care_plan_id,
        mdt_decision_id=mdt_decision_id,
        mdt_meeting_id=mdt_meeting_id,
        owner_user_id=owner_user_id,
        owner_name=owner,
        owner_org=_clean(owner_org, "owner's organisation", NAME_MAX),
        due_on=due_on,
        status="open",
        created_at=now,
        created_by=actor.user_id,
        version=1,
    )
    session.add(row)
    session.flush()
    return row


def create_action(
    sessions: sessionmaker[Session],
    actor: Principal,
    *,
    person_id: int,
    title: str,
    source: str,
    owner_user_id: int | None,
    owner_name: str,
    owner_org: str,
    due_on: dt.date,
    care_plan_id: int | None = None,
    mdt_decision_id: int | None = None,
    mdt_meeting_id: int | None = None,
) -> int:
    """Create one open action for `person_id`; its id. One unit of work, audited."""
    _check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="care_action.create",
        entity_type="care_action",
        person_id=person_id,
        purpose=DIRECT_CARE,
        detail={"source": source, "owner_is_user": owner_user_id is not None},
    ) as uow:
        row = new_action_row(
            uow.session,
            actor,
            uow.now,
            person_id=person_id,
            title=title,
            source=source,
            owner_user_id=owner_user_id,
            owner_name=owner_name,
            owner_org=owner_org,
            due_on=due_on,
            care_plan_id=care_plan_id,
            mdt_decision_id=mdt_decision_id,
            mdt_meeting_id=mdt_meeting_id,
        )
        uow.audit.entity_id = str(row.id)
        return int(row.id)


def get_action(sessions: sessionmaker[Session], action_id: int) -> ActionRecord | None:
    with sessions() as session:
        row = session.get(CareAction, action_id)
        return None if row is None else action_record(row)


Values = Callable[[dt.datetime], dict[str, Any]]


def _change(
    sessions: sessionmaker[Session],
    actor: Principal,
    action_id: int,
    *,
    expected_version: int,
    verb: str,
    values: Values,
    detail: dict[str, Any] | None = None,
) -> None:
    """Apply `values` to an open action if it is still at `expected_version`; audited."""
    _check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action=f"care_action.{verb}",
        entity_type="care_action",
        entity_id=str(action_id),
        purpose=DIRECT_CARE,
        detail=detail,
    ) as uow:
        row = uow.session.get(CareAction, action_id)
        if row is None:
            raise ActionNotFound(f"there is no action {action_id}")
        uow.audit.person_id = row.person_id
        _refuse_if_changed(uow.session, row, expected_version)
        done = cast(
            CursorResult[Any],
            uow.session.execute(
                update(CareAction)
                .where(CareAction.id == action_id, CareAction.version == expected_version)
                .values(version=expected_version + 1, **values(uow.now))
                .execution_options(synchronize_session=False)
            ),
        )
        if done.rowcount != 1:  # another transaction changed it between our read and write
            uow.session.refresh(row)
            _refuse_if_changed(uow.session, row, expected_version)
            raise StaleActionError(action_record(row), *_last_change(uow.session, action_id))
        uow.audit.detail["version"] = expected_version + 1


def _refuse_if_changed(session: Session, row: CareAction, expected_version: int) -> None:
    if row.version != expected_version:
        raise StaleActionError(action_record(row), *_last_change(session, row.id))
    if row.status != "open":
        raise ActionError(f"this action is {row.status}: it cannot be changed")


def _last_change(session: Session, action_id: int) -> tuple[str | None, dt.datetime | None]:
    """Who last changed the action and when, from the audit trail (the table keeps no editor)."""
    last = session.execute(
        select(AuditEvent.actor, AuditEvent.occurred_at)
        .where(AuditEvent.entity_type == "care_action", AuditEvent.entity_id == str(action_id))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    return (last.actor, last.occurred_at) if last is not None else (None, None)


def complete_action(
    sessions: sessionmaker[Session],
    actor: Principal,
    action_id: int,
    *,
    outcome: str,
    expected_version: int,
) -> None:
    """Mark the action done with what came of it. A stale version raises `StaleActionError`."""
    text = _clean(outcome, "outcome", OUTCOME_MAX)
    _change(
        sessions,
        actor,
        action_id,
        expected_version=expected_version,
        verb="complete",
        values=_closing_values("done", text, actor),
    )


def cancel_action(
    sessions: sessionmaker[Session],
    actor: Principal,
    action_id: int,
    *,
    reason: str,
    expected_version: int,
) -> None:
    """Cancel the action, saying why (kept as its outcome)."""
    text = _clean(reason, "reason for cancelling", OUTCOME_MAX)
    _change(
        sessions,
        actor,
        action_id,
        expected_version=expected_version,
        verb="cancel",
        values=_closing_values("cancelled", text, actor),
    )


def _closing_values(status: str, outcome: str, actor: Principal) -> Values:
    def values(now: dt.datetime) -> dict[str, Any]:
        return {
            "status": status,
            "outcome": outcome,
            "completed_at": now,
            "completed_by": actor.user_id,
        }

    return values


def reassign_action(
    sessions: sessionmaker[Session],
    actor: Principal,
    action_id: int,
    *,
    owner_user_id: int | None,
    owner_name: str,
    owner_org: str,
    expected_version: int,
    due_on: dt.date | None = None,
) -> None:
    """Give the action a new owner (and, if given, a new due date)."""
    values: dict[str, Any] = {
        "owner_user_id": owner_user_id,
        "owner_name": _clean(owner_name, "owner's name", NAME_MAX),
        "owner_org": _clean(owner_org, "owner's organisation", NAME_MAX),
    }
    if due_on is not None:
        values["due_on"] = due_on
    if owner_user_id is not None:
        with sessions() as session:
            if session.get(User, owner_user_id) is None:
                raise ActionError("the owner is not a joinedup user: name them as a guest instead")
    _change(
        sessions,
        actor,
        action_id,
        expected_version=expected_version,
        verb="reassign",
        values=lambda _now: values,
        detail={"owner_is_user": owner_user_id is not None, "due_changed": due_on is not None},
    )


def open_actions(
    sessions: sessionmaker[Session],
    *,
    person_id: int | None = None,
    owner_user_id: int | None = None,
    person_ids: list[int] | None = None,
) -> list[ActionRecord]:
    """Open actions (of a person, of several people, of an owner), soonest due first."""
    query = select(CareAction).where(CareAction.status == "open")
    if person_id is not None:
        query = query.where(CareAction.person_id == person_id)
    if person_ids is not None:
        query = query.where(CareAction.person_id.in_(person_ids))
    if owner_user_id is not None:
        query = query.where(CareAction.owner_user_id == owner_user_id)
    query = query.order_by(CareAction.due_on, CareAction.id)
    with sessions() as session:
        return [action_record(row) for row in session.scalars(query)]


def overdue_actions(
    sessions: sessionmaker[Session],
    *,
    on: dt.date,
    person_id: int | None = None,
    owner_user_id: int | None = None,
    person_ids: list[int] | None = None,
) -> list[ActionRecord]:
    """Open actions due before `on`, most overdue first."""
    found = open_actions(
        sessions, person_id=person_id, owner_user_id=owner_user_id, person_ids=person_ids
    )
    return [a for a in found if a.is_overdue(on)]


def actions_of_meeting(sessions: sessionmaker[Session], meeting_id: int) -> list[ActionRecord]:
    """Every action raised at or carried to a meeting, any status, by due date."""
    query = (
        select(CareAction)
        .where(CareAction.mdt_meeting_id == meeting_id)
        .order_by(CareAction.due_on, CareAction.id)
    )
    with sessions() as session:
        return [action_record(row) for row in session.scalars(query)]
