"""The coordinated care register and named professionals, on SQLite and PostgreSQL: additions,
the transition table, audit, optimistic concurrency, duplicates under concurrency, hand-over
and the care team."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care import register as reg
from joinedup.care.models import NamedProfessional, RegisterEntry, RegisterTransition
from joinedup.care.named_professionals import (
    assign,
    candidates_for,
    care_team,
    current_named_professional,
    named_professional_history,
)
from joinedup.carestore.models import AuditEvent
from joinedup.governance.consent import current_consent, record_consent
from joinedup.governance.models import CareTeamMember, User, UserOrganisation
from joinedup.governance.relationships import person_access
from joinedup.governance.roles import Principal
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from tests.auth_support import principal

Sessions = sessionmaker[Session]


@pytest.fixture
def area(sessions: Sessions, small_store: PopulationStore) -> Sessions:
    sync_organisations(small_store, sessions)
    return sessions


def _hood(store: PopulationStore) -> tuple[str, str]:
    """The first neighbourhood and one of its practices."""
    orgs = pd.read_parquet(store.path("organisations"))
    practice = orgs[orgs.org_type == "practice"].sort_values("org_code").iloc[0]
    return str(practice.parent_code), str(practice.org_code)


def _user(sessions: Sessions, name: str, role: str, orgs: tuple[str, ...] = ()) -> Principal:
    with sessions() as session, session.begin():
        user = User(
            username=name, display_name=name.title(), role=role, created_at=dt.datetime.now(dt.UTC)
        )
        session.add(user)
        session.flush()
        for org in orgs:
            session.add(UserOrganisation(user_id=user.id, org_code=org))
        uid = user.id
    return principal(role, user_id=uid, username=name, organisations=orgs)


_PEOPLE: dict[str, list[int]] = {}


def _person_at(store: PopulationStore, practice: str, skip: int = 0) -> int:
    """A person registered at `practice` now (checked with find_person, cached per practice)."""
    if practice not in _PEOPLE:
        regs = pd.read_parquet(store.path("registrations"))
        open_regs = regs[regs.end_date.isna()]
        single = open_regs.groupby("person_id").filter(lambda g: len(g) == 1)
        ids = sorted(single[single.practice_code == practice].person_id)[:5]
        _PEOPLE[practice] = [
            int(p) for p in ids if (f := find_person(store, int(p))) and f.practice_code == practice
        ]
    return _PEOPLE[practice][skip]


def _count(sessions: Sessions, model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_adding_writes_the_entry_its_first_transition_and_one_audit_event(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    coordinator = _user(area, "coord", "care_coordinator", (hood,))
    person = _person_at(small_store, practice)

    entry = reg.add_to_register(
        area,
        small_store,
        coordinator,
        person_id=person,
        source="case_finding",
        reason="Top 2% risk",
        source_detail="top-risk-not-on-register",
    )

    assert (entry.status, entry.practice_code, entry.neighbourhood_code) == (
        "identified",
        practice,
        hood,
    )
    assert entry.version == 1
    [move] = reg.transitions_of(area, entry.id)
    assert (move.from_status, move.to_status, move.reason) == (None, "identified", "Top 2% risk")
    with area() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "register.add")
        ).all()
    assert [(e.person_id, e.entity_id, e.actor) for e in events] == [
        (person, str(entry.id), "coord")
    ]
    assert "Top 2%" not in str(events[0].detail)  # the reason stays in the care store
    assert reg.register_members(area) == {person}


def test_a_second_addition_is_refused_as_already_on_the_register(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    gp = _user(area, "gp1", "gp", (hood,))
    person = _person_at(small_store, practice)
    reg.add_to_register(area, small_store, gp, person_id=person, source="referral", reason="r")

    with pytest.raises(reg.AlreadyOnRegister, match="already on the coordinated care register"):
        reg.add_to_register(area, small_store, gp, person_id=person, source="referral", reason="r")
    assert _count(area, RegisterEntry) == 1


def test_no_relationship_no_reason_or_no_permission_writes_nothing(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    person = _person_at(small_store, practice)
    stranger = _user(area, "stranger", "gp")  # works nowhere
    manager = _user(area, "mgr", "manager", (hood,))
    nurse = _user(area, "nurse1", "nurse", (hood,))

    with pytest.raises(reg.RegisterNotAllowed, match="no care relationship"):
        reg.add_to_register(
            area, small_store, stranger, person_id=person, source="referral", reason="r"
        )
    with pytest.raises(reg.RegisterNotAllowed, match="may not change the register"):
        reg.add_to_register(
            area, small_store, manager, person_id=person, source="referral", reason="r"
        )
    with pytest.raises(reg.RegisterError, match="Enter the reason"):
        reg.add_to_register(
            area, small_store, nurse, person_id=person, source="referral", reason=" "
        )
    with pytest.raises(reg.PersonUnknown):
        reg.add_to_register(
            area, small_store, nurse, person_id=10**9, source="referral", reason="r"
        )
    assert _count(area, RegisterEntry) == 0
    assert _count(area, RegisterTransition) == 0


def test_the_whole_journey_follows_the_transition_table(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    nurse = _user(area, "nurse2", "nurse", (hood,))
    person = _person_at(small_store, practice)
    entry = reg.add_to_register(
        area, small_store, nurse, person_id=person, source="person_page", reason="frail"
    )

    with pytest.raises(reg.RegisterError, match="can move only to"):
        reg.move(area, nurse, entry.id, to_status="active", expected_version=1)
    entry = reg.move(area, nurse, entry.id, to_status="invited", expected_version=1)
    with pytest.raises(reg.RegisterError, match=r"consent .* is not recorded"):
        reg.move(area, nurse, entry.id, to_status="consented", expected_version=entry.version)
    entry = reg.move(
        area,
        nurse,
        entry.id,
        to_status="consented",
        expected_version=entry.version,
        record_consent=True,
    )
    consent = current_consent(area, person)
    assert consent is not None and consent.decision == "given"
    entry = reg.move(area, nurse, entry.id, to_status="active", expected_version=entry.version)
    assert entry.review_due_on == (entry.status_changed_at + reg.REVIEW_INTERVAL).date()
    entry = reg.move(area, nurse, entry.id, to_status="review_due", expected_version=entry.version)
    entry = reg.move(
        area,
        nurse,
        entry.id,
        to_status="active",
        expected_version=entry.version,
        review_due_on=dt.date(2030, 1, 1),
    )
    assert entry.review_due_on == dt.date(2030, 1, 1)
    with pytest.raises(reg.RegisterError, match="Enter the reason"):
        reg.move(area, nurse, entry.id, to_status="discharged", expected_version=entry.version)
    entry = reg.move(
        area,
        nurse,
        entry.id,
        to_status="discharged",
        expected_version=entry.version,
        reason="moved away",
    )

    assert (entry.status, entry.outcome_reason, entry.version) == ("discharged", "moved away", 7)
    moves = [(t.from_status, t.to_status) for t in reg.transitions_of(area, entry.id)]
    assert moves == [
        (None, "identified"),
        ("identified", "invited"),
        ("invited", "consented"),
        ("consented", "active"),
        ("active", "review_due"),
        ("review_due", "active"),
        ("active", "discharged"),
    ]
    with area() as session:
        audited = session.scalar(
            select(func.count()).where(AuditEvent.action == "register.transition")
        )
    assert audited == 6
    assert reg.register_members(area) == frozenset()
    # A re-referral reopens the same entry.
    entry = reg.move(
        area, nurse, entry.id, to_status="identified", expected_version=7, reason="back"
    )
    assert entry.outcome_reason is None and reg.register_members(area) == {person}


def test_consented_with_consent_already_recorded_needs_confirmation(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    gp = _user(area, "gp3", "gp", (hood,))
    person = _person_at(small_store, practice)
    entry = reg.add_to_register(
        area, small_store, gp, person_id=person, source="referral", reason="r"
    )
    entry = reg.move(area, gp, entry.id, to_status="invited", expected_version=1)
    record_consent(area, gp, person)

    with pytest.raises(reg.RegisterError, match="Confirm"):
        reg.move(area, gp, entry.id, to_status="consented", expected_version=2)
    entry = reg.move(
        area, gp, entry.id, to_status="consented", expected_version=2, consent_confirmed=True
    )
    assert entry.status == "consented"


def test_a_stale_version_changes_nothing(area: Sessions, small_store: PopulationStore) -> None:
    hood, practice = _hood(small_store)
    gp = _user(area, "gp4", "gp", (hood,))
    person = _person_at(small_store, practice)
    entry = reg.add_to_register(
        area, small_store, gp, person_id=person, source="referral", reason="r"
    )
    reg.move(area, gp, entry.id, to_status="invited", expected_version=1)

    with pytest.raises(reg.StaleEntry, match="changed after you opened it"):
        reg.move(area, gp, entry.id, to_status="declined", expected_version=1, reason="no")
    assert reg.get_entry(area, entry.id).status == "invited"
    assert len(reg.transitions_of(area, entry.id)) == 2


def test_parallel_additions_of_one_person_make_exactly_one_entry(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    users = [_user(area, f"par{i}", "care_coordinator", (hood,)) for i in range(6)]
    person = _person_at(small_store, practice)
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def add(user: Principal) -> None:
        barrier.wait()
        try:
            reg.add_to_register(
                area, small_store, user, person_id=person, source="referral", reason="r"
            )
            outcomes.append("added")
        except reg.AlreadyOnRegister:
            outcomes.append("already")

    threads = [threading.Thread(target=add, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["added"] + ["already"] * 5
    assert _count(area, RegisterEntry) == 1
    assert _count(area, RegisterTransition) == 1
    with area() as session:
        adds = session.scalar(select(func.count()).where(AuditEvent.action == "register.add"))
    assert adds == 1


def test_named_professional_must_fit_and_joins_the_care_team(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    coordinator = _user(area, "coord2", "care_coordinator", (hood,))
    gp = _user(area, "gp5", "gp")  # works nowhere: the care team gives the relationship
    link = _user(area, "link1", "link_worker")
    person = _person_at(small_store, practice)

    with pytest.raises(reg.NotOnRegister):
        assign(area, coordinator, person_id=person, user_id=gp.user_id, professional_role="gp")
    reg.add_to_register(
        area, small_store, coordinator, person_id=person, source="referral", reason="r"
    )
    with pytest.raises(reg.RegisterError, match="cannot be a Nurse"):
        assign(area, coordinator, person_id=person, user_id=gp.user_id, professional_role="nurse")
    assert not person_access(area, gp, person, practice).allowed

    assign(area, coordinator, person_id=person, user_id=gp.user_id, professional_role="gp")

    named = current_named_professional(area, person)
    assert named is not None and (named.user_id, named.professional_role) == (gp.user_id, "gp")
    assert person_access(area, gp, person, practice).basis == "care_team"
    with pytest.raises(reg.RegisterError, match="Enter a reason for handing over"):
        assign(
            area, coordinator, person_id=person, user_id=link.user_id, professional_role="navigator"
        )

    assign(
        area,
        coordinator,
        person_id=person,
        user_id=link.user_id,
        professional_role="navigator",
        reason="social needs lead now",
    )

    history = named_professional_history(area, person)
    assert [(h.user_id, h.ended_at is None) for h in history] == [
        (link.user_id, True),
        (gp.user_id, False),
    ]
    assert history[1].end_reason == "handed over: social needs lead now"
    assert [m.user_id for m in care_team(area, person)] == [link.user_id]
    assert not person_access(area, gp, person, practice).allowed
    with area() as session:
        events = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "register.named_professional")
        ).all()
    assert len(events) == 2 and events[1]["handed_over_from"] == [gp.user_id]


def test_leaving_the_register_ends_the_named_professional(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    nurse = _user(area, "nurse3", "nurse", (hood,))
    person = _person_at(small_store, practice)
    entry = reg.add_to_register(
        area, small_store, nurse, person_id=person, source="referral", reason="r"
    )
    assign(area, nurse, person_id=person, user_id=nurse.user_id, professional_role="nurse")

    reg.move(area, nurse, entry.id, to_status="declined", expected_version=1, reason="declined")

    assert current_named_professional(area, person) is None
    with area() as session:
        open_members = session.scalar(
            select(func.count()).where(
                CareTeamMember.person_id == person, CareTeamMember.ended_at.is_(None)
            )
        )
        ended = session.scalar(select(NamedProfessional.end_reason))
    assert open_members == 0 and ended == "left the register"


def test_reviews_that_have_come_are_marked_due(
    area: Sessions, small_store: PopulationStore
) -> None:
    hood, practice = _hood(small_store)
    nurse = _user(area, "nurse4", "nurse", (hood,))
    person = _person_at(small_store, practice)
    entry = reg.add_to_register(
        area, small_store, nurse, person_id=person, source="referral", reason="r"
    )
    for state in ("invited", "consented", "active"):
        entry = reg.move(
            area,
            nurse,
            entry.id,
            to_status=state,
            expected_version=entry.version,
            record_consent=state == "consented",
            review_due_on=dt.date(2026, 1, 1),
        )

    assert reg.mark_reviews_due(area, nurse, as_of=dt.date(2025, 12, 31)) == 0
    assert reg.mark_reviews_due(area, nurse, as_of=dt.date(2026, 1, 1)) == 1
    assert reg.get_entry(area, entry.id).status == "review_due"


def test_candidates_are_who_works_at_or_over_the_practice_read_in_a_few_statements(
    area: Sessions, small_store: PopulationStore
) -> None:
    """The named-professional and action-owner choices (every care plan form shows them) read
    the organisation tree once, not once a user (issue 14: hundreds of GPs, hundreds of
    queries a form)."""
    hood, practice = _hood(small_store)
    other = next(
        code
        for code in pd.read_parquet(small_store.path("organisations")).query(
            "org_type == 'practice'"
        )["org_code"]
        if code != practice
    )
    here = [_user(area, f"cand-gp{n}", "gp", (practice,)) for n in range(12)]
    over = _user(area, "cand-nurse", "nurse", (hood,))
    left_out = [
        _user(area, "cand-elsewhere", "gp", (other,)),
        _user(area, "cand-commissioner", "commissioner", (practice,)),  # no fitting role
    ]
    engine = area.kw["bind"]
    statements: list[str] = []
    count = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = candidates_for(area, practice)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    expected = {u.user_id for u in here} | {over.user_id}
    assert {c.user_id for c in found} >= expected
    assert not {c.user_id for c in found} & {u.user_id for u in left_out}
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 3
