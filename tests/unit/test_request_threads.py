"""A serving process works on JOINEDUP_REQUEST_THREADS requests at once (default 1, ADR 0041);
a bad value stops `joinedup serve` with a sentence before it starts."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from anyio.to_thread import current_default_thread_limiter
from fastapi.testclient import TestClient

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance import passwords
from joinedup.governance.users import add_user
from joinedup.settings import Settings
from joinedup.web.app import RequestThreadsSettingError, create_app, request_threads
from tests.carestore_support import migrated

PASSWORD = "Blue kettle 42 sings"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, database_url=migrated(f"sqlite:///{tmp_path}/c.db"))


def _with(settings: Settings, threads: str | None) -> Settings:
    return dataclasses.replace(settings, request_threads=threads)


def test_one_request_at_a_time_unless_the_setting_says_otherwise(settings: Settings) -> None:
    assert request_threads(settings) == 1
    assert request_threads(_with(settings, "3")) == 3


@pytest.mark.parametrize("written", ["0", "-2", "lots", "2.5", "65"])
def test_a_setting_out_of_range_is_refused_in_words(settings: Settings, written: str) -> None:
    with pytest.raises(RequestThreadsSettingError, match=f"from 1 to 64, not '{written}'"):
        request_threads(_with(settings, written))


def _limit_while_serving(settings: Settings, warm: str) -> float:
    with TestClient(create_app(settings, warm=warm)) as client:  # type: ignore[arg-type]
        assert client.portal is not None
        return float(client.portal.call(lambda: current_default_thread_limiter().total_tokens))


def test_a_serving_process_takes_the_setting(settings: Settings) -> None:
    assert _limit_while_serving(_with(settings, "3"), "before") == 3
    assert _limit_while_serving(settings, "background") == 1


def test_tests_and_embedded_apps_keep_anyios_default(settings: Settings) -> None:
    assert _limit_while_serving(_with(settings, "3"), "no") == 40


def test_serve_stops_before_serving_on_a_bad_setting(tmp_path: Path) -> None:
    environment = {**os.environ, "JOINEDUP_REQUEST_THREADS": "many"}
    done = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", "serve", "--home", str(tmp_path), "--port", "1"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 1
    assert "JOINEDUP_REQUEST_THREADS is a whole number from 1 to 64, not 'many'" in done.stderr
    assert "Traceback" not in done.stderr
    assert "is serving" not in done.stdout


def test_a_sign_in_password_check_does_not_hold_the_request_thread(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes ~0.1–0.2 s: on the one request thread every page queued behind a sign-in
    would wait for it. A page asked for while a sign-in's password is being checked answers."""
    sessions = session_factory(make_engine(settings.database_url))
    add_user(sessions, "jsmith", "Jo Smith", "gp", [], PASSWORD, actor="test")
    checking, go_on = threading.Event(), threading.Event()
    real_check = passwords.verify_password

    def held_check(password_hash: str | None, password: str) -> bool:
        checking.set()
        go_on.wait(30)
        return real_check(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", held_check)
    with TestClient(create_app(settings, warm="before")) as client:  # type: ignore[arg-type]
        token = re.search(r'name="signin_token" value="([^"]+)"', client.get("/sign-in").text)
        assert token is not None
        form = {"username": "jsmith", "password": PASSWORD, "signin_token": token.group(1)}
        signed: list[int] = []
        sign_in = threading.Thread(
            target=lambda: signed.append(
                client.post("/sign-in", data=form, follow_redirects=False).status_code
            )
        )
        sign_in.start()
        try:
            assert checking.wait(30), "the sign-in never reached its password check"
            answered: list[int] = []
            page = threading.Thread(target=lambda: answered.append(client.get("/").status_code))
            page.start()
            page.join(10)
            assert answered, "a page waited for another user's password check"
        finally:
            go_on.set()
            sign_in.join(30)
    assert signed == [303]
