"""Reading sessions (`carestore.db.reading`): on PostgreSQL each read is a statement on its own,
with no BEGIN and ROLLBACK round trips around it (issue 14); a write through one is refused and
leaves nothing behind; the ordinary sessions on the same pool stay transactional."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import ReadOnlySession, reading
from joinedup.carestore.models import Organisation

# Inside a transaction every statement's now() is the transaction's start; a statement on its
# own starts its own, so now() is that statement's start.
IN_OWN_TRANSACTION = "SELECT now() = statement_timestamp()"


def _second_statement_on_its_own(session: Session) -> bool:
    session.execute(text("SELECT pg_sleep(0.01)"))
    return bool(session.execute(text(IN_OWN_TRANSACTION)).scalar_one())


def test_reads_on_postgresql_are_statements_on_their_own(
    care_backend: str, sessions: sessionmaker[Session]
) -> None:
    if care_backend == "sqlite":  # a file in the process: no round trips to save
        assert reading(sessions) is sessions
        return
    assert reading(sessions) is reading(sessions)  # made once
    with reading(sessions)() as session:
        assert _second_statement_on_its_own(session)
    # The pool's connections go back to transactions for everyone else.
    with sessions() as session:
        assert not _second_statement_on_its_own(session)
    with reading(sessions)() as session:  # and out again
        assert _second_statement_on_its_own(session)


def test_a_write_through_a_reading_session_is_refused_and_leaves_nothing(
    care_backend: str, sessions: sessionmaker[Session]
) -> None:
    if care_backend == "sqlite":
        pytest.skip("on SQLite the reading sessions are the sessions themselves")
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Organisation))
    with reading(sessions)() as session, pytest.raises(ReadOnlySession):
        session.add(
            Organisation(
                org_code="Z99999",
                name="Nowhere",
                org_type="practice",
                synced_at=dt.datetime.now(dt.UTC),
            )
        )
        session.commit()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == before
