"""The virtual ward's alert queue: acknowledge, act, close with an outcome, and escalate alerts
nobody acknowledged in time (issue 15; alerts are raised by `ward`).

An alert moves ``open → acknowledged → actioned → closed`` (closing straight from acknowledged
is allowed: not every alert needs an action, and that is what the ledger measures). Each step
names the version the nurse's screen showed and is one conditional statement::

    UPDATE ward_alerts SET state = ?, version = version + 1, …
     WHERE id = ? AND state = ? AND version = ?

On PostgreSQL a second nurse's statement waits for the first's row lock, re-reads the row,
finds the version moved and changes nothing; on SQLite writers queue on ``BEGIN IMMEDIATE``.
Either way exactly one wins and the other is told who got there first (`AlertTaken`).

Escalation (`escalate_overdue`) moves an alert still open past its due-by time to the next role
of the rule's rota (``escalate_to`` in ``alert_rules.yaml``), with a new due-by of the rule's
response time from now; an alert already with the last role stays there, overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.models import User
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import alerts
from joinedup.neighbourhood.models import ACTIONS_TAKEN, WardAdmission, WardAlert
from joinedup.neighbourhood.ward import REASON_MAX, WardError, WardNotFound, check_can_write

Values = Callable[[dt.datetime], dict[str, Any]]
#: From which states each step may be taken.
STEP_FROM = {
    "acknowledge": ("open",),
    "act": ("acknowledged",),
    "close": ("acknowledged", "actioned"),
}


class AlertTaken(WardError):
    """Someone else changed the alert after this screen was drawn: who, and to what."""

    def __init__(self, state: str, by: str | None, at: dt.datetime | None) -> None:
        who = f" by {by}" if by else ""
        when = f" at {at:%H:%M}" if at else ""
        super().__init__([f"this alert was already {state}{who}{when}; it is not yours to change"])
        self.state = state
        self.by = by


@dataclass(frozen=True)
class QueuedAlert:
    id: int
    admission_id: int
    person_id: int
    rule_id: str
    title: str
    reason: str
    raised_at: dt.datetime
    due_by: dt.datetime
    state: str
    escalated_to_role: str
    acknowledged_by: str | None
    action_taken: str | None
    version: int

    def overdue(self, now: dt.datetime) -> bool:
        return self.state == "open" and self.due_by < now


def open_alerts(sessions: sessionmaker[Session], ward_id: int) -> list[QueuedAlert]:
    """The ward's alerts not yet closed, most urgent (earliest due) first."""
    with sessions() as session:
        rows = session.execute(
            select(WardAlert, User.username)
            .join(WardAdmission, WardAdmission.id == WardAlert.admission_id)
            .outerjoin(User, User.id == WardAlert.acknowledged_by)
            .where(WardAdmission.ward_id == ward_id, WardAlert.state != "closed")
            .order_by(WardAlert.due_by, WardAlert.id)
        ).all()
    return [_queued(alert, who) for alert, who in rows]


def get_alert(sessions: sessionmaker[Session], alert_id: int) -> QueuedAlert:
    with sessions() as session:
        row = session.execute(
            select(WardAlert, User.username)
            .outerjoin(User, User.id == WardAlert.acknowledged_by)
            .where(WardAlert.id == alert_id)
        ).first()
    if row is None:
        raise WardNotFound("such alert")
    return _queued(*row)


def _queued(alert: WardAlert, acknowledged_by: str | None) -> QueuedAlert:
    return QueuedAlert(
        alert.id,
        alert.admission_id,
        alert.person_id,
        alert.rule_id,
        alert.title,
        alert.reason,
        alert.raised_at,
        alert.due_by,
        alert.state,
        alert.escalated_to_role,
        acknowledged_by,
        alert.action_taken,
        alert.version,
    )


def acknowledge(
    sessions: sessionmaker[Session], actor: Principal, alert_id: int, *, expected_version: int
) -> None:
    """Take the alert: it is now this user's to act on. The second of two loses (`AlertTaken`)."""

    def values(now: dt.datetime) -> dict[str, Any]:
        return {"state": "acknowledged", "acknowledged_by": actor.user_id, "acknowledged_at": now}

    _step(sessions, actor, alert_id, "acknowledge", expected_version, values)


def act(
    sessions: sessionmaker[Session],
    actor: Principal,
    alert_id: int,
    *,
    action_taken: str,
    expected_version: int,
) -> None:
    """Record what was done: a call, a visit, a medication change or hospital."""
    if action_taken not in ACTIONS_TAKEN:
        raise WardError([f"the action taken is one of {', '.join(ACTIONS_TAKEN)}"])

    def values(now: dt.datetime) -> dict[str, Any]:
        return {
            "state": "actioned",
            "action_taken": action_taken,
            "actioned_by": actor.user_id,
            "actioned_at": now,
        }

    _step(sessions, actor, alert_id, "act", expected_version, values)


def close(
    sessions: sessionmaker[Session],
    actor: Principal,
    alert_id: int,
    *,
    outcome: str,
    changed_management: bool,
    expected_version: int,
) -> None:
    """Close with what came of it and whether it changed the person's management."""
    text = outcome.strip()
    if not text or len(text) > REASON_MAX:
        raise WardError([f"say what came of the alert (up to {REASON_MAX} characters)"])

    def values(now: dt.datetime) -> dict[str, Any]:
        return {
            "state": "closed",
            "outcome": text,
            "changed_management": changed_management,
            "closed_by": actor.user_id,
            "closed_at": now,
        }

    _step(sessions, actor, alert_id, "close", expected_version, values)


def _step(
    sessions: sessionmaker[Session],
    actor: Principal,
    alert_id: int,
    step: str,
    expected_version: int,
    values: Values,
) -> None:
    check_can_write(actor)
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action=f"ward_alert.{step}",
        entity_type="ward_alert",
        entity_id=str(alert_id),
        purpose=DIRECT_CARE,
    ) as uow:
        alert = uow.session.get(WardAlert, alert_id)
        if alert is None:
            raise WardNotFound("such alert")
        uow.audit.person_id = alert.person_id
        done = cast(
            CursorResult[Any],
            uow.session.execute(
                update(WardAlert)
                .where(
                    WardAlert.id == alert_id,
                    WardAlert.version == expected_version,
                    WardAlert.state.in_(STEP_FROM[step]),
                )
                .values(version=expected_version + 1, **values(uow.now))
                .execution_options(synchronize_session=False)
            ),
        )
        if done.rowcount != 1:
            uow.session.refresh(alert)
            raise _refusal(uow.session, alert, step)
        uow.audit.detail.update(version=expected_version + 1, rule_id=alert.rule_id)


def _refusal(session: Session, alert: WardAlert, step: str) -> WardError:
    """Why the conditional update changed nothing: someone moved the alert on, or the step
    does not follow from where the alert is."""
    by, at = {
        "acknowledged": (alert.acknowledged_by, alert.acknowledged_at),
        "actioned": (alert.actioned_by, alert.actioned_at),
        "closed": (alert.closed_by, alert.closed_at),
    }.get(alert.state, (None, alert.escalated_at))
    if alert.state in STEP_FROM[step]:
        # Same state, newer version: escalated (or changed) since the screen was drawn.
        return AlertTaken(
            f"changed ({alert.state}, escalated to {alert.escalated_to_role})", None, at
        )
    name = session.scalar(select(User.username).where(User.id == by)) if by else None
    return AlertTaken(alert.state, name, at)


def escalate_overdue(
    sessions: sessionmaker[Session],
    actor: Principal,
    now: dt.datetime,
    *,
    rules: alerts.RuleSet | None = None,
) -> int:
    """Move every open alert past its due-by time to the next role on its rota; returns how
    many moved."""
    rules = rules or alerts.load_rules()
    with unit_of_work(
        sessions,
        actor=actor.actor,
        actor_role=actor.role,
        action="ward_alert.escalate",
        entity_type="ward_alert",
        purpose=DIRECT_CARE,
    ) as uow:
        overdue = uow.session.scalars(
            select(WardAlert).where(WardAlert.state == "open", WardAlert.due_by < now)
        ).all()
        moved = sum(_escalate(uow.session, alert, now, rules) for alert in overdue)
        uow.audit.detail["escalated"] = moved
        return moved


def _escalate(session: Session, alert: WardAlert, now: dt.datetime, rules: alerts.RuleSet) -> bool:
    level = alert.escalation_level + 1
    if level >= len(alert.escalation_chain):
        return False
    respond = next(
        (r.respond_within for r in rules.rules if r.id == alert.rule_id), dt.timedelta(hours=1)
    )
    done = cast(
        CursorResult[Any],
        session.execute(
            update(WardAlert)
            .where(
                WardAlert.id == alert.id,
                WardAlert.version == alert.version,
                WardAlert.state == "open",
            )
            .values(
                escalation_level=level,
                escalated_to_role=alert.escalation_chain[level],
                escalated_at=now,
                due_by=now + respond,
                version=alert.version + 1,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    return done.rowcount == 1
