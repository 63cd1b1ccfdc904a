"""The team worklist (issue 13): a lead sees every open action on their practices' people, by
owner, in the worklist's groups; people registered elsewhere are left out; only roles with
``record.view`` are offered links to the person and the action; the view is audited.

In-process pages on one SQLite care store (the read is one query, the same on both databases)
with the session's small area, linked; the actions are written as rows, since what is tested
is how they are read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import CareAction
from joinedup.care.worklist import ACTION_GROUPS
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.population.reads import practices_of, registered_person_ids
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import principal, sign_in_as
from tests.carestore_support import care_home
from tests.html_support import html_table, html_tables, page_text

TODAY = dt.date.today()  # the page groups by the real today; every due date is relative to it


@dataclasses.dataclass(frozen=True)
class Team:
    settings: Settings
    sessions: sessionmaker[Session]
    practice: str
    users: dict[str, int]
    inside: list[int]  # people registered in the neighbourhood
    outside: int  # someone registered in another neighbourhood


def _user(session: Session, name: str, role: str, org: str) -> int:
    user = User(username=name, display_name=name, role=role, created_at=dt.datetime.now(dt.UTC))
    session.add(user)
    session.flush()
    session.add(UserOrganisation(user_id=user.id, org_code=org))
    return int(user.id)


def _action(
    session: Session, person: int, title: str, owner: tuple[int | None, str], days: int, by: int
) -> None:
    session.add(
        CareAction(
            person_id=person,
            title=title,
            source="mdt_decision",
            owner_user_id=owner[0],
            owner_name=owner[1],
            owner_org="Brookside",
            due_on=TODAY + dt.timedelta(days=days),
            status="open",
            created_at=dt.datetime.now(dt.UTC),
            created_by=by,
        )
    )


#: (person index, title, owner, due in days) — owner "guest" is named by an MDT, not a user.
ACTIONS = (
    (0, "Home visit", "nurse-a", -3),
    (1, "Falls review", "nurse-a", -1),
    (0, "Medication review", "nurse-a", 2),
    (2, "Equipment check", "nurse-a", 16),
    (1, "Call the daughter", "coordinator-b", 0),
    (2, "Housing adaptations", "guest", 30),
)


@pytest.fixture(scope="module")
def team(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Team:
    settings, sessions, store = care_home(small_area, tmp_path_factory.mktemp("team-worklist"))
    # The team works at one practice (the small area has one neighbourhood): its people are
    # that practice's; someone registered at another practice is not the team's.
    practice_of = practices_of(store, registered_person_ids(store)[:400].tolist())
    practice = practice_of[min(practice_of)]
    inside = [p for p in sorted(practice_of) if practice_of[p] == practice][:3]
    outside = next(p for p in sorted(practice_of) if practice_of[p] != practice)
    with sessions() as session, session.begin():
        users = {
            "lead": _user(session, "lead", "manager", practice),
            "gp": _user(session, "gp", "gp", practice),
            "nurse-a": _user(session, "nurse-a", "nurse", practice),
            "coordinator-b": _user(session, "coordinator-b", "care_coordinator", practice),
        }
        for index, title, owner, days in ACTIONS:
            who = (None, "Sam Okafor") if owner == "guest" else (users[owner], owner)
            _action(session, inside[index], title, who, days, users["gp"])
        _action(session, outside, "Not this team's", (users["nurse-a"], "nurse-a"), -5, users["gp"])
        closed = CareAction(
            person_id=inside[0],
            title="Done already",
            source="mdt_decision",
            owner_user_id=users["nurse-a"],
            owner_name="nurse-a",
            owner_org="Brookside",
            due_on=TODAY - dt.timedelta(days=9),
            status="done",
            created_at=dt.datetime.now(dt.UTC),
            created_by=users["gp"],
        )
        session.add(closed)
    return Team(settings, sessions, practice, users, inside, outside)


def _client(team: Team, name: str, role: str) -> TestClient:
    app = create_app(team.settings)
    who = principal(role, user_id=team.users.get(name, 999), username=name)
    sign_in_as(app, dataclasses.replace(who, organisations=(team.practice,)))
    return TestClient(app)


def _expected() -> dict[str, Counter[str]]:
    """Each owner's open actions by group, worked out from ACTIONS by hand's rule."""
    names = {"guest": "Sam Okafor"}
    expected: dict[str, Counter[str]] = {}
    for _, _, owner, days in ACTIONS:
        group = "overdue" if days < 0 else "this_week" if days <= 6 else "later"
        expected.setdefault(names.get(owner, owner), Counter())[group] += 1
    return expected


def test_a_lead_sees_the_open_actions_of_the_team_by_owner(team: Team) -> None:
    page = _client(team, "lead", "manager").get("/care-coordination/worklist/team")
    assert page.status_code == 200
    owners = html_table(page.text, "owners-table")
    shown = owners.keyed(("owner",), ("group",))
    expected = _expected()
    # The count beside "by owner" says what it counts (it said "(3 people)" beside 3 owners).
    people = len({person for person, *_ in ACTIONS})
    assert owners.caption == (
        f"Open actions by owner: {len(expected)} owners, {len(ACTIONS)} actions "
        f"about {people} people"
    )
    assert set(shown) == {*expected, "all"}
    for owner, counts in expected.items():
        assert {g: int(shown[owner][g]) for g in ACTION_GROUPS} == {
            g: counts[g] for g in ACTION_GROUPS
        }, owner
    total = sum(expected.values(), Counter())
    assert {g: int(shown["all"][g]) for g in ACTION_GROUPS} == {g: total[g] for g in ACTION_GROUPS}
    # Most overdue first: nurse-a has two overdue.
    assert owners.body_rows[0].data("owner") == "nurse-a"
    text = page_text(page.text)
    assert "Not this team's" not in text and "Done already" not in text
    assert "Housing adaptations" in text and "Sam Okafor" in text
    # A manager may not open records: the page names the people but offers no link to them.
    assert "/people/" not in page.text and "/care-coordination/actions/" not in page.text
    listed = [t for t in html_tables(page.text) if t.attrs.get("data-owner-actions")]
    rows = sum(len(t.body_rows) for t in listed)
    assert rows == len(ACTIONS)


def test_a_gp_lead_is_offered_the_person_and_the_action(team: Team) -> None:
    client = _client(team, "gp", "gp")
    page = client.get("/care-coordination/worklist/team")
    assert page.status_code == 200
    assert f'href="/people/{team.inside[0]}"' in page.text
    with team.sessions() as session:
        action = session.scalar(select(CareAction.id).where(CareAction.title == "Home visit"))
    assert f'href="/care-coordination/actions/{action}"' in page.text
    # The GP's own worklist offers the team's.
    assert 'id="team-worklist-link"' in client.get("/care-coordination/worklist").text


def test_the_view_is_audited_and_refused_to_those_who_do_not_lead(team: Team) -> None:
    _client(team, "lead", "manager").get("/care-coordination/worklist/team")
    with team.sessions() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "view.care_team_worklist")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert event is not None and event.actor == "lead"
    coordinator = _client(team, "coordinator-b", "care_coordinator")
    assert coordinator.get("/care-coordination/worklist/team").status_code == 403
    assert "team-worklist-link" not in coordinator.get("/care-coordination/worklist").text
