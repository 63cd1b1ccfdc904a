"""Finding a person and knowing who they are, on SQLite and PostgreSQL: the search finds by each
key only among the user's legitimate relationships and is audited without patient values; the
patient banner is on every person page (the test walks the app's person routes); the register
names people."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute

from joinedup.care import register as reg
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.break_glass import break_glass
from joinedup.governance.models import CareTeamMember, Objection, User, UserOrganisation
from joinedup.governance.person_search import SearchError, person_with_nhs_number
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import principal, sign_in_as

Sessions = sessionmaker[Session]


class Area:
    def __init__(self, app: FastAPI, sessions: Sessions, store: PopulationStore) -> None:
        self.app, self.sessions, self.store = app, sessions, store
        self.users: dict[str, int] = {}
        self.practices: set[str] = set()
        self.person: PersonIdentity
        self.outsider: PersonIdentity  # registered at a practice the GP does not work in

    def client(self, name: str, role: str = "gp") -> TestClient:
        sign_in_as(self.app, principal(role, user_id=self.users[name], username=name))
        return TestClient(self.app, follow_redirects=False)

    def searches(self) -> list[AuditEvent]:
        with self.sessions() as session:
            return list(
                session.scalars(select(AuditEvent).where(AuditEvent.action == "search.people"))
            )


@pytest.fixture
def area(care_store: str, small_area: Settings, small_store: PopulationStore) -> Area:
    sessions = session_factory(make_engine(care_store))
    sync_organisations(small_store, sessions)
    orgs = pd.read_parquet(small_store.path("organisations"))
    practices = orgs[orgs.org_type == "practice"].sort_values("org_code")
    home = practices.iloc[0]
    found = Area(
        create_app(Settings(home=small_area.home, database_url=care_store)), sessions, small_store
    )
    found.practices = {str(home.org_code)}  # the GP works at one practice
    with sessions() as session, session.begin():
        for name, org in (("gp", home.org_code), ("stranger", None)):
            user = User(username=name, display_name=name.title(), role="gp", created_at=_now())
            session.add(user)
            session.flush()
            if org:
                session.add(UserOrganisation(user_id=user.id, org_code=org))
            found.users[name] = user.id
    people = (find_person(small_store, int(p)) for p in _registered(small_store))
    named = [p for p in people if p and p.family_name and p.practice_code]
    found.person = next(p for p in named if p.practice_code in found.practices)
    found.outsider = next(p for p in named if p.practice_code not in found.practices)
    return found


def _registered(store: PopulationStore) -> list[int]:
    regs = pd.read_parquet(store.path("registrations"))
    return sorted(regs[regs.end_date.isna()].person_id.unique())[::15]  # across practices


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _found(response) -> set[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return {
        int(p) for p in pd.Series(response.text.split('data-person="')[1:]).str.split('"').str[0]
    }


def _dob(day: dt.date) -> dict[str, str]:
    return {"dob-day": str(day.day), "dob-month": str(day.month), "dob-year": str(day.year)}


def test_finds_by_each_key_within_the_users_relationships(area: Area) -> None:
    gp, person = area.client("gp"), area.person
    assert person.family_name is not None and person.given_name is not None

    by_number = gp.get(
        "/people/search", params={"nhs_number": format_nhs_number(person.nhs_number)}
    )
    assert _found(by_number) == {person.person_id}
    assert f'href="/people/{person.person_id}"' in by_number.text
    assert person.display_name in by_number.text

    by_name = _found(
        gp.get(
            "/people/search",
            params={"family_name": person.family_name[:3].lower(), "given_name": person.given_name},
        )
    )
    assert person.person_id in by_name
    by_dob = _found(gp.get("/people/search", params=_dob(person.date_of_birth)))
    assert person.person_id in by_dob

    # Independently: everyone registered at the GP's practices born that day, from the files.
    patients = pd.read_parquet(area.store.path("patients"), columns=["person_id", "date_of_birth"])
    born_that_day = pd.to_datetime(patients.date_of_birth) == pd.Timestamp(person.date_of_birth)
    born = set(patients[born_that_day].person_id)
    mine = {
        p for p in born if (f := find_person(area.store, p)) and f.practice_code in area.practices
    }
    assert by_dob == mine


def test_never_finds_someone_outside_the_users_relationships(area: Area) -> None:
    outsider, number = area.outsider, {"nhs_number": area.outsider.nhs_number}
    # Signing in replaces the app's user: one client at a time.
    stranger = area.client("stranger")
    assert (
        _found(stranger.get("/people/search", params={"nhs_number": area.person.nhs_number}))
        == set()
    )
    gp = area.client("gp")
    assert _found(gp.get("/people/search", params=number)) == set()
    assert 'id="no-results"' in gp.get("/people/search", params=number).text
    # Break glass opens a record; it never widens search.
    break_glass(
        area.sessions,
        principal("gp", user_id=area.users["gp"], username="gp"),
        outsider.person_id,
        "Unconscious in the surgery car park; no other record",
    )
    assert _found(gp.get("/people/search", params=number)) == set()
    # On the care team: found.
    with area.sessions() as session, session.begin():
        session.add(
            CareTeamMember(
                person_id=outsider.person_id,
                user_id=area.users["gp"],
                team_role="gp",
                added_at=_now(),
            )
        )
    assert _found(gp.get("/people/search", params=number)) == {outsider.person_id}
    # A role that cannot open records cannot search.
    assert area.client("gp", "receptionist").get("/people/search").status_code == 403


def test_each_search_is_audited_with_the_kinds_of_key_and_no_values(area: Area) -> None:
    gp, person = area.client("gp"), area.person
    assert gp.get("/people/search").status_code == 200  # the empty form searches nothing
    assert area.searches() == []
    gp.get(
        "/people/search", params={"family_name": person.family_name, **_dob(person.date_of_birth)}
    )
    gp.get("/people/search", params={"nhs_number": person.nhs_number})
    events = area.searches()
    assert [e.detail["kinds"] for e in events] == [["name", "date_of_birth"], ["nhs_number"]]
    assert [e.actor for e in events] == ["gp", "gp"] and events[1].detail["shown"] == 1
    recorded = json.dumps([e.detail for e in events]) + "".join(str(e.entity_id) for e in events)
    for value in (person.nhs_number, str(person.family_name), str(person.date_of_birth.year)):
        assert value not in recorded


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nhs_number": "12345"}, "Enter an NHS number with 10 digits"),
        ({"nhs_number": "9434765918"}, "Enter a real NHS number"),
        (
            {"dob-day": "31", "dob-month": "2", "dob-year": "1950"},
            "Date of birth must be a real date",
        ),
        ({"dob-day": "4", "dob-year": "1950"}, "Date of birth must include a month"),
        ({"dob-day": "4", "dob-month": "12", "dob-year": "50"}, "Year must include 4 numbers"),
    ],
)
def test_a_search_that_cannot_run_says_what_to_fix(area: Area, params, message) -> None:  # type: ignore[no-untyped-def]
    response = area.client("gp").get("/people/search", params=params)
    assert response.status_code == 400
    assert message in response.text and "There is a problem" in response.text
    assert area.searches() == []


# --- the patient banner on every person page ---------------------------------------------------

#: Person routes that show no banner, and why. Every other GET route with {person_id} must.
NO_BANNER = {
    "/people/{person_id}/break-glass": "asks for access: the person is not opened yet",
    "/api/fhir/Patient/{person_id}": "FHIR JSON, not a page",
    "/api/fhir/Patient/{person_id}/$everything": "FHIR JSON, not a page",
    "/people/{person_id}/care-plan/print": "the person's own printout, headed with their name",
    "/access/patients/{person_id}": "booking's light identity view: four fields only (ADR 0027)",
}
#: Person routes that need more than the person (checked in their own tests).
ELSEWHERE = {
    "/care-coordination/mdt/{meeting_id}/people/{person_id}": "a meeting",
    "/people/{person_id}/care-plan/diff": "two plan versions",
}


def _get_paths(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[str]:
    """Every GET route's full path, looking inside FastAPI's included routers."""
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            yield prefix + route.path
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _get_paths(included.routes, prefix + route.include_context.prefix)


def _person_pages(app: FastAPI) -> list[str]:
    paths = [p for p in _get_paths(app.routes) if "{person_id}" in p]
    return sorted(p for p in paths if p not in NO_BANNER and p not in ELSEWHERE)


def test_every_person_page_shows_the_patient_banner(area: Area) -> None:
    person, sessions = area.person, area.sessions
    gp_principal = principal("gp", user_id=area.users["gp"], username="gp")
    reg.add_to_register(
        sessions,
        area.store,
        gp_principal,
        person_id=person.person_id,
        source="person_page",
        reason="Frailty and falls",
    )
    with sessions() as session, session.begin():
        session.add(
            Objection(
                person_id=person.person_id,
                kind="national_data_opt_out",
                source="recorded",
                recorded_at=_now(),
                recorded_by="gp",
            )
        )
    client = area.client("gp")
    pages = _person_pages(area.app)
    assert "/people/{person_id}" in pages and "/people/{person_id}/care-plan" in pages
    for path in pages:
        response = client.get(path.replace("{person_id}", str(person.person_id)))
        assert response.status_code == 200, path
        assert 'id="patient-banner"' in response.text, path
        banner = response.text.split('id="patient-banner"')[1].split("</section>")[0]
        assert person.display_name in banner, path
        assert format_nhs_number(person.nhs_number) in banner
        assert f"{person.date_of_birth.day} {person.date_of_birth:%B %Y}" in banner
        assert f"({person.age_on(dt.date.today())} years)" in banner
        assert {"F": "Female", "M": "Male"}[person.sex] in banner
        assert str(person.practice_name) in banner
        assert "Identified" in banner  # the register state
        assert "National data opt-out" in banner
        assert "Break-glass" not in banner
    assert client.get("/people/search").text.count('id="patient-banner"') == 0


def test_the_person_page_reads_each_fact_once_in_a_few_transactions(area: Area) -> None:
    """Issue 14: the person page read each of its facts in a session of its own and its banner
    read the register entry and named professional again (22 statements in 18 transactions on
    the load test's area). Now no query runs twice with the same parameters, and the page's
    reads share one read-only session: the gate's relationship and its audited view, the page
    with its banner, the plan rule's practice and the header's count."""
    person, sessions = area.person, area.sessions
    reg.add_to_register(
        sessions,
        area.store,
        principal("gp", user_id=area.users["gp"], username="gp"),
        person_id=person.person_id,
        source="person_page",
        reason="Frailty and falls",
    )
    client = area.client("gp")
    path = f"/people/{person.person_id}"
    assert client.get(path).status_code == 200  # the first view reads the run and area once
    statements: list[tuple[str, str]] = []
    transactions: list[object] = []

    def on_statement(
        conn: object, cursor: object, statement: str, params: object, *_: object
    ) -> None:
        statements.append((statement, repr(params)))

    def on_begin(conn: object) -> None:
        transactions.append(conn)

    event.listen(Engine, "before_cursor_execute", on_statement)
    event.listen(Engine, "begin", on_begin)
    try:
        page = client.get(path)
    finally:
        event.remove(Engine, "before_cursor_execute", on_statement)
        event.remove(Engine, "begin", on_begin)
    assert page.status_code == 200
    banner = page.text.split('id="patient-banner"')[1].split("</section>")[0]
    assert "Identified" in banner and "Identified" in page.text.split("</section>", 1)[1]
    reads = Counter(s for s in statements if s[0].lstrip().upper().startswith("SELECT"))
    assert [s for s, n in reads.items() if n > 1] == []
    assert len(transactions) <= 5, len(transactions)


def test_the_banner_shows_break_glass_in_force_with_its_expiry_in_uk_time(area: Area) -> None:
    outsider = area.outsider
    grant = break_glass(
        area.sessions,
        principal("gp", user_id=area.users["gp"], username="gp"),
        outsider.person_id,
        "Unconscious in the surgery car park; no other record",
    )
    page = area.client("gp").get(f"/people/{outsider.person_id}")
    banner = page.text.split('id="patient-banner"')[1].split("</section>")[0]
    expires = grant.expires_at.replace(tzinfo=grant.expires_at.tzinfo or dt.UTC)
    local = expires.astimezone(ZoneInfo("Europe/London"))
    assert (
        f"Break-glass access until {local:%H:%M} on {local.day} {local:%B %Y} (UK time)" in banner
    )
    assert "Not on the register" in banner and "None" in banner  # no named professional


def test_the_register_names_people(area: Area) -> None:
    person = area.person
    gp_principal = principal("gp", user_id=area.users["gp"], username="gp")
    reg.add_to_register(
        area.sessions,
        area.store,
        gp_principal,
        person_id=person.person_id,
        source="person_page",
        reason="Frailty and falls",
    )
    page = area.client("gp").get("/care-coordination/register")
    row = page.text.split(f'data-person="{person.person_id}"')[1].split("</tr>")[0]
    age = person.age_on(dt.date.today())
    assert (
        f"{person.display_name} (NHS number {format_nhs_number(person.nhs_number)}, aged {age})"
        in row
    )
    assert f"Person {person.person_id}" not in page.text


def test_a_form_that_starts_from_an_nhs_number_finds_only_within_reach(area: Area) -> None:
    """Admitting to a ward or taking onto a caseload starts from the NHS number on the
    referral: found within the user's relationships (audited as a search); the same words
    for a number nobody has and one out of reach; a typing slip says what to fix."""
    gp = principal("gp", user_id=area.users["gp"], username="gp")
    typed = format_nhs_number(area.person.nhs_number)  # "943 476 5919", as printed
    assert person_with_nhs_number(area.sessions, area.store, gp, typed) == area.person.person_id
    assert area.searches()[-1].detail["kinds"] == ["nhs_number"]
    not_here = f"No one with NHS number {format_nhs_number(area.outsider.nhs_number)} is"
    with pytest.raises(SearchError, match=not_here):
        person_with_nhs_number(area.sessions, area.store, gp, area.outsider.nhs_number)
    for slip, says in (
        ("", "Enter the person's NHS number"),
        ("943 476 591", "10 digits"),
        ("9434765918", "Enter a real NHS number"),  # the check digit is 9
    ):
        with pytest.raises(SearchError, match=says):
            person_with_nhs_number(area.sessions, area.store, gp, slip)
