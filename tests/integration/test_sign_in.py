"""Signing in through the real form, sessions and their cookies, on both care-store backends.

The app is `create_app` + `auth.install` with an injected clock; the care store is migrated and
holds the organisations of a small area.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.errors import UserError
from joinedup.governance import users
from joinedup.governance.models import User, WebSession
from joinedup.governance.sessions import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    SessionLimits,
    end_session,
    principal_for_token,
    session_id_for,
    set_flash,
    start_session,
)
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import auth, flash
from joinedup.web.app import create_app

Sessions = sessionmaker[Session]
PASSWORD = "Blue kettle 42 sings"
NEW_PASSWORD = "Green teapot 17 hums"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
GENERIC = "Enter a correct username and password"


@dataclass
class Clock:
    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def area(sessions: Sessions, area_store: PopulationStore) -> Sessions:
    sync_organisations(area_store, sessions)
    users.add_user(sessions, "jsmith", "Jo Smith", "gp", ["NBH01"], PASSWORD, actor="test")
    return sessions


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(area: Sessions, care_store: str, tmp_path: Path, clock: Clock) -> FastAPI:
    app = create_app(Settings(home=tmp_path, database_url=care_store))
    auth.install(app, clock=clock)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def sign_in_token(page: httpx.Response) -> str:
    found = re.search(r'name="signin_token" value="([^"]+)"', page.text)
    assert found, "the sign-in form has no double-submit token"
    return found.group(1)


def csrf_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(
    client: TestClient, username: str = "jsmith", password: str = PASSWORD, next_url: str = ""
) -> httpx.Response:
    token = sign_in_token(client.get("/sign-in"))
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "next": next_url, "signin_token": token},
        follow_redirects=False,
    )


def signed_in(client: TestClient) -> bool:
    page = client.get("/account/password", follow_redirects=False)
    return page.status_code == 200 and "Jo Smith" in page.text


def actions(sessions: Sessions) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.actor).order_by(AuditEvent.id))
        return [(a, b) for a, b in rows if a.startswith("session.")]


def count(sessions: Sessions, model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- the form --------------------------------------------------------------------------------


def test_signing_in_sets_an_httponly_samesite_cookie_and_opens_the_worklist(
    client: TestClient, area: Sessions
) -> None:
    assert not signed_in(client)

    response = sign_in(client)

    assert response.status_code == 303
    assert response.headers["location"] == "/care-coordination/worklist"  # a GP's day's work
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("joinedup_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # served over plain http here
    assert signed_in(client)
    page = client.get("/account/password")
    assert "(GP)" in page.text and 'action="/sign-out"' in page.text
    token = client.cookies["joinedup_session"]
    with area() as session:
        stored = session.scalars(select(WebSession)).one()
    assert stored.id == session_id_for(token) and token not in stored.id
    assert actions(area) == [("session.sign_in", "jsmith")]


def test_over_https_the_cookie_is_secure(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        response = sign_in(client)
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("joinedup_session=")
    )
    assert "Secure" in cookie


def test_a_wrong_password_or_unknown_user_gets_the_same_generic_message(
    client: TestClient, area: Sessions
) -> None:
    wrong = sign_in(client, password="Not the password 1")
    unknown = sign_in(client, username="nobody")

    for response in (wrong, unknown):
        assert response.status_code == 200
        assert GENERIC in response.text
        assert "joinedup_session" not in response.headers.get("set-cookie", "")
    assert "nobody" not in unknown.text.split("<form")[0]
    assert not signed_in(client)
    assert count(area, WebSession) == 0


def test_five_failures_lock_the_account_until_fifteen_minutes_pass(
    client: TestClient, clock: Clock
) -> None:
    for _ in range(5):
        assert GENERIC in sign_in(client, password="Not the password 1").text
        clock.advance(seconds=10)

    locked = sign_in(client)  # the right password, while locked
    assert locked.status_code == 200 and GENERIC in locked.text

    clock.advance(minutes=15)
    assert sign_in(client).status_code == 303
    assert signed_in(client)


def test_too_many_attempts_from_one_address_get_429(client: TestClient, clock: Clock) -> None:
    for n in range(10):
        assert sign_in(client, username=f"guess{n}").status_code == 200

    refused = sign_in(client)  # even with the right password

    assert refused.status_code == 429
    assert "too many attempts" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert not signed_in(client)
    clock.advance(minutes=5, seconds=1)
    assert sign_in(client).status_code == 303


def test_a_disabled_user_cannot_sign_in(client: TestClient, area: Sessions) -> None:
    users.disable_user(area, "jsmith", actor="admin")

    response = sign_in(client)

    assert response.status_code == 200 and GENERIC in response.text
    assert not signed_in(client)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/sign-in",
    ],
)
def test_next_must_be_a_path_on_this_site(client: TestClient, target: str) -> None:
    response = sign_in(client, next_url=target)

    assert response.status_code == 303
    assert response.headers["location"] == "/care-coordination/worklist"  # the GP's landing


def test_next_on_this_site_is_where_signing_in_leads(client: TestClient) -> None:
    first = client.get("/data-dictionary", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/sign-in?next=%2Fdata-dictionary"

    response = sign_in(client, next_url="/data-dictionary?table=patients")

    assert response.headers["location"] == "/data-dictionary?table=patients"


def test_a_role_without_the_overview_lands_on_its_first_area(
    client: TestClient, area: Sessions
) -> None:
    users.add_user(area, "desk", "Front Desk", "receptionist", ["NBH01"], PASSWORD, actor="t")

    # A receptionist's first area is where they book (hubs and appointments).
    assert sign_in(client, "desk").headers["location"] == "/access"


def test_a_care_coordinator_lands_on_their_worklist(client: TestClient, area: Sessions) -> None:
    users.add_user(area, "cc", "Care Co", "care_coordinator", ["NBH01"], PASSWORD, actor="t")

    assert sign_in(client, "cc").headers["location"] == "/care-coordination/worklist"


@pytest.mark.parametrize(
    ("role", "home"),
    [("link_worker", "/social-prescribing"), ("care_navigator", "/directory/navigation")],
)
def test_link_workers_and_care_navigators_land_on_their_own_work_and_home_leads_there(
    client: TestClient, area: Sessions, role: str, home: str
) -> None:
    users.add_user(area, "worker", "Wren Worker", role, ["NBH01"], PASSWORD, actor="t")

    assert sign_in(client, "worker").headers["location"] == home
    assert client.get(home).status_code == 200
    # "/" (the header's home link, an old bookmark) leads to the same page, not a refusal
    home_link = client.get("/", follow_redirects=False)
    assert (home_link.status_code, home_link.headers["location"]) == (303, home)


def test_sign_in_without_or_with_a_wrong_form_token_is_403_and_signs_no_one_in(
    client: TestClient, area: Sessions
) -> None:
    client.get("/sign-in")  # the cookie half of the pair is set
    form = {"username": "jsmith", "password": PASSWORD, "next": ""}

    missing = client.post("/sign-in", data=form, follow_redirects=False)
    wrong = client.post("/sign-in", data={**form, "signin_token": "forged"}, follow_redirects=False)
    client.cookies.clear()
    no_cookie = client.post(
        "/sign-in", data={**form, "signin_token": "forged"}, follow_redirects=False
    )

    assert [r.status_code for r in (missing, wrong, no_cookie)] == [403, 403, 403]
    assert "has expired" in wrong.text
    assert count(area, WebSession) == 0
    assert actions(area) == []


# --- sign out ----------------------------------------------------------------------------------


def test_signing_out_revokes_the_session(client: TestClient, area: Sessions) -> None:
    sign_in(client)
    token = client.cookies["joinedup_session"]
    page = client.get("/account/password")

    response = client.post(
        "/sign-out", data={"csrf_token": csrf_token(page)}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?signed_out=1"
    assert "You have signed out" in client.get("/sign-in?signed_out=1").text
    client.cookies.set("joinedup_session", token)  # a copy of the old cookie is worthless
    assert not signed_in(client)
    assert actions(area) == [("session.sign_in", "jsmith"), ("session.sign_out", "jsmith")]


def test_sign_out_without_the_session_token_is_403_and_changes_nothing(
    client: TestClient, area: Sessions
) -> None:
    sign_in(client)

    missing = client.post("/sign-out", follow_redirects=False)
    wrong = client.post("/sign-out", data={"csrf_token": "forged"}, follow_redirects=False)

    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert signed_in(client)
    assert actions(area) == [("session.sign_in", "jsmith")]


# --- change password ---------------------------------------------------------------------------


def test_changing_password_ends_the_other_sessions(app: FastAPI, area: Sessions) -> None:
    with TestClient(app) as here, TestClient(app) as elsewhere:
        sign_in(here)
        sign_in(elsewhere)
        page = here.get("/account/password")

        response = here.post(
            "/account/password",
            data={
                "csrf_token": csrf_token(page),
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
        )

        assert response.status_code == 200
        assert "Your password has been changed" in response.text
        assert signed_in(here)
        assert not signed_in(elsewhere)
        assert GENERIC in sign_in(elsewhere).text
        assert sign_in(elsewhere, password=NEW_PASSWORD).status_code == 303


def test_password_change_errors_are_shown_on_the_form(client: TestClient) -> None:
    sign_in(client)
    token = csrf_token(client.get("/account/password"))
    form = {"csrf_token": token, "current_password": "Wrong one 123", "new_password": NEW_PASSWORD}

    mismatch = client.post("/account/password", data={**form, "confirm_password": "other"})
    wrong = client.post("/account/password", data={**form, "confirm_password": NEW_PASSWORD})
    weak = client.post(
        "/account/password",
        data={
            **form,
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )

    assert mismatch.status_code == wrong.status_code == weak.status_code == 400
    assert "do not match" in mismatch.text
    assert "Your current password is not right" in wrong.text
    assert "at least 12 characters" in weak.text
    assert "There is a problem" in weak.text


def test_password_change_without_the_csrf_token_is_403_and_changes_nothing(
    client: TestClient, area: Sessions
) -> None:
    sign_in(client)
    with area() as session:
        before = session.scalars(select(User.password_hash)).one()

    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 403
    with area() as session:
        assert session.scalars(select(User.password_hash)).one() == before


def test_signed_out_the_header_offers_sign_in(client: TestClient) -> None:
    page = client.get("/sign-in")

    assert 'href="/sign-in">Sign in</a>' in page.text
    assert "Sign out" not in page.text


# --- sessions --------------------------------------------------------------------------------


def test_sessions_time_out_when_idle_and_at_the_latest_after_twelve_hours(area: Sessions) -> None:
    user = users.get_user(area, "jsmith")
    token, _ = start_session(area, user, T0)

    assert principal_for_token(area, token, T0 + IDLE_TIMEOUT - dt.timedelta(seconds=1))
    assert principal_for_token(area, token, T0 + 2 * IDLE_TIMEOUT) is None  # idle too long

    active, _ = start_session(area, user, T0)
    moment = T0
    while moment + dt.timedelta(minutes=20) < T0 + ABSOLUTE_TIMEOUT:
        moment += dt.timedelta(minutes=20)
        assert principal_for_token(area, active, moment) is not None  # busy: never idle
    assert principal_for_token(area, active, T0 + ABSOLUTE_TIMEOUT) is None


def test_last_seen_is_written_at_most_once_a_minute(area: Sessions) -> None:
    user = users.get_user(area, "jsmith")
    token, web_session = start_session(area, user, T0)

    def last_seen() -> dt.datetime:
        with area() as session:
            found = session.get(WebSession, web_session.id)
            assert found is not None
            return found.last_seen_at

    principal_for_token(area, token, T0 + dt.timedelta(seconds=59))
    assert last_seen() == T0
    principal_for_token(area, token, T0 + dt.timedelta(seconds=61))
    assert last_seen() == T0 + dt.timedelta(seconds=61)


def test_the_principal_carries_the_role_organisations_and_csrf_token(area: Sessions) -> None:
    user = users.get_user(area, "jsmith")
    token, web_session = start_session(area, user, T0)

    principal = principal_for_token(area, token, T0)

    assert principal is not None
    assert (principal.username, principal.role, principal.organisations) == (
        "jsmith",
        "gp",
        ("NBH01",),
    )
    assert principal.csrf_token == web_session.csrf_token != ""
    assert principal_for_token(area, token + "x", T0) is None
    assert principal_for_token(area, "", T0) is None
    assert end_session(area, web_session.id, T0)
    assert not end_session(area, web_session.id, T0)  # already ended: nothing more to audit
    assert principal_for_token(area, token, T0) is None


def test_a_page_asks_for_a_message_only_when_the_session_held_one(
    area: Sessions, app: FastAPI
) -> None:
    """Issue 14: the session row read to sign a request in says whether a one-shot message
    waits, so the many pages without one do not read the row again; one that waits is shown
    once."""
    user = users.get_user(area, "jsmith")
    token, web_session = start_session(area, user, T0)
    app.state.care_sessions = area
    request = Request({"type": "http", "app": app, "headers": []})
    engine = area.kw["bind"]
    statements: list[str] = []
    count = lambda *args: statements.append(args[2])  # noqa: E731
    quiet = principal_for_token(area, token, T0)
    assert quiet is not None and not quiet.flash_waiting
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert flash.take(request, quiet) == {"notice": "", "error": ""}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []

    set_flash(area, web_session.id, "notice", "Saved.")
    waiting = principal_for_token(area, token, T0)
    assert waiting is not None and waiting.flash_waiting
    assert flash.take(request, waiting) == {"notice": "Saved.", "error": ""}
    assert flash.take(request, waiting) == {"notice": "", "error": ""}  # shown once


def _signed_out_page(client: TestClient) -> httpx.Response:
    """Open a page after the clock moved: the redirect to sign in, then the sign-in page."""
    bounced = client.get("/account/password", follow_redirects=False)
    assert bounced.status_code == 303
    assert bounced.headers["location"].startswith("/sign-in?")
    return client.get(bounced.headers["location"])


def test_an_idle_session_ends_and_the_sign_in_page_says_why(
    client: TestClient, clock: Clock
) -> None:
    assert sign_in(client).status_code == 303
    clock.advance(minutes=29)
    assert signed_in(client)
    clock.advance(minutes=29)  # busy within 30 minutes: still signed in
    assert signed_in(client)
    clock.advance(minutes=30)

    page = _signed_out_page(client)

    assert "You were signed out after 30 minutes without activity." in page.text
    assert not signed_in(client)


def test_a_busy_session_ends_after_its_lifetime_and_the_sign_in_page_says_why(
    client: TestClient, clock: Clock
) -> None:
    assert sign_in(client).status_code == 303
    for _ in range(12 * 3 - 1):  # a request every 20 minutes: never idle
        clock.advance(minutes=20)
        assert signed_in(client)
    clock.advance(minutes=20)

    page = _signed_out_page(client)

    assert "You were signed out 12 hours after signing in" in page.text


def test_the_timeouts_come_from_the_settings(
    area: Sessions, care_store: str, tmp_path: Path, clock: Clock
) -> None:
    settings = Settings(
        home=tmp_path,
        database_url=care_store,
        session_idle_minutes="5",
        session_lifetime_hours="1",
    )
    app = create_app(settings)
    auth.install(app, clock=clock)
    with TestClient(app) as client:
        signed = sign_in(client)
        assert f"Max-Age={60 * 60}" in signed.headers["set-cookie"]
        clock.advance(minutes=6)
        assert "signed out after 5 minutes without" in _signed_out_page(client).text
        sign_in(client)
        for _ in range(14):
            clock.advance(minutes=4)
            assert signed_in(client)
        clock.advance(minutes=4)
        assert "You were signed out 1 hour after signing in" in _signed_out_page(client).text


@pytest.mark.parametrize(
    ("idle", "lifetime", "problem"),
    [
        ("0", None, "JOINEDUP_SESSION_IDLE_MINUTES must be a positive number"),
        ("half an hour", None, "JOINEDUP_SESSION_IDLE_MINUTES must be a positive number"),
        (None, "-1", "JOINEDUP_SESSION_LIFETIME_HOURS must be a positive number"),
        ("120", "1", "the idle timeout cannot be longer than the session lifetime"),
    ],
)
def test_bad_timeouts_are_a_clear_error(
    tmp_path: Path, idle: str | None, lifetime: str | None, problem: str
) -> None:
    settings = Settings(
        home=tmp_path,
        database_url="sqlite://",
        session_idle_minutes=idle,
        session_lifetime_hours=lifetime,
    )
    with pytest.raises(UserError, match=problem):
        SessionLimits.from_settings(settings)


def test_the_sign_in_page_shows_only_its_own_words_for_an_ended_code(client: TestClient) -> None:
    page = client.get("/sign-in", params={"ended": "Phone 0800 123 4567"})
    assert "0800" not in page.text and "data-notice" not in page.text
