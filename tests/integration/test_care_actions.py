"""Tracked actions on both backends: create, complete (optimistic version), cancel, reassign,
open and overdue lists, and the audit events they write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.actions import (
    ActionError,
    ActionNotAllowed,
    ActionNotFound,
    StaleActionError,
    cancel_action,
    complete_action,
    create_action,
    get_action,
    open_actions,
    overdue_actions,
    reassign_action,
)
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User
from joinedup.governance.roles import Principal
from tests.auth_support import principal

TODAY = dt.date(2026, 11, 23)


def add_user(sessions: sessionmaker[Session], username: str, role: str = "nurse") -> Principal:
    with sessions() as session, session.begin():
        user = User(
            username=username,
            display_name=username.replace("-", " ").title(),
            role=role,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        user_id = int(user.id)
    return principal(role, user_id=user_id, username=username)


@pytest.fixture
def nurse(sessions: sessionmaker[Session]) -> Principal:
    return add_user(sessions, "nurse-nia")


@pytest.fixture
def make(sessions: sessionmaker[Session], nurse: Principal) -> Callable[..., int]:
    def make(person_id: int = 11, due_on: dt.date = TODAY, **changes: object) -> int:
        values: dict[str, object] = {
            "person_id": person_id,
            "title": "Book a falls assessment",
            "source": "register",
            "owner_user_id": nurse.user_id,
            "owner_name": "Nurse Nia",
            "owner_org": "Mill Lane Surgery",
            "due_on": due_on,
        }
        values.update(changes)
        return create_action(sessions, nurse, **values)  # type: ignore[arg-type]

    return make


def _events(sessions: sessionmaker[Session], prefix: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        )


def test_an_action_is_created_open_and_audited_without_its_words(
    sessions: sessionmaker[Session], make: Callable[..., int]
) -> None:
    action_id = make()
    action = get_action(sessions, action_id)
    assert action is not None
    assert (action.status, action.version, action.person_id) == ("open", 1, 11)
    assert action.title == "Book a falls assessment"
    [event] = _events(sessions, "care_action.create")
    assert (event.person_id, event.entity_id) == (11, str(action_id))
    assert "falls" not in str(event.detail)


def test_completing_records_outcome_and_who_and_refuses_a_stale_version(
    sessions: sessionmaker[Session], make: Callable[..., int], nurse: Principal
) -> None:
    action_id = make()
    complete_action(sessions, nurse, action_id, outcome="Seen at home", expected_version=1)
    done = get_action(sessions, action_id)
    assert done is not None
    assert (done.status, done.outcome, done.completed_by, done.version) == (
        "done",
        "Seen at home",
        nurse.user_id,
        2,
    )
    assert done.completed_at is not None
    with pytest.raises(StaleActionError) as refused:
        complete_action(sessions, nurse, action_id, outcome="Again", expected_version=1)
    assert "nurse-nia" in str(refused.value) and "done" in str(refused.value)
    with pytest.raises(ActionError, match="is done"):
        complete_action(sessions, nurse, action_id, outcome="Again", expected_version=2)
    still = get_action(sessions, action_id)
    assert still is not None and still.outcome == "Seen at home"
    assert [e.detail["version"] for e in _events(sessions, "care_action.complete")] == [2]


def test_a_stale_reassign_loses_to_the_completion_it_did_not_see(
    sessions: sessionmaker[Session], make: Callable[..., int], nurse: Principal
) -> None:
    action_id = make()
    other = add_user(sessions, "gp-gita", "gp")
    reassign_action(
        sessions,
        nurse,
        action_id,
        owner_user_id=other.user_id,
        owner_name="Dr Gita",
        owner_org="Mill Lane Surgery",
        due_on=TODAY + dt.timedelta(days=7),
        expected_version=1,
    )
    moved = get_action(sessions, action_id)
    assert moved is not None
    assert (moved.owner_user_id, moved.due_on, moved.version) == (
        other.user_id,
        TODAY + dt.timedelta(days=7),
        2,
    )
    with pytest.raises(StaleActionError):
        cancel_action(sessions, nurse, action_id, reason="No longer needed", expected_version=1)
    cancel_action(sessions, nurse, action_id, reason="No longer needed", expected_version=2)
    cancelled = get_action(sessions, action_id)
    assert cancelled is not None and cancelled.status == "cancelled"


def test_open_and_overdue_lists_by_person_and_owner(
    sessions: sessionmaker[Session], make: Callable[..., int], nurse: Principal
) -> None:
    late = make(due_on=TODAY - dt.timedelta(days=3))
    soon = make(due_on=TODAY + dt.timedelta(days=3))
    other_person = make(person_id=12, due_on=TODAY - dt.timedelta(days=1))
    closed = make(due_on=TODAY - dt.timedelta(days=9))
    complete_action(sessions, nurse, closed, outcome="Done", expected_version=1)
    assert [a.id for a in open_actions(sessions, person_id=11)] == [late, soon]
    assert [a.id for a in open_actions(sessions, owner_user_id=nurse.user_id)] == [
        late,
        other_person,
        soon,
    ]
    assert [a.id for a in overdue_actions(sessions, on=TODAY)] == [late, other_person]
    assert overdue_actions(sessions, on=TODAY, person_id=12)[0].id == other_person


def test_bad_input_and_roles_that_may_not_write_are_refused_with_nothing_written(
    sessions: sessionmaker[Session], make: Callable[..., int], nurse: Principal
) -> None:
    with pytest.raises(ActionError, match="Enter the action"):
        make(title="   ")
    with pytest.raises(ActionError, match="source"):
        make(source="gossip")
    with pytest.raises(ActionError, match="not a joinedup user"):
        make(owner_user_id=9_999)
    with pytest.raises(ActionNotAllowed):
        create_action(
            sessions,
            principal("manager", user_id=nurse.user_id),
            person_id=11,
            title="x",
            source="register",
            owner_user_id=None,
            owner_name="A Guest",
            owner_org="Hospice",
            due_on=TODAY,
        )
    with pytest.raises(ActionNotFound):
        complete_action(sessions, nurse, 9_999, outcome="Done", expected_version=1)
    assert open_actions(sessions) == []
    assert _events(sessions, "care_action.") == []


def test_two_people_completing_at_once_never_both_succeed(
    sessions: sessionmaker[Session], make: Callable[..., int], nurse: Principal
) -> None:
    action_id = make()
    gp = add_user(sessions, "gp-gus", "gp")

    def finish(who: Principal) -> str:
        try:
            complete_action(
                sessions, who, action_id, outcome=f"by {who.username}", expected_version=1
            )
        except StaleActionError:
            return "refused"
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(finish, [nurse, gp]))
    assert results == ["done", "refused"]
    final = get_action(sessions, action_id)
    assert final is not None and final.version == 2
    assert len(_events(sessions, "care_action.complete")) == 1
