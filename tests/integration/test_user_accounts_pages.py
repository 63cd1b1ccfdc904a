"""An administrator manages user accounts in the browser, on both care-store backends: adds one
(the generated password shown once, and it signs in), changes its role and organisations, gives
a locked-out user who forgot their password a new one, disables and enables it; every change is
audited with the administrator as actor and no password in it; an administrator cannot disable
their own account or change their own role; a mistake is said in words with what was typed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.governance import users
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import auth
from joinedup.web.app import create_app
from tests.html_support import page_text
from tests.integration.test_sign_in import csrf_token, sign_in

Sessions = sessionmaker[Session]
ADMIN_PASSWORD = "Blue kettle 42 sings"


@pytest.fixture
def admin(
    sessions: Sessions, area_store: PopulationStore, care_store: str, tmp_path: Path
) -> Iterator[TestClient]:
    sync_organisations(area_store, sessions)
    users.add_user(sessions, "admin", "Ada Admin", "administrator", [], ADMIN_PASSWORD, actor="t")
    app = create_app(Settings(home=tmp_path, database_url=care_store))
    auth.install(app)
    with TestClient(app, follow_redirects=False) as client:
        assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
        yield client


def _generated(page: httpx.Response) -> str:
    found = re.search(r'<code id="generated-password">([^<]+)</code>', page.text)
    assert found, page_text(page.text)
    return found.group(1)


def _audit(sessions: Sessions, action: str) -> list[AuditEvent]:
    with sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.scalars(query))


def test_an_administrator_adds_changes_resets_and_disables_an_account(
    admin: TestClient, sessions: Sessions
) -> None:
    index = admin.get("/governance")
    assert 'id="add-user-link"' in index.text and 'href="/governance/users/admin"' in index.text
    form = admin.get("/governance/users/new")
    csrf = csrf_token(form)
    assert "NBH01" in form.text  # the area's organisations, to choose codes from
    assert '<option value="nurse"' in form.text and 'value="nhs111"' not in form.text  # people

    # A code that is not the area's: said in words, everything typed kept.
    typed = {"username": "jsmith", "display_name": "Jo Smith", "role": "nurse"}
    wrong = admin.post(
        "/governance/users", data={**typed, "organisations": "NBH01 XYZ99", "csrf_token": csrf}
    )
    assert wrong.status_code == 400
    assert "No organisation XYZ99 in the care store" in page_text(wrong.text)
    assert 'value="Jo Smith"' in wrong.text and 'value="NBH01 XYZ99"' in wrong.text
    assert '<option value="nurse" selected>' in wrong.text

    added = admin.post(
        "/governance/users", data={**typed, "organisations": "nbh01, NBH02", "csrf_token": csrf}
    )
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    first = _generated(added)
    # The form sent again (a second click, or Back and resend): no second account, and the way
    # to a password now that the first answer is gone.
    again = admin.post(
        "/governance/users", data={**typed, "organisations": "NBH01", "csrf_token": csrf}
    )
    assert again.status_code == 400
    assert "give them a new password from their account" in page_text(again.text)
    assert 'href="/governance/users/jsmith"' in again.text
    now = dt.datetime.now(dt.UTC)
    assert users.authenticate(sessions, "jsmith", first, now).display_name == "Jo Smith"
    account = admin.get("/governance/users/jsmith")
    shown = page_text(account.text)
    assert "Nurse" in shown and "North Riverside Neighbourhood (NBH01)" in shown
    assert "South Riverside Neighbourhood (NBH02)" in shown

    # Role and organisations change; the page says so.
    assert (
        admin.post(
            "/governance/users/jsmith/role", data={"role": "gp", "csrf_token": csrf}
        ).headers["location"]
        == "/governance/users/jsmith"
    )
    admin.post(
        "/governance/users/jsmith/organisations",
        data={"organisations": "NBH02", "csrf_token": csrf},
    )
    account = page_text(admin.get("/governance/users/jsmith").text)
    assert "Organisations changed." in account and "GP" in account and "NBH01" not in account

    # Forgot the password, tried until locked out: a new one, shown once, that signs in.
    for _ in range(users.MAX_FAILED_ATTEMPTS):
        with pytest.raises(users.SignInFailed):
            users.authenticate(sessions, "jsmith", "Wrong password 1", now)
    assert "Locked out" in page_text(admin.get("/governance/users/jsmith").text)
    reset = admin.post("/governance/users/jsmith/reset-password", data={"csrf_token": csrf})
    second = _generated(reset)
    assert second != first
    assert users.authenticate(sessions, "jsmith", second, now).username == "jsmith"
    with pytest.raises(users.SignInFailed):
        users.authenticate(sessions, "jsmith", first, now)

    admin.post("/governance/users/jsmith/disable", data={"csrf_token": csrf})
    with pytest.raises(users.SignInFailed):
        users.authenticate(sessions, "jsmith", second, now)
    admin.post("/governance/users/jsmith/enable", data={"csrf_token": csrf})
    assert users.authenticate(sessions, "jsmith", second, now).username == "jsmith"

    # Each change audited with the administrator as its actor, no password in any of them.
    actions = ["user.add", "user.set_role", "user.set_organisations", "user.reset_password",
               "user.disable", "user.enable"]  # fmt: skip
    for action in actions:
        (event,) = _audit(sessions, action)[-1:]
        assert (event.actor, event.actor_role) == ("admin", "administrator"), action
        assert first not in str(event.detail) and second not in str(event.detail)


def test_a_generated_password_must_be_changed_before_anything_else(
    admin: TestClient, sessions: Sessions
) -> None:
    """The password an administrator was shown is known to two people: its user changes it at
    the first sign-in, before any page opens (ADR 0043); again after a reset."""
    csrf = csrf_token(admin.get("/governance/users/new"))
    added = admin.post(
        "/governance/users",
        data={"username": "kpatel", "display_name": "Kiran Patel", "role": "nurse",
              "organisations": "NBH01", "csrf_token": csrf},
    )  # fmt: skip
    given = _generated(added)
    app = admin.app
    with TestClient(app, follow_redirects=False) as kiran:  # type: ignore[arg-type]
        assert sign_in(kiran, "kpatel", given).headers["location"] == "/account/password"
        for page in ("/care-coordination/worklist", "/people/search", "/"):
            assert kiran.get(page).headers["location"] == "/account/password", page
        api = kiran.get("/api/contracts")  # the JSON API says so rather than redirecting
        assert api.status_code == 403 and "Change the password" in api.json()["detail"]
        form = kiran.get("/account/password")
        assert 'id="must-change-password"' in form.text
        changed = kiran.post(
            "/account/password",
            data={"current_password": given, "new_password": "Green teapot 17 hums",
                  "confirm_password": "Green teapot 17 hums", "csrf_token": csrf_token(form)},
        )  # fmt: skip
        assert changed.status_code == 200 and 'data-notice="password-changed"' in changed.text
        assert kiran.get("/care-coordination/worklist").status_code == 200

    # Forgot it again: the administrator's new one must be changed too.
    with TestClient(app, follow_redirects=False) as again:  # type: ignore[arg-type]
        reset = admin.post("/governance/users/kpatel/reset-password", data={"csrf_token": csrf})
        assert (
            sign_in(again, "kpatel", _generated(reset)).headers["location"] == "/account/password"
        )
        assert again.get("/care-coordination/worklist").headers["location"] == "/account/password"
    # A password chosen for a script or the demo (given, not generated) is not flagged.
    users.add_user(sessions, "script", "Script", "nurse", [], ADMIN_PASSWORD, actor="t")
    with TestClient(app, follow_redirects=False) as script:  # type: ignore[arg-type]
        assert sign_in(script, "script", ADMIN_PASSWORD).headers["location"] != "/account/password"


def test_an_administrator_cannot_lock_themself_out_and_unknown_accounts_are_404(
    admin: TestClient, sessions: Sessions
) -> None:
    csrf = csrf_token(admin.get("/governance/users/admin"))
    for path, data in (("disable", {}), ("role", {"role": "gp"})):
        answer = admin.post(f"/governance/users/admin/{path}", data={**data, "csrf_token": csrf})
        assert answer.status_code == 303
        page = page_text(admin.get("/governance/users/admin").text)
        assert "ask another administrator" in page
    (me,) = [u for u in users.list_users(sessions) if u.username == "admin"]
    assert me.active and me.role == "administrator"
    # A system client's account (NHS 111) keeps its role shown, though new accounts of people
    # are not offered it.
    users.add_user(sessions, "desk111", "NHS 111", "nhs111", [], ADMIN_PASSWORD, actor="t")
    assert '<option value="nhs111" selected>' in admin.get("/governance/users/desk111").text
    assert admin.get("/governance/users/nobody").status_code == 404
    gone = admin.post("/governance/users/nobody/disable", data={"csrf_token": csrf})
    assert gone.status_code == 404
