"""PostgreSQL connections are pinged before use only after being idle a while (issue 14: a ping
at every checkout was a round trip per session, 18 on a person page), and one broken while
idle is still replaced without the caller seeing it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text

from joinedup.carestore import db

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = db.make_engine(postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping the pool sends (the dialect's, as SQLAlchemy's own pre-ping would send)."""
    sent: list[int] = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: sent.append(1) or real(c))
    return sent


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_used_just_now_is_not_pinged(engine: Engine, pings: list[int]) -> None:
    first = backend_pid(engine)

    again = [backend_pid(engine) for _ in range(5)]

    assert again == [first] * 5  # the same pooled connection every time
    assert pings == []


def test_an_idle_connection_broken_meanwhile_is_replaced_unseen(
    postgres_url: str, engine: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend_pid(engine)
    plain = make_url(postgres_url).set(drivername="postgresql")
    plain = plain.render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as other:  # as if the server had restarted
        other.execute("SELECT pg_terminate_backend(%s)", (first,))
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", -1.0)  # idle long enough: no sleeping

    replaced = backend_pid(engine)

    assert replaced != first
    assert pings  # found by the ping, not by the caller's statement
