"""When the care store cannot be reached (PostgreSQL restarting, a dropped connection) every
kind of request gets a clear retry answer — a 503 page saying to try again, with Retry-After
and no-store — never a traceback or a bare 500; the same from inside a route and from the
session middleware (a signed-in user's cookie is looked up before any route runs)."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from joinedup.settings import Settings
from joinedup.web.auth import SESSION_COOKIE
from tests.auth_support import signed_in_app
from tests.html_support import page_text


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def client(small_area: Settings) -> TestClient:
    """The shared small area's pages, with the care store on a server that is not there."""
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/joinedup"
    settings = dataclasses.replace(small_area, database_url=url)
    app = signed_in_app(settings, "gp", organisations=("P81001",))
    return TestClient(app, raise_server_exceptions=False)


def test_a_page_answers_a_retry_page(client: TestClient) -> None:
    response = client.get("/care-coordination/caseloads")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    text = page_text(response.text)
    assert "Sorry, the service is busy or restarting" in text
    assert "Try again in a few seconds." in text
    assert "check whether it was saved" in text
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_a_save_answers_the_retry_page_without_a_try_again_link(client: TestClient) -> None:
    response = client.post(
        "/care-coordination/register",
        data={"csrf_token": "test-csrf-token", "person_id": "1", "source": "person_page"},
        headers={"X-CSRF-Token": "test-csrf-token"},
    )

    assert response.status_code == 503
    assert "check whether it was saved" in page_text(response.text)
    assert 'href="/care-coordination/register"' not in response.text


def test_a_session_cookie_looked_up_before_the_route_answers_the_retry_page(
    client: TestClient,
) -> None:
    client.cookies.set(SESSION_COOKIE, "a-session-token")
    try:
        response = client.get("/care-coordination/caseloads")
    finally:
        client.cookies.clear()

    assert response.status_code == 503
    assert "Sorry, the service is busy or restarting" in page_text(response.text)


def test_the_api_answers_503_in_json(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "a-session-token")
    try:
        response = client.get("/api/contracts")
    finally:
        client.cookies.clear()

    assert response.status_code == 503
    assert response.json() == {"detail": "Try again in a few seconds."}
    assert response.headers["Retry-After"] == "5"


def test_a_person_page_that_loses_the_store_answers_without_its_banner(
    small_area: Settings,
) -> None:
    """The gate opened a person, then the store went away: the retry page must not read the
    store again for the patient banner (a restart mid-request once gave a 500 here)."""
    app = signed_in_app(small_area, "gp")

    def opened_then_lost(request: Request) -> None:
        request.state.opened_person = object()  # the banner would read the store for it
        raise OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))

    app.add_api_route("/test-opened-then-lost", opened_then_lost)
    response = TestClient(app, raise_server_exceptions=False).get("/test-opened-then-lost")

    assert response.status_code == 503
    assert "Sorry, the service is busy or restarting" in page_text(response.text)
