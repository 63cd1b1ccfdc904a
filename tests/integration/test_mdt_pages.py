"""The MDT pages on the small area: schedule, agenda from the register with recent hospital
activity, who may see whom, decisions that become actions, completing an action (a stale form
refused), closing with minutes, escaping of typed text, the audit trail, and the demo seed.

One SQLite care store for the module (the services are tested on both backends in
test_mdt.py); the population store is the session's small area, linked, never copied.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.actions import get_action, open_actions
from joinedup.care.mdt import get_meeting, list_meetings
from joinedup.care.mdt_demo import seed_demo_meetings
from joinedup.care.models import RegisterEntry
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as
from tests.carestore_support import care_home
from tests.form_support import date_fields
from tests.integration.test_mdt import write_run

XSS = '<script>alert("x")</script>'


@dataclass(frozen=True)
class Area:
    settings: Settings
    sessions: sessionmaker[Session]
    neighbourhood: str
    other_practice: str
    admitted: int  # on the register, admitted in the 30 days before the extract date
    quiet: int  # on the register, added long ago, nothing else
    extract: dt.date


def _people(store: PopulationStore) -> tuple[str, str, int, int, dt.date]:
    extract = dt.date.fromisoformat(str(store.metadata()["extract_date"])[:10])
    sql = """
        with reg as (
            select person_id, practice_code from read_parquet($reg)
            where start_date <= $on and (end_date is null or end_date > $on)
        ), org as (select org_code, parent_code from read_parquet($org))
        select reg.person_id, org.parent_code, reg.practice_code,
               exists (select 1 from read_parquet($spells) s where s.person_id = reg.person_id
                       and s.admission_date > $on - interval 30 day
                       and s.admission_date <= $on) as admitted
        from reg join org on org.org_code = reg.practice_code
        order by reg.person_id
    """
    with duckdb.connect() as con:
        rows = con.execute(
            sql,
            {
                "reg": str(store.path("registrations")),
                "org": str(store.path("organisations")),
                "spells": str(store.path("hospital_spells")),
                "on": extract,
            },
        ).fetchall()
    admitted = next(r for r in rows if r[3])
    hood = admitted[1]
    # Both people at one practice, so that a nurse of any other practice is an outsider to both.
    quiet = next(r for r in rows if r[2] == admitted[2] and not r[3] and r[0] != admitted[0])
    other = next(r[2] for r in rows if r[2] != admitted[2])
    return hood, other, admitted[0], quiet[0], extract


def _user(sessions: sessionmaker[Session], name: str, role: str, org: str | None) -> int:
    with sessions() as session, session.begin():
        user = User(username=name, display_name=name, role=role, created_at=dt.datetime.now(dt.UTC))
        session.add(user)
        session.flush()
        if org:
            session.add(UserOrganisation(user_id=user.id, org_code=org))
        return int(user.id)


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Area:
    settings, sessions, store = care_home(small_area, tmp_path_factory.mktemp("mdt-pages"))
    hood, other, admitted, quiet, extract = _people(store)
    gp_id = _user(sessions, "gp-member", "gp", hood)
    long_ago = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    with sessions() as session, session.begin():
        for person in (admitted, quiet):
            session.add(
                RegisterEntry(
                    person_id=person,
                    practice_code="X",
                    neighbourhood_code=hood,
                    status="active",
                    source="referral",
                    reason="test",
                    added_by=gp_id,
                    added_at=long_ago,
                    status_changed_at=long_ago,
                    review_due_on=None if person == admitted else dt.date(2026, 1, 1),
                )
            )
    # Two small runs: the quiet person rises; the admitted person carries an admission risk.
    write_run(
        settings.home,
        "r1",
        "2026-01-01T00:00:00",
        {admitted: "well", quiet: "well"},
        {admitted: 0.2, quiet: 0.1},
    )
    write_run(
        settings.home,
        "r2",
        "2026-02-01T00:00:00",
        {admitted: "well", quiet: "emerging"},
        {admitted: 0.42, quiet: 0.1},
    )
    return Area(settings, sessions, hood, other, admitted, quiet, extract)


def _client(area: Area, name: str, role: str, org: str | None = None) -> TestClient:
    with area.sessions() as session:
        found = session.scalars(select(User.id).where(User.username == name)).first()
    user_id = found or _user(area.sessions, name, role, org)
    app: FastAPI = create_app(area.settings)
    who: Principal = principal(role, user_id=user_id, username=name)
    sign_in_as(app, who)
    return TestClient(app, follow_redirects=False)


def _post(client: TestClient, url: str, data: dict[str, object] | None = None) -> object:
    return client.post(url, data={"csrf_token": CSRF_TOKEN, **(data or {})})


@pytest.fixture(scope="module")
def meeting(area: Area) -> int:
    """A meeting the member GP scheduled (a social worker and a guest invited)."""
    _user(area.sessions, "sw-guest", "social_worker", None)
    with area.sessions() as session:
        sw = session.scalars(select(User.id).where(User.username == "sw-guest")).one()
    gp = _client(area, "gp-member", "gp")
    day = area.extract + dt.timedelta(days=3)
    response = gp.post(
        "/care-coordination/mdt",
        data={
            "csrf_token": CSRF_TOKEN,
            "neighbourhood": area.neighbourhood,
            **date_fields("day", day),
            "time": "13:00",
            "location": "Hub room 1",
            "attendees": [str(sw)],
            "guests": "Sam Patel | Housing officer | Riverside Council",
        },
    )
    assert response.status_code == 303, response.text
    match = re.search(r"/care-coordination/mdt/(\d+)\?scheduled=1$", response.headers["location"])
    assert match
    return int(match.group(1))


def test_the_agenda_is_built_with_recent_activity_and_review_reasons(
    area: Area, meeting: int
) -> None:
    gp = _client(area, "gp-member", "gp")
    assert _post(gp, f"/care-coordination/mdt/{meeting}/agenda").status_code == 303  # type: ignore[attr-defined]
    page = gp.get(f"/care-coordination/mdt/{meeting}")
    assert page.status_code == 200
    rows = re.findall(r'data-person="(\d+)"', page.text)
    assert set(rows) == {str(area.admitted), str(area.quiet)}
    admitted_row = page.text.split(f'data-person="{area.admitted}"')[1].split("</tr>")[0]
    assert re.search(r"(admission|A&amp;E attendance) on \d+ \w+ 2026", admitted_row)
    quiet_row = page.text.split(f'data-person="{area.quiet}"')[1].split("</tr>")[0]
    assert "Register review due on 1 January 2026" in quiet_row
    assert "Rising need since the last stratification run" in quiet_row
    assert "admission risk rose" in admitted_row  # 20% to 42%: more than ten points
    assert "NHS number" in page.text
    with area.sessions() as session:
        views = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view.mdt.agenda")
        ).all()
    assert views and views[-1].detail["rows"] == 2


def test_who_may_see_the_people_of_a_meeting(area: Area, meeting: int) -> None:
    outsider = _client(area, "nurse-outsider", "nurse", area.other_practice)
    page = outsider.get(f"/care-coordination/mdt/{meeting}")
    assert page.status_code == 200
    assert 'data-person="' not in page.text and 'id="hidden-count"' in page.text
    person = f"/care-coordination/mdt/{meeting}/people/{area.admitted}"
    assert outsider.get(person).status_code == 403
    assert _post(outsider, f"/care-coordination/mdt/{meeting}/agenda").status_code == 403  # type: ignore[attr-defined]
    invited = _client(area, "sw-guest", "social_worker")
    assert invited.get(person).status_code == 200
    commissioner = _client(area, "commissioner-c", "commissioner", area.neighbourhood)
    assert commissioner.get("/care-coordination/mdt").status_code == 403
    gp = _client(area, "gp-member", "gp")
    refused = gp.post(f"/care-coordination/mdt/{meeting}/agenda", data={})  # no CSRF token
    assert refused.status_code == 403
    assert gp.get(f"/care-coordination/mdt/{meeting}/people/123456789").status_code == 404
    assert gp.get("/care-coordination/mdt/99999").status_code == 404


def test_a_decision_becomes_an_action_that_its_owner_completes(area: Area, meeting: int) -> None:
    gp = _client(area, "gp-member", "gp")
    _post(gp, f"/care-coordination/mdt/{meeting}/agenda")
    detail = get_meeting(area.sessions, meeting)
    assert detail is not None
    me = next(a for a in detail.attendees if a.name == "gp-member")
    url = f"/care-coordination/mdt/{meeting}/people/{area.admitted}"
    summary = gp.get(url)
    assert summary.status_code == 200
    segment = summary.text.split('id="segment"')[1].split("</dd>")[0]
    assert "Four-group frailty model: Largely healthy" in segment
    assert "admission risk 42%" in segment
    assert re.search(r"admission on \d+ \w+ 2026", summary.text.split('id="activity"')[1])
    bad = _post(gp, url + "/decisions", {"decision": "x", "action_1": "Do it", "owner_1": ""})
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert open_actions(area.sessions, person_id=area.admitted) == []
    due = area.extract + dt.timedelta(days=10)
    response = _post(
        gp,
        url + "/decisions",
        {
            "decision": f"Review {XSS}",
            "action_1": f"Visit {XSS}",
            "owner_1": str(me.id),
            **date_fields("due_1", due),
        },
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = gp.get(url + "?decided=1")
    assert XSS not in page.text and "&lt;script&gt;alert(" in page.text
    [action] = open_actions(area.sessions, person_id=area.admitted)
    assert action.owner_user_id is not None and action.mdt_meeting_id == meeting

    action_url = f"/care-coordination/actions/{action.id}"
    assert gp.get(action_url).status_code == 200
    stale = _post(gp, action_url + "/complete", {"outcome": "Done", "version": "0"})
    assert stale.status_code == 409  # type: ignore[attr-defined]
    assert "changed" in stale.text  # type: ignore[attr-defined]
    missing = _post(gp, action_url + "/complete", {"outcome": " ", "version": "1"})
    assert missing.status_code == 400  # type: ignore[attr-defined]
    done = _post(gp, action_url + "/complete", {"outcome": f"Seen {XSS}", "version": "1"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    shown = gp.get(action_url)
    assert 'data-status="done"' in shown.text and XSS not in shown.text
    completed = get_action(area.sessions, action.id)
    assert completed is not None and completed.status == "done"
    outsider = _client(area, "nurse-outsider", "nurse", area.other_practice)
    assert outsider.get(action_url).status_code == 403
    with area.sessions() as session:
        seen = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view.mdt.person_summary")
        ).all()
    assert {e.person_id for e in seen} >= {area.admitted}


def test_closing_writes_minutes_only_members_may_read(area: Area, meeting: int) -> None:
    gp = _client(area, "gp-member", "gp")
    detail = get_meeting(area.sessions, meeting)
    assert detail is not None
    assert (
        _post(
            gp,
            f"/care-coordination/mdt/{meeting}/attendance",
            {"present": [str(detail.attendees[0].id)]},
        ).status_code
        == 303
    )  # type: ignore[attr-defined]
    assert gp.get(f"/care-coordination/mdt/{meeting}/minutes").status_code == 404
    assert _post(gp, f"/care-coordination/mdt/{meeting}/close").status_code == 303  # type: ignore[attr-defined]
    minutes = gp.get(f"/care-coordination/mdt/{meeting}/minutes")
    assert minutes.status_code == 200
    assert "Present: gp-member" in minutes.text and "NHS number" in minutes.text
    assert XSS not in minutes.text and "&lt;script&gt;" in minutes.text
    outsider = _client(area, "nurse-outsider", "nurse", area.other_practice)
    assert outsider.get(f"/care-coordination/mdt/{meeting}/minutes").status_code == 403
    again = _post(gp, f"/care-coordination/mdt/{meeting}/close")
    assert again.status_code == 400  # type: ignore[attr-defined]


def test_the_demo_seed_holds_one_meeting_and_builds_the_next(area: Area) -> None:
    seeded = seed_demo_meetings(
        area.sessions,
        area.settings,
        organiser_username="gp-member",
        neighbourhood_code=area.neighbourhood,
        now=dt.datetime.combine(area.extract, dt.time(9), tzinfo=dt.UTC),
    )
    held = get_meeting(area.sessions, seeded.held_id)
    upcoming = get_meeting(area.sessions, seeded.upcoming_id)
    assert held is not None and upcoming is not None
    assert held.meeting.status == "held" and held.meeting.minutes
    assert seeded.decisions >= 1 and seeded.actions >= 1 and held.decisions
    assert "DECISION:" in held.meeting.minutes
    assert upcoming.meeting.status == "scheduled" and upcoming.agenda
    assert upcoming.carried_in  # the held meeting's open actions
    assert len(list_meetings(area.sessions, area.neighbourhood)) >= 3
