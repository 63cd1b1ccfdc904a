"""A serving process reads what the busiest pages read first (`joinedup.web.warm`): before it
takes connections when one of several workers, in the background when it serves alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from joinedup.care import person_record
from joinedup.settings import Settings
from joinedup.web import warm
from joinedup.web.app import create_app
from tests.carestore_support import migrated


@pytest.fixture
def settings(scored_area: Settings, tmp_path) -> Settings:
    return Settings(home=scored_area.home, database_url=migrated(f"sqlite:///{tmp_path}/c.db"))


@pytest.fixture(autouse=True)
def cold_record_rows():
    """Each test starts with no record rows held (another test may have held them)."""
    person_record._HELD.key, person_record._HELD.tables = None, {}


def _warm_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "joinedup-warm"]


def test_a_worker_is_warm_before_it_answers(settings: Settings) -> None:
    with TestClient(create_app(settings, warm="before")):
        # The lifespan has run: the record rows are held before the first request.
        assert person_record._HELD.key is not None
        assert person_record._HELD.tables["clinical_events"].table.num_rows > 0


def test_a_lone_process_answers_at_once_and_warms_in_the_background(settings: Settings) -> None:
    with TestClient(create_app(settings, warm="background")) as client:
        assert client.get("/health").status_code == 200
        for thread in _warm_threads():
            thread.join(timeout=120)
        assert not _warm_threads()
        assert person_record._HELD.key is not None


def test_tests_and_embedded_apps_are_not_warmed(settings: Settings) -> None:
    with TestClient(create_app(settings)):
        assert person_record._HELD.key is None and not _warm_threads()


def test_a_background_warm_stops_with_the_server(settings: Settings, monkeypatch) -> None:
    """Stopping the server (Ctrl+C on the demo) lets the step under way finish, starts no other
    and leaves no warming thread behind to be cut off inside DuckDB as Python exits."""
    ran: list[str] = []

    def steps(settings: Settings, store: object) -> list[tuple[str, Callable[[], object]]]:
        return [
            ("slow", lambda: (ran.append("slow"), time.sleep(1.0))),
            ("next", lambda: ran.append("next")),
        ]

    monkeypatch.setattr(warm, "_steps", steps)
    with TestClient(create_app(settings, warm="background")) as client:
        assert client.get("/health").status_code == 200
        deadline = time.monotonic() + 10
        while not ran and time.monotonic() < deadline:  # the slow step under way
            time.sleep(0.01)
    # The lifespan has ended: the slow step finished, the next never started.
    assert ran == ["slow"]
    assert not _warm_threads()
