"""Break-glass on both care-store backends: a clinician without a relationship is refused, breaks
glass with a reason, gets time-limited access that is flagged until a governance lead reviews
it — through the service functions and through the pages."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.governance import users
from joinedup.governance.audit import verify_audit_chain
from joinedup.governance.break_glass import (
    GRANT_DURATION,
    BreakGlassError,
    BreakGlassNotAllowed,
    GrantNotFound,
    break_glass,
    pending_reviews,
    recent_reviews,
    review,
)
from joinedup.governance.models import BreakGlassGrant
from joinedup.governance.relationships import Access, person_access
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as

PASSWORD = "Blue kettle 42 sings"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REASON = "Seen at the extended-access hub tonight; own practice closed"


@dataclass(frozen=True)
class Area:
    sessions: sessionmaker[Session]
    person: PersonIdentity
    far_gp: Principal  # works at another practice: no relationship with `person`
    lead: Principal  # administrator and governance lead
    receptionist: Principal


def _a_registered_person(store: PopulationStore) -> PersonIdentity:
    for person_id in store.read("patients", ["person_id"]).column("person_id").to_pylist():
        person = find_person(store, person_id)
        if person is not None and person.neighbourhood_code and person.date_of_death is None:
            return person
    raise AssertionError("the small area has nobody registered in a neighbourhood")


def _account(
    sessions: sessionmaker[Session], name: str, role: str, orgs: tuple[str, ...]
) -> Principal:
    user, _ = users.add_user(sessions, name, name.replace(".", " ").title(), role, orgs, PASSWORD)
    return principal(role, user_id=user.id, username=name, organisations=orgs)


@pytest.fixture
def area(sessions: sessionmaker[Session], small_store: PopulationStore) -> Area:
    sync_organisations(small_store, sessions)
    person = _a_registered_person(small_store)
    organisations = small_store.read("organisations").to_pylist()
    elsewhere = next(
        o["org_code"]
        for o in organisations
        if o["org_type"] == "practice" and o["org_code"] != person.practice_code
    )
    return Area(
        sessions=sessions,
        person=person,
        far_gp=_account(sessions, "far.gp", "gp", (elsewhere,)),
        lead=_account(sessions, "ig.lead", "administrator", ()),
        receptionist=_account(sessions, "front.desk", "receptionist", ()),
    )


def audit_events(sessions: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def access(area: Area, who: Principal, now: dt.datetime) -> Access:
    return person_access(
        area.sessions, who, area.person.person_id, area.person.practice_code, now=now
    )


# --- The service -----------------------------------------------------------------------------


def test_breaking_glass_gives_time_limited_access(area: Area) -> None:
    assert not access(area, area.far_gp, T0).allowed

    grant = break_glass(area.sessions, area.far_gp, area.person.person_id, REASON, now=T0)

    assert grant.expires_at == T0 + GRANT_DURATION == T0 + dt.timedelta(hours=8)
    during = access(area, area.far_gp, T0 + dt.timedelta(hours=7, minutes=59))
    assert during.allowed and during.basis == "break_glass"
    assert during.break_glass_expires_at == grant.expires_at
    assert not access(area, area.far_gp, T0 + GRANT_DURATION).allowed
    [event] = audit_events(area.sessions, "break_glass.grant")
    assert (event.actor, event.person_id, event.entity_id) == (
        "far.gp",
        area.person.person_id,
        str(grant.id),
    )
    assert event.detail["reason"] == REASON


def test_a_reason_needs_fifteen_characters_after_trimming(area: Area) -> None:
    fourteen, fifteen = "Needs it now!!", "Needs it now!!!"
    assert (len(fourteen), len(fifteen)) == (14, 15)
    with pytest.raises(BreakGlassError, match="15 characters"):
        break_glass(area.sessions, area.far_gp, area.person.person_id, f"  \n{fourteen}\t  ")
    assert audit_events(area.sessions, "break_glass.grant") == []

    grant = break_glass(area.sessions, area.far_gp, area.person.person_id, f"  {fifteen}\n")

    assert grant.reason == fifteen


def test_only_roles_that_may_break_glass_can(area: Area) -> None:
    for who in (area.receptionist, area.lead):
        with pytest.raises(BreakGlassNotAllowed):
            break_glass(area.sessions, who, area.person.person_id, REASON)
    assert audit_events(area.sessions, "break_glass.grant") == []


def test_reviews_are_recorded_and_audited(area: Area) -> None:
    grant = break_glass(area.sessions, area.far_gp, area.person.person_id, REASON, now=T0)
    [pending] = pending_reviews(area.sessions)
    assert (pending.id, pending.username, pending.reason) == (grant.id, "far.gp", REASON)
    assert recent_reviews(area.sessions) == []

    review(area.sessions, area.lead, grant.id, "inappropriate", " No hub booking found ")

    assert pending_reviews(area.sessions) == []
    [done] = recent_reviews(area.sessions)
    assert (done.outcome, done.reviewer, done.note) == (
        "inappropriate",
        "ig.lead",
        "No hub booking found",
    )
    [event] = audit_events(area.sessions, "break_glass.review")
    assert (event.actor, event.entity_id, event.person_id) == (
        "ig.lead",
        str(grant.id),
        area.person.person_id,
    )
    assert event.detail == {"outcome": "inappropriate"}
    assert verify_audit_chain(area.sessions).ok


def test_review_rules(area: Area) -> None:
    grant = break_glass(area.sessions, area.far_gp, area.person.person_id, REASON, now=T0)
    same_person_as_lead = Principal(
        user_id=area.far_gp.user_id, username="far.gp", display_name="Far", role="administrator"
    )

    with pytest.raises(BreakGlassNotAllowed, match="your own"):
        review(area.sessions, same_person_as_lead, grant.id, "appropriate")
    with pytest.raises(BreakGlassNotAllowed):
        review(area.sessions, area.far_gp, grant.id, "appropriate")
    with pytest.raises(BreakGlassError, match="appropriate or inappropriate"):
        review(area.sessions, area.lead, grant.id, "fine")
    with pytest.raises(GrantNotFound):
        review(area.sessions, area.lead, grant.id + 100, "appropriate")
    assert audit_events(area.sessions, "break_glass.review") == []

    review(area.sessions, area.lead, grant.id, "appropriate")
    with pytest.raises(BreakGlassError, match="reviewed already"):
        review(area.sessions, area.lead, grant.id, "inappropriate")
    with area.sessions() as session:
        assert session.get_one(BreakGlassGrant, grant.id).review_outcome == "appropriate"


# --- The pages -------------------------------------------------------------------------------


@pytest.fixture
def app(area: Area, small_area: Settings, care_store: str) -> FastAPI:
    return create_app(Settings(home=small_area.home, database_url=care_store))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def post_forms(html: str) -> dict[str, str]:
    """The page's POST forms by action, each mapped to the CSRF token it carries ("" if none)."""
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    found = {}
    for action, body in forms:
        token = re.search(r'<input type="hidden" name="csrf_token" value="([^"]*)">', body)
        found[action] = token.group(1) if token else ""
    return found


def test_a_clinician_breaks_glass_through_the_page(
    area: Area, app: FastAPI, client: TestClient
) -> None:
    sign_in_as(app, area.far_gp)
    url = f"/people/{area.person.person_id}/break-glass"

    page = client.get(url)
    assert page.status_code == 200
    assert "You do not have a care relationship" in page.text
    assert post_forms(page.text)[url] == CSRF_TOKEN
    assert area.person.nhs_number not in page.text  # nothing identifying before the reason

    assert client.post(url, data={"reason": REASON}).status_code == 403  # no CSRF token
    short = client.post(url, data={"reason": "emergency", "csrf_token": CSRF_TOKEN})
    assert short.status_code == 400 and "at least 15 characters" in short.text
    assert audit_events(area.sessions, "break_glass.grant") == []

    done = client.post(url, data={"reason": REASON, "csrf_token": CSRF_TOKEN})
    assert done.status_code == 303
    assert done.headers["location"] == f"/people/{area.person.person_id}"
    assert access(area, area.far_gp, dt.datetime.now(dt.UTC)).allowed
    again = client.get(url)
    assert "You can already open this record" in again.text and url not in post_forms(again.text)


def test_break_glass_page_refuses_unknown_people_and_other_roles(
    area: Area, app: FastAPI, client: TestClient
) -> None:
    sign_in_as(app, area.far_gp)
    assert client.get("/people/999999999/break-glass").status_code == 404
    sign_in_as(app, area.receptionist)
    assert client.get(f"/people/{area.person.person_id}/break-glass").status_code == 403


def test_a_lead_sees_the_flag_and_records_the_review(
    area: Area, app: FastAPI, client: TestClient
) -> None:
    grant = break_glass(area.sessions, area.far_gp, area.person.person_id, REASON)
    sign_in_as(app, area.far_gp)
    assert client.get("/governance/break-glass").status_code == 403

    sign_in_as(app, area.lead)
    page = client.get("/governance/break-glass")
    assert page.status_code == 200
    card = page.text[page.text.index(f'data-grant="{grant.id}"') :]
    assert 'data-flag="needs-review"' in card and 'data-flag="open"' in card
    assert REASON in card and "far.gp" in card
    action = f"/governance/break-glass/{grant.id}/review"
    assert post_forms(page.text)[action] == CSRF_TOKEN

    assert client.post(action, data={"outcome": "appropriate"}).status_code == 403
    missing = client.post(action, data={"csrf_token": CSRF_TOKEN})
    assert missing.status_code == 400 and "appropriate or inappropriate" in missing.text
    done = client.post(
        action,
        data={"outcome": "appropriate", "note": "Hub booking seen", "csrf_token": CSRF_TOKEN},
    )
    assert done.status_code == 303 and done.headers["location"] == "/governance/break-glass"

    after = client.get("/governance/break-glass").text
    assert 'data-flag="needs-review"' not in after and 'id="no-pending"' in after
    reviewed = after[after.index('id="reviewed-grants"') :]
    assert "Appropriate" in reviewed and "Hub booking seen" in reviewed and "ig.lead" in reviewed
    assert [e.actor for e in audit_events(area.sessions, "break_glass.review")] == ["ig.lead"]
    assert (
        client.post(
            "/governance/break-glass/999999/review",
            data={"outcome": "appropriate", "csrf_token": CSRF_TOKEN},
        ).status_code
        == 404
    )


def test_the_audit_page_answers_and_records_the_question(
    area: Area, app: FastAPI, client: TestClient
) -> None:
    break_glass(area.sessions, area.far_gp, area.person.person_id, REASON)
    sign_in_as(app, area.far_gp)
    assert client.get("/governance/audit").status_code == 403

    sign_in_as(app, area.lead)
    assert client.get("/governance/audit").status_code == 200
    assert audit_events(area.sessions, "audit.query") == []

    by_person = client.get("/governance/audit", params={"person_id": area.person.person_id})
    assert by_person.status_code == 200
    results = by_person.text[by_person.text.index('id="audit-results"') :]
    assert 'data-action="break_glass.grant"' in results and "far.gp" in results
    assert REASON not in by_person.text  # details stay out of the results table

    by_user = client.get("/governance/audit", params={"username": "far.gp"})
    assert 'data-action="break_glass.grant"' in by_user.text

    # A person asking who looked at their record gives their NHS number, not joinedup's ID.
    spaced = format_nhs_number(area.person.nhs_number)
    by_nhs_number = client.get("/governance/audit", params={"person_id": spaced})
    assert by_nhs_number.status_code == 200
    assert 'data-action="break_glass.grant"' in by_nhs_number.text
    # The answer names the person as asked, not by an internal number.
    assert f"Who looked at the person with NHS number {spaced}" in by_nhs_number.text
    assert f"Who looked at the person with joinedup ID {area.person.person_id}" in by_person.text

    asked = audit_events(area.sessions, "audit.query")
    assert [(e.actor, e.person_id, e.entity_id) for e in asked] == [
        ("ig.lead", area.person.person_id, str(area.person.person_id)),
        ("ig.lead", None, "far.gp"),
        ("ig.lead", area.person.person_id, str(area.person.person_id)),
    ]
    bad = client.get("/governance/audit", params={"person_id": "12a"})
    assert bad.status_code == 400 and "numbers only" in bad.text
    unknown = client.get("/governance/audit", params={"person_id": "943 476 5919"})
    assert unknown.status_code == 400 and "No one in the area has NHS number" in unknown.text
    assert len(audit_events(area.sessions, "audit.query")) == 3


def test_the_governance_index_shows_what_the_user_may_do(
    area: Area, app: FastAPI, client: TestClient
) -> None:
    sign_in_as(app, area.lead)
    page = client.get("/governance")
    assert page.status_code == 200
    for link in ("/governance/audit", "/governance/break-glass"):
        assert f'href="{link}"' in page.text
    table = page.text[page.text.index('id="user-accounts-table"') :]
    for username in ("far.gp", "ig.lead", "front.desk"):
        assert f'data-username="{username}"' in table
    assert "Receptionist or NHS 111 booker" in table

    sign_in_as(app, area.far_gp)
    assert client.get("/governance").status_code == 403
