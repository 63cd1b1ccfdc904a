"""``joinedup token …`` and ``joinedup access load-rota`` through the real CLI entry point, on a
migrated temporary SQLite care store: tokens printed once and stored as hashes, listed and
revoked; a rota loaded, and a bad one refused in one line with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from joinedup.access.models import Slot
from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.models import SystemToken
from joinedup.governance.system_tokens import token_hash
from joinedup.governance.users import add_user
from tests.access_support import definition
from tests.carestore_support import migrated
from tests.unit.test_cli import assert_one_line_error, joinedup


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("JOINEDUP_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOINEDUP_HOME", raising=False)
    url = f"sqlite:///{tmp_path / 'care.db'}"
    migrated(url)
    engine = make_engine(url)
    add_user(session_factory(engine), "nhs111", "NHS 111", "nhs111")
    engine.dispose()
    return tmp_path


def _count(home: Path, model: type) -> int:
    engine = make_engine(f"sqlite:///{home / 'care.db'}")
    try:
        with session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_issue_list_and_revoke_a_token(home: Path) -> None:
    issued = joinedup("token", "issue", "nhs111", "--days", "7", home=home)
    assert issued.returncode == 0, issued.stderr
    token = re.search(r"jdu_[A-Za-z0-9_-]{43}", issued.stdout)
    assert token is not None
    engine = make_engine(f"sqlite:///{home / 'care.db'}")
    with session_factory(engine)() as session:
        stored = session.scalars(select(SystemToken.token_hash)).all()
    engine.dispose()
    assert stored == [token_hash(token.group())]  # the hash only, never the token
    listed = joinedup("token", "list", home=home)
    assert "nhs111" in listed.stdout and "active" in listed.stdout
    assert token.group() not in listed.stdout
    revoked = joinedup("token", "revoke", "1", home=home)
    assert revoked.returncode == 0 and "Revoked token 1" in revoked.stdout
    assert "revoked" in joinedup("token", "list", home=home).stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["token", "issue", "nobody"], "there is no user 'nobody'"),
        (["token", "issue", "nhs111", "--days", "400"], "--days must be between 1 and 365"),
        (["token", "revoke", "9"], "there is no token 9"),
    ],
)
def test_token_mistakes_are_one_line(home: Path, arguments: list[str], message: str) -> None:
    assert_one_line_error(joinedup(*arguments, home=home), 1, message)


def test_load_a_rota_then_refuse_a_bad_one(home: Path) -> None:
    good = home / "rota.yaml"
    good.write_text(yaml.safe_dump(definition()))
    loaded = joinedup("access", "load-rota", str(good), home=home)
    assert loaded.returncode == 0, loaded.stderr
    assert "1 hubs, 2 sessions, 10 slots" in loaded.stdout
    bad = definition()
    bad["sessions"][0]["date"] = "2026-13-01"
    bad_file = home / "rota.json"
    bad_file.write_text(json.dumps(bad))
    refused = joinedup("access", "load-rota", str(bad_file), home=home)
    assert_one_line_error(refused, 1, "the rota was not loaded", "sessions.0.date")
    assert _count(home, Slot) == 10
