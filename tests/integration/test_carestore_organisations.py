"""Mirroring the population store's organisations: idempotent, audited, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent, Organisation
from joinedup.population.organisation_mirror import (
    OrganisationRecord,
    OrganisationSyncError,
    SyncSummary,
    list_organisations,
    sync_organisations,
)
from joinedup.population.store import PopulationStore, StoreError

OrgRow = tuple[str, str, str, str | None]
WriteOrganisations = Callable[[Sequence[OrgRow]], PopulationStore]


def everything(sessions: sessionmaker[Session]) -> list[OrganisationRecord]:
    return list_organisations(sessions, include_inactive=True)


def audit_events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_sync_mirrors_every_organisation(
    sessions: sessionmaker[Session], area_store: PopulationStore, area_organisations: list[OrgRow]
) -> None:
    summary = sync_organisations(area_store, sessions)

    assert summary == SyncSummary(added=8, updated=0, deactivated=0)
    mirrored = {(o.org_code, o.name, o.org_type, o.parent_code) for o in everything(sessions)}
    assert mirrored == set(area_organisations)
    assert all(o.active for o in everything(sessions))


def test_sync_is_audited_in_one_event(
    sessions: sessionmaker[Session], area_store: PopulationStore
) -> None:
    sync_organisations(area_store, sessions, actor="u.admin", actor_role="administrator")

    [event_] = audit_events(sessions)
    assert (event_.actor, event_.actor_role) == ("u.admin", "administrator")
    assert (event_.action, event_.entity_type) == ("organisations.sync", "organisation")
    assert event_.person_id is None
    assert event_.detail == {"added": 8, "updated": 0, "deactivated": 0, "organisations": 8}
    assert {o.synced_at for o in everything(sessions)} == {event_.occurred_at}


def test_sync_twice_changes_nothing_the_second_time(
    sessions: sessionmaker[Session], area_store: PopulationStore
) -> None:
    sync_organisations(area_store, sessions)
    before = everything(sessions)

    summary = sync_organisations(area_store, sessions)

    assert summary == SyncSummary(added=0, updated=0, deactivated=0)
    assert not summary.changed
    assert str(summary) == "0 organisations added, 0 updated, 0 made inactive"
    assert everything(sessions) == before  # synced_at included
    assert [e.detail["added"] for e in audit_events(sessions)] == [8, 0]


def test_sync_updates_deactivates_and_reactivates(
    sessions: sessionmaker[Session],
    write_organisations: WriteOrganisations,
    area_organisations: list[OrgRow],
) -> None:
    sync_organisations(write_organisations(area_organisations), sessions)
    renamed = [r for r in area_organisations if r[0] not in ("HUB01", "P81003")]
    renamed.append(("P81003", "Orchard Health Centre", "practice", "NBH01"))  # moved north
    renamed = [("NBH01", "North", *r[2:]) if r[0] == "NBH01" else r for r in renamed]

    assert sync_organisations(write_organisations(renamed), sessions) == SyncSummary(
        added=0, updated=2, deactivated=1
    )
    by_code = {o.org_code: o for o in everything(sessions)}
    assert by_code["HUB01"].active is False
    assert (by_code["NBH01"].name, by_code["P81003"].parent_code) == ("North", "NBH01")
    assert "HUB01" not in {o.org_code for o in list_organisations(sessions)}

    back = sync_organisations(write_organisations(area_organisations), sessions)
    assert back == SyncSummary(added=0, updated=3, deactivated=0)
    assert all(o.active for o in everything(sessions))


def test_an_existing_organisation_can_move_under_a_new_one(
    sessions: sessionmaker[Session],
    write_organisations: WriteOrganisations,
    area_organisations: list[OrgRow],
) -> None:
    sync_organisations(write_organisations(area_organisations), sessions)
    moved = [r if r[0] != "P81001" else ("P81001", r[1], r[2], "NBH03") for r in area_organisations]
    moved.append(("NBH03", "East Riverside Neighbourhood", "neighbourhood", "FED01"))

    summary = sync_organisations(write_organisations(moved), sessions)

    assert summary == SyncSummary(added=1, updated=1, deactivated=0)
    assert {o.org_code: o.parent_code for o in everything(sessions)}["P81001"] == "NBH03"


def test_an_error_mid_write_commits_neither_rows_nor_audit_event(
    sessions: sessionmaker[Session], area_store: PopulationStore
) -> None:
    seen: dict[str, int] = {}

    def fail_at_commit(session: Session) -> None:
        # Everything is written inside the transaction by now: prove it, then fail.
        seen["organisations"] = session.scalar(select(func.count(Organisation.org_code))) or 0
        seen["audit_events"] = session.scalar(select(func.count(AuditEvent.id))) or 0
        raise RuntimeError("the disk fills up at commit")

    event.listen(sessions, "before_commit", fail_at_commit)
    try:
        with pytest.raises(RuntimeError, match="disk fills up"):
            sync_organisations(area_store, sessions)
    finally:
        event.remove(sessions, "before_commit", fail_at_commit)

    assert seen == {"organisations": 8, "audit_events": 1}
    assert everything(sessions) == []
    assert audit_events(sessions) == []


def test_a_store_that_breaks_its_contract_writes_nothing(
    sessions: sessionmaker[Session],
    write_organisations: WriteOrganisations,
    area_organisations: list[OrgRow],
) -> None:
    dangling = [*area_organisations, ("P81009", "Lost Surgery", "practice", "NBH99")]
    with pytest.raises(OrganisationSyncError, match="parent_code refers to no row"):
        sync_organisations(write_organisations(dangling), sessions)

    odd_type = [*area_organisations, ("X1234", "Odd", "hospital", "FED01")]
    with pytest.raises(OrganisationSyncError, match="org_type is not one of"):
        sync_organisations(write_organisations(odd_type), sessions)

    assert everything(sessions) == []
    assert audit_events(sessions) == []


def test_a_cycle_of_parents_is_refused(
    sessions: sessionmaker[Session], write_organisations: WriteOrganisations
) -> None:
    cycle = [
        ("NBH01", "North", "neighbourhood", "FED01"),
        ("FED01", "Federation", "federation", "NBH01"),
    ]
    with pytest.raises(OrganisationSyncError, match="cycle"):
        sync_organisations(write_organisations(cycle), sessions)
    assert everything(sessions) == []


def test_a_store_without_organisations_is_a_clear_error(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="no organisations table"):
        sync_organisations(PopulationStore(tmp_path / "empty"), sessions)


def test_list_organisations_by_type(
    sessions: sessionmaker[Session], area_store: PopulationStore
) -> None:
    sync_organisations(area_store, sessions)

    practices = list_organisations(sessions, "practice")

    assert [p.name for p in practices] == [
        "Canal Street Medical Centre",
        "Mill Lane Surgery",
        "Orchard Health Centre",
    ]
    assert {p.parent_code for p in practices} == {"NBH01", "NBH02"}
    assert list_organisations(sessions, "community_team") == []


def test_sync_mirrors_a_generated_area(care_store: str, generated_store: PopulationStore) -> None:
    """The generator's organisations mirror cleanly (runs once the generator exists)."""
    engine = make_engine(care_store)
    try:
        sessions = session_factory(engine)
        first = sync_organisations(generated_store, sessions)
        again = sync_organisations(generated_store, sessions)
    finally:
        engine.dispose()
    expected = generated_store.read("organisations").num_rows
    assert first == SyncSummary(added=expected, updated=0, deactivated=0)
    assert not again.changed


@pytest.fixture
def generated_store(request: pytest.FixtureRequest) -> PopulationStore:
    """The shared generated area, when the synthetic generator is available."""
    store: PopulationStore = request.getfixturevalue("small_store")
    return store
