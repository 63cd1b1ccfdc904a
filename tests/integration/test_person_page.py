"""The person page and the register's pages on the small area, on SQLite and PostgreSQL: the
legitimate relationship (403 without one), the audit event before rendering, the content, adding
to the register and assigning a named professional through the forms; the case-finding seam and
coverage."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care import register as reg
from joinedup.care.coverage import list_coverage
from joinedup.care.named_professionals import current_named_professional
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.roles import Principal
from joinedup.governance.sessions import start_session
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import case_finding
from joinedup.web.app import create_app
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as

Sessions = sessionmaker[Session]
Setup = tuple[FastAPI, Sessions, dict[str, int], str, int]


@pytest.fixture
def setup(care_store: str, small_area: Settings, small_store: PopulationStore) -> Setup:
    sessions = session_factory(make_engine(care_store))
    sync_organisations(small_store, sessions)
    orgs = pd.read_parquet(small_store.path("organisations"))
    practice = orgs[orgs.org_type == "practice"].sort_values("org_code").iloc[0]
    users = {}
    with sessions() as session, session.begin():
        for name, role, org in (
            ("gp", "gp", practice.parent_code),
            ("stranger", "gp", None),
            ("coord", "care_coordinator", practice.parent_code),
        ):
            user = User(username=name, display_name=name.title(), role=role, created_at=_now())
            session.add(user)
            session.flush()
            if org:
                session.add(UserOrganisation(user_id=user.id, org_code=org))
            users[name] = user.id
    regs = pd.read_parquet(small_store.path("registrations"))
    ids = sorted(regs[(regs.practice_code == practice.org_code) & regs.end_date.isna()].person_id)
    person = next(
        int(p) for p in ids[:10] if (f := find_person(small_store, int(p))) and f.practice_code
    )
    app = create_app(Settings(home=small_area.home, database_url=care_store))
    return app, sessions, users, str(practice.org_code), person


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as(app: FastAPI, users: dict[str, int], name: str, role: str) -> TestClient:
    sign_in_as(app, principal(role, user_id=users[name], username=name))
    return TestClient(app, follow_redirects=False)


def _with_session(
    app: FastAPI, sessions: Sessions, users: dict[str, int], name: str, role: str
) -> TestClient:
    """Signed in with a real server-side session row, which holds the one-shot messages."""
    with sessions() as session:
        user = session.get(User, users[name])
        assert user is not None
        _token, web_session = start_session(sessions, user, _now())
    sign_in_as(
        app,
        Principal(
            user_id=user.id,
            username=name,
            display_name=name.title(),
            role=role,
            organisations=(),
            csrf_token=CSRF_TOKEN,
            session_id=web_session.id,
        ),
    )
    return TestClient(app, follow_redirects=False)


def _error_box(html: str) -> str:
    summary = html.split('class="nhsuk-error-summary"', 1)
    assert len(summary) == 2, "no error summary on the page"
    return summary[1].split("<p>", 1)[1].split("</p>", 1)[0].strip()


def _views(sessions: Sessions, person: int) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(AuditEvent.actor, AuditEvent.action).where(AuditEvent.person_id == person)
        ).all()
    return [(a, b) for a, b in rows]


def test_without_a_relationship_the_page_is_refused_and_nothing_is_shown(setup: Setup) -> None:
    app, sessions, users, _practice, person = setup
    client = _as(app, users, "stranger", "gp")

    response = client.get(f"/people/{person}")

    assert response.status_code == 403
    assert "You cannot see this record" in response.text
    assert "break-glass-link" in response.text
    assert _views(sessions, person) == []
    assert client.get("/people/999999999").status_code == 404
    assert _as(app, users, "gp", "receptionist").get(f"/people/{person}").status_code == 403


def test_the_page_is_audited_and_shows_the_person_across_providers(setup: Setup) -> None:
    app, sessions, users, _practice, person = setup
    client = _as(app, users, "gp", "gp")

    response = client.get(f"/people/{person}")

    assert response.status_code == 200
    identity = find_person(PopulationStore(app.state.settings.population_dir), person)
    assert identity is not None
    assert format_nhs_number(identity.nhs_number) in response.text
    for section in ('id="register"', 'id="care-plan"', 'id="actions"', 'id="timeline"'):
        assert section in response.text
    assert "Contacts across every provider" in response.text
    assert f"/people/{person}/scores" in response.text
    assert 'id="add-to-register"' in response.text
    assert _views(sessions, person) == [("gp", "view.person.page")]
    from_list = client.get(f"/people/{person}?list=high-gp-users")
    assert 'value="high-gp-users"' in from_list.text
    assert 'value="case_finding" selected' in from_list.text
    # The way back to the list the page was opened from (and none from an unknown place).
    assert 'href="/case-finding/high-gp-users" id="way-back"' in from_list.text
    from_register = client.get(f"/people/{person}?from=register").text
    assert 'href="/care-coordination/register" id="way-back">Back to the register' in from_register
    assert 'id="way-back"' not in client.get(f"/people/{person}?from=elsewhere").text


def test_adding_moving_and_assigning_through_the_forms(setup: Setup) -> None:
    app, sessions, users, _practice, person = setup
    client = _with_session(app, sessions, users, "coord", "care_coordinator")
    form = {"csrf_token": CSRF_TOKEN, "person_id": str(person), "source": "referral"}

    refused = client.post("/care-coordination/register", data=form)  # no reason
    assert refused.status_code == 303 and refused.headers["location"] == f"/people/{person}"
    assert _error_box(client.get(f"/people/{person}").text) == "Enter the reason."
    added = client.post("/care-coordination/register", data={**form, "reason": "carer asked"})
    assert added.headers["location"] == f"/people/{person}"
    assert "Added to the coordinated care register." in client.get(f"/people/{person}").text
    again = client.post("/care-coordination/register", data={**form, "reason": "again"})
    assert "already on the coordinated care register" in client.get(f"/people/{person}").text
    assert again.headers["location"] == f"/people/{person}"
    entry = reg.entry_for_person(sessions, person)
    assert entry is not None and entry.source == "referral"
    page = client.get(f"/people/{person}")  # the message was shown once
    assert 'data-status="identified"' in page.text and "already on the" not in page.text

    moved = client.post(
        f"/care-coordination/register/{entry.id}/move",
        data={"csrf_token": CSRF_TOKEN, "to_status": "invited", "expected_version": "1"},
    )
    assert "Register entry moved to invited." in client.get(f"/people/{person}").text
    stale = client.post(
        f"/care-coordination/register/{entry.id}/move",
        data={"csrf_token": CSRF_TOKEN, "to_status": "invited", "expected_version": "1"},
    )
    assert moved.status_code == stale.status_code == 303
    assert "changed after you opened it" in client.get(f"/people/{person}").text

    unchosen = client.post(f"/people/{person}/named-professional", data={"csrf_token": CSRF_TOKEN})
    assert unchosen.headers["location"] == f"/people/{person}/named-professional"
    chooser = client.get(f"/people/{person}/named-professional")
    assert chooser.status_code == 200 and "Choose a named professional." in chooser.text
    choice = f"{users['coord']}:care_coordinator"
    assert f'value="{choice}"' in chooser.text
    assigned = client.post(
        f"/people/{person}/named-professional",
        data={"csrf_token": CSRF_TOKEN, "professional": choice},
    )
    assert assigned.status_code == 303
    named = current_named_professional(sessions, person)
    assert named is not None and named.user_id == users["coord"]
    assert client.get("/care-coordination/worklist").status_code == 200
    assert f"/people/{person}" in client.get("/care-coordination/worklist").text
    assert f"/people/{person}" in client.get("/care-coordination/register").text
    assert "Coord" in client.get("/care-coordination/caseloads").text


def test_writes_without_the_form_token_are_refused(setup: Setup) -> None:
    app, sessions, users, _practice, person = setup
    client = _as(app, users, "gp", "gp")
    response = client.post(
        "/care-coordination/register", data={"person_id": str(person), "reason": "r"}
    )
    assert response.status_code == 403
    assert reg.entry_for_person(sessions, person) is None


def test_case_finding_leaves_out_register_members_and_coverage_counts_them(
    setup: Setup, small_store: PopulationStore
) -> None:
    _app, sessions, users, practice, _person = setup
    before = list_coverage(small_store, sessions, run=None, list_ids={"high-gp-users"})[0]
    found = [p for p in before.by_practice if p.code == practice and p.found]
    assert found, "the small area should have a high GP user at the first practice"
    from joinedup.analytics import case_finding as cf

    rows = cf.run_list(small_store, "high-gp-users", practice=practice).rows
    person = int(rows["person_id"][0].as_py())
    coordinator = principal("care_coordinator", user_id=users["coord"], username="coord")
    reg.add_to_register(
        sessions, small_store, coordinator, person_id=person, source="case_finding", reason="r"
    )

    after = list_coverage(small_store, sessions, run=None, list_ids={"high-gp-users"})[0]

    assert case_finding.on_register(sessions) == {person}
    assert (before.on_register, after.on_register, after.found) == (0, 1, before.found)
    [mine] = [p for p in after.by_practice if p.code == practice]
    assert mine.on_register == 1 and mine.share == 1 / mine.found


@pytest.mark.parametrize(
    "query",
    [
        "notice=Phone+0800+123+4567+with+your+password",
        "error=Phone+0800+123+4567+with+your+password",
        "notice=Phone+0800+123+4567&error=Phone+0800+123+4567",
    ],
)
def test_words_in_the_web_address_never_reach_a_message_box(setup: Setup, query: str) -> None:
    app, sessions, users, _practice, person = setup
    client = _with_session(app, sessions, users, "coord", "care_coordinator")
    for path in (f"/people/{person}", f"/people/{person}/named-professional"):
        page = client.get(f"{path}?{query}")
        assert page.status_code == 200
        assert "0800" not in page.text
        assert 'id="notice"' not in page.text and "nhsuk-error-summary" not in page.text
