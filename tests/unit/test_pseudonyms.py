"""Pseudonyms: HMAC-SHA256 shown as PX- and 12 base32 characters; re-identification.

The expected pseudonyms are computed independently with the standard library's `hmac` and
`base64` (not with the module's own vectorised code).
"""

from __future__ import annotations

import base64
import hmac
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.errors import UserError
from joinedup.governance import pseudonyms as ps
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal
from tests.carestore_support import migrated

KEY = bytes(range(32))
REASON = "Home visit for a frailty review this week"
HOSTILE = ("<script>alert(1)</script>", "'; DROP TABLE users; --")


def expected(key: bytes, person_id: int) -> str:
    digest = hmac.new(key, str(person_id).encode(), "sha256").digest()
    return "PX-" + base64.b32encode(digest).decode()[:12]


def test_a_pseudonym_is_the_keyed_hash_in_base32() -> None:
    ids = [1, 2, 7, 99, 6_000, 123_456, 2**40]
    assert ps.pseudonyms(KEY, ids) == [expected(KEY, i) for i in ids]
    assert all(re.fullmatch(r"PX-[A-Z2-7]{12}", p) for p in ps.pseudonyms(KEY, ids))
    assert ps.pseudonym(KEY, 42) == expected(KEY, 42) == ps.pseudonym(KEY, 42)
    assert ps.pseudonyms(KEY, []) == []


def test_another_key_gives_other_pseudonyms() -> None:
    other = bytes(reversed(range(32)))
    ids = range(1, 1_001)
    mine, theirs = ps.pseudonyms(KEY, ids), ps.pseudonyms(other, ids)
    assert not set(mine) & set(theirs)
    assert ps.pseudonyms(b"a much longer key " * 8, [5]) == [expected(b"a much longer key " * 8, 5)]


@pytest.mark.slow
def test_a_million_people_have_a_million_pseudonyms() -> None:
    # 60 bits: the birthday bound puts the chance of any collision near 4e-7.
    names = ps.pseudonyms(KEY, range(1, 1_000_001))
    assert len(set(names)) == 1_000_000


def test_pseudonyms_are_read_however_they_are_typed() -> None:
    name = ps.pseudonym(KEY, 3)
    body = name.removeprefix("PX-")
    for typed in (name, name.lower(), f"  {name} ", body, body.lower(), f"PX{body}"):
        assert ps.normalise(typed) == name, typed


# --- re-identification ---------------------------------------------------------------------


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'care.db'}"
    migrated(url)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(small_area: Settings, tmp_path: Path) -> Settings:
    """A home of its own (its own pseudonym key and index) beside the small area's store."""
    return Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'care.db'}")


def _registered(store: PopulationStore) -> list[int]:
    return [int(i) for i in ps.registered_people(store)]


def _events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_registered_people_are_those_registered_and_alive_at_the_extract_date(
    small_store: PopulationStore,
) -> None:
    day = pd.Timestamp(str(small_store.metadata()["extract_date"])[:10])
    regs = pd.read_parquet(small_store.path("registrations"))
    patients = pd.read_parquet(small_store.path("patients"))
    open_ = regs[
        (pd.to_datetime(regs.start_date) <= day)
        & (regs.end_date.isna() | (pd.to_datetime(regs.end_date) > day))
    ]
    alive = patients[
        (pd.to_datetime(patients.date_of_birth) <= day)
        & (patients.date_of_death.isna() | (pd.to_datetime(patients.date_of_death) > day))
    ]
    assert _registered(small_store) == sorted(set(open_.person_id) & set(alive.person_id))


def test_reidentify_finds_the_person_and_audits_it(
    sessions: sessionmaker[Session], settings: Settings, small_store: PopulationStore
) -> None:
    person_id = _registered(small_store)[123]
    name = ps.pseudonym(ps.area_key(settings), person_id)
    gp = principal("gp", username="dr-who")

    found = ps.reidentify(sessions, small_store, settings, gp, name.lower(), f"  {REASON}  ")

    assert found == person_id
    (event,) = _events(sessions)
    assert (event.action, event.actor, event.person_id) == ("pseudonym.reidentify", "dr-who", found)
    assert event.entity_id == str(found)
    assert event.detail == {"pseudonym": name, "reason": REASON}


def test_the_index_is_kept_beside_the_key_and_follows_the_key(
    sessions: sessionmaker[Session], settings: Settings, small_store: PopulationStore
) -> None:
    people = _registered(small_store)
    gp = principal("gp")
    ps.reidentify(
        sessions, small_store, settings, gp, ps.pseudonym(ps.area_key(settings), people[0]), REASON
    )
    saved = settings.home / "secrets" / ps.INDEX_FILE
    assert saved.is_file() and stat.S_IMODE(saved.stat().st_mode) == 0o600
    # Another key (another area) finds its own people from the same store, not this index's.
    other = b"another area's key, 32 bytes!!!!"
    assert ps.lookup(small_store, other, ps.pseudonym(other, people[5])) == people[5]
    assert ps.lookup(small_store, other, ps.pseudonym(KEY, people[5])) is None


def test_reidentify_needs_the_permission(
    sessions: sessionmaker[Session], settings: Settings, small_store: PopulationStore
) -> None:
    name = ps.pseudonym(ps.area_key(settings), _registered(small_store)[0])
    for role in ("commissioner", "analyst", "nurse"):
        with pytest.raises(ps.ReidentifyNotAllowed):
            ps.reidentify(sessions, small_store, settings, principal(role), name, REASON)
    assert _events(sessions) == []


def test_reidentify_needs_a_reason(
    sessions: sessionmaker[Session], settings: Settings, small_store: PopulationStore
) -> None:
    name = ps.pseudonym(ps.area_key(settings), _registered(small_store)[0])
    for reason in ("", "   ", "x" * 14, "  too short     "):
        with pytest.raises(ps.ReasonTooShortError, match="at least 15 characters"):
            ps.reidentify(sessions, small_store, settings, principal("gp"), name, reason)
    assert _events(sessions) == []


def test_an_unknown_or_malformed_pseudonym_is_a_clear_user_error(
    sessions: sessionmaker[Session], settings: Settings, small_store: PopulationStore
) -> None:
    registered = set(_registered(small_store))
    unknown = next(
        ps.pseudonym(ps.area_key(settings), i) for i in range(10**6, 10**7) if i not in registered
    )
    with pytest.raises(ps.UnknownPseudonymError, match="no one registered in this area") as caught:
        ps.reidentify(sessions, small_store, settings, principal("gp"), unknown, REASON)
    assert isinstance(caught.value, UserError) and unknown in str(caught.value)
    # A pseudonym made with another key is as unknown as a made-up one.
    foreign = ps.pseudonym(b"x" * 32, min(registered))
    with pytest.raises(ps.UnknownPseudonymError):
        ps.reidentify(sessions, small_store, settings, principal("gp"), foreign, REASON)
    for bad in ("", "PX-", "PX-ABC", "PX-ABCDEFGH2341", "123"):
        with pytest.raises(ps.PseudonymError, match="a pseudonym is PX-"):
            ps.reidentify(sessions, small_store, settings, principal("gp"), bad, REASON)
    assert _events(sessions) == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_reason_is_kept_verbatim(
    sessions: sessionmaker[Session],
    settings: Settings,
    small_store: PopulationStore,
    hostile: str,
) -> None:
    person_id = _registered(small_store)[9]
    name = ps.pseudonym(ps.area_key(settings), person_id)
    reason = f"{hostile} {hostile}"  # at least 15 characters

    assert ps.reidentify(sessions, small_store, settings, principal("gp"), name, reason) == (
        person_id
    )
    (event,) = _events(sessions)
    assert event.detail["reason"] == reason
