"""Who sees what of the case-finding lists (issue 5), through the real pages, on both databases.

* identifiable (GP, nurse, care coordinator, manager): named people of the practices the user
  works in, for direct care; another practice is 403; every view and export is audited;
  objectors stay on the list;
* pseudonymised (commissioner, analyst): the whole area, people as keyed-hash pseudonyms,
  objectors left out, every count suppressed; the export too, audited.

The risk list (read from a stratification run) goes through the same machinery: its own tests
at the end run it on a home with a run.

The small area has one neighbourhood with two practices: a GP of one practice must not see
the other's people.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import ibis
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import StratificationRun, stratify
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.objections import record_objection
from joinedup.governance.pseudonyms import area_key, pseudonyms
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.case_finding import PAGE_ROWS
from joinedup.web.formatting import number
from tests.auth_support import principal, sign_in_as

LIST = "raised-bp-no-hypertension"
RISK_LIST = "top-risk-not-on-register"
#: The lists the store alone computes: the small area's home has no stratification run, so
#: the risk list is not available there (it is tested below on a home with a run).
STORE_LISTS = [d.id for d in cf.list_definitions() if d.available and not d.run_columns]


@dataclass(frozen=True)
class World:
    """A migrated care store with the small area's organisations, and its settings."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: PopulationStore
    practices: tuple[str, ...]  # the practices of the area's one neighbourhood, sorted
    neighbourhood: str


@pytest.fixture
def world(care_store: str, small_area: Settings, small_store: PopulationStore) -> Iterator[World]:
    with make_world(care_store, small_area, small_store) as made:
        yield made


@contextmanager
def make_world(
    care_store: str, small_area: Settings, small_store: PopulationStore
) -> Iterator[World]:
    """The small area's organisations in the migrated care store at `care_store`."""
    engine = make_engine(care_store)
    try:
        sessions = session_factory(engine)
        sync_organisations(small_store, sessions)
        orgs = pd.read_parquet(small_store.path("organisations"))
        hood = orgs.org_code[orgs.org_type == "neighbourhood"].iloc[0]
        practices = orgs.org_code[(orgs.org_type == "practice") & (orgs.parent_code == hood)]
        yield World(
            Settings(home=small_area.home, database_url=care_store),
            sessions,
            small_store,
            tuple(sorted(practices)),
            str(hood),
        )
    finally:
        engine.dispose()


def add_user(world: World, role: str, organisations: tuple[str, ...], name: str = "") -> Principal:
    """A user row working in `organisations`, and the principal that signs in as them."""
    username = name or f"{role}-{'-'.join(organisations) or 'nowhere'}"
    with world.sessions() as session, session.begin():
        user = User(
            username=username,
            display_name=username,
            role=role,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        session.add_all(UserOrganisation(user_id=user.id, org_code=c) for c in organisations)
        user_id = user.id
    return principal(role, user_id=user_id, username=username, organisations=organisations)


def client_as(world: World, user: Principal) -> TestClient:
    app = create_app(world.settings)
    sign_in_as(app, user)
    return TestClient(app)


def events(world: World, action: str | None = None) -> list[AuditEvent]:
    """The audit events since the organisations were synchronised (or those of `action`)."""
    with world.sessions() as session:
        query = (
            select(AuditEvent)
            .where(AuditEvent.action != "organisations.sync")
            .order_by(AuditEvent.id)
        )
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query))


def people_in(html: str) -> set[int]:
    return {int(p) for p in re.findall(r'data-person="(\d+)"', html)}


def option_values(html: str, select_id: str) -> list[str]:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found, select_id
    return re.findall(r'<option value="([^"]*)"', found[1])


def nhs_numbers(store: PopulationStore) -> set[str]:
    return set(pd.read_parquet(store.path("patients"), columns=["nhs_number"]).nhs_number)


# --- identifiable: direct care in the user's own practices -----------------------------------


def test_a_gp_sees_named_people_of_their_own_practice_only(world: World) -> None:
    mine, other = world.practices
    whole = cf.run_list(world.store, LIST)
    expected = cf.run_list(world.store, LIST, within_practices={mine})
    theirs = {r["person_id"] for r in whole.people() if r["practice_code"] == other}
    assert expected.total and theirs and expected.total <= PAGE_ROWS
    gp = add_user(world, "gp", (mine,))
    client = client_as(world, gp)

    response = client.get(f"/case-finding/{LIST}")

    assert response.status_code == 200
    html = response.text
    assert people_in(html) == set(expected.rows["person_id"].to_pylist())
    assert not people_in(html) & theirs
    assert option_values(html, "practice") == ["", mine]
    assert option_values(html, "neighbourhood") == ["", world.neighbourhood]
    assert f'data-figure="total">{expected.total:,}<' in html
    for row in expected.people()[:10]:
        n = row["nhs_number"]
        assert f'<a href="/people/{row["person_id"]}/scores"' in html
        assert f">{n[:3]} {n[3:6]} {n[6:]}</span>" in html
    (view,) = events(world)
    assert (view.action, view.actor, view.entity_id) == ("view.case_finding_list", gp.actor, LIST)
    assert view.purpose == "direct care"
    assert view.detail["rows"] == expected.total and view.detail["identifiable"] is True
    assert view.detail["scope"]["within_practices"] == [mine]


def test_another_practice_is_refused_and_nothing_is_shown_or_audited(world: World) -> None:
    mine, other = world.practices
    client = client_as(world, add_user(world, "nurse", (mine,)))

    for url in (
        f"/case-finding/{LIST}?practice={other}",
        f"/case-finding/{LIST}.csv?practice={other}",
        f"/case-finding/{LIST}?neighbourhood={world.neighbourhood}&practice={other}",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "practices you work in" in response.text
        assert 'data-person="' not in response.text
    assert events(world) == []
    assert client.get(f"/case-finding/{LIST}?practice={mine}").status_code == 200
    assert client.get(f"/case-finding/{LIST}?practice=NOPE").status_code == 404


def test_a_neighbourhood_gp_sees_every_practice_of_it(world: World) -> None:
    client = client_as(world, add_user(world, "gp", (world.neighbourhood,)))
    whole = cf.run_list(world.store, LIST)
    html = client.get(f"/case-finding/{LIST}").text
    assert people_in(html) == set(whole.rows["person_id"].to_pylist())
    assert option_values(html, "practice") == ["", *(p.code for p in whole.practices)]
    assert sorted(p.code for p in whole.practices) == list(world.practices)


def test_the_identifiable_csv_holds_the_practice_and_is_audited(world: World) -> None:
    mine, _ = world.practices
    gp = add_user(world, "care_coordinator", (mine,))
    expected = cf.run_list(world.store, LIST, within_practices={mine})

    response = client_as(world, gp).get(f"/case-finding/{LIST}.csv")

    rows = list(csv.DictReader(response.text.splitlines()))
    assert list(rows[0]) == list(cf.ROW_COLUMNS)
    assert [int(r["person_id"]) for r in rows] == expected.rows["person_id"].to_pylist()
    assert {r["practice_code"] for r in rows} == {mine}
    (export,) = events(world)
    assert (export.action, export.actor) == ("export.case_finding_list", gp.actor)
    assert export.purpose == "direct care"
    assert export.detail["rows"] == expected.total and export.detail["identifiable"] is True


def test_objectors_stay_on_identifiable_lists(world: World) -> None:
    mine, _ = world.practices
    gp = add_user(world, "gp", (mine,))
    person = cf.run_list(world.store, LIST, within_practices={mine}).people()[0]["person_id"]
    record_objection(world.sessions, gp, person, "type_1")
    record_objection(world.sessions, gp, person, "national_data_opt_out")

    html = client_as(world, gp).get(f"/case-finding/{LIST}").text

    assert f'data-person="{person}"' in html


def test_a_manager_holding_both_permissions_gets_the_identifiable_view(world: World) -> None:
    mine, _ = world.practices
    html = client_as(world, add_user(world, "manager", (mine,))).get(f"/case-finding/{LIST}").text
    assert 'id="identifiable-notice"' in html and 'data-person="' in html
    assert "data-pseudonym" not in html


def test_a_user_who_works_nowhere_sees_no_one(world: World) -> None:
    client = client_as(world, add_user(world, "gp", ()))
    html = client.get(f"/case-finding/{LIST}").text
    assert 'id="no-practices"' in html and 'data-person="' not in html
    assert 'data-figure="total">0<' in html
    index = client.get("/case-finding").text
    assert 'id="no-practices"' in index
    assert index.count('data-figure="count">0<') == len(STORE_LISTS)


# --- pseudonymised: commissioning, the whole area -------------------------------------------


def _objectors(world: World, result: cf.CaseFindingResult) -> set[int]:
    """Three people on the list given objections (of both kinds)."""
    recorder = principal("gp", username="recorder")
    people = [r["person_id"] for r in result.people()[:3]]
    record_objection(world.sessions, recorder, people[0], "type_1")
    record_objection(world.sessions, recorder, people[1], "national_data_opt_out")
    record_objection(world.sessions, recorder, people[2], "type_1")
    return set(people)


def _in_order(shown: list[str], everyone: list[str]) -> bool:
    """Whether `shown` is `everyone` with some left out, in the same order."""
    kept = set(shown)
    return shown == [name for name in everyone if name in kept]


def _assert_no_identifier(text: str, all_nhs: set[str]) -> None:
    """No NHS number of the store (plain or spaced), and no person_id attribute or link."""
    assert not set(re.findall(r"\d{10}", text)) & all_nhs
    spaced = {n.replace(" ", "") for n in re.findall(r"\b\d{3} \d{3} \d{4}\b", text)}
    assert not spaced & all_nhs
    assert "data-person" not in text and "/people/" not in text and "person_id" not in text


@pytest.mark.parametrize("role", ["commissioner", "analyst"])
def test_commissioning_sees_pseudonyms_without_objectors_and_suppressed_counts(
    world: World, role: str
) -> None:
    whole = cf.run_list(world.store, LIST)
    objectors = _objectors(world, whole)
    expected = cf.run_list(world.store, LIST, excluding=objectors)
    key = area_key(world.settings)
    user = add_user(world, role, ())
    client = client_as(world, user)

    html = client.get(f"/case-finding/{LIST}").text

    shown = re.findall(r'data-pseudonym="([^"]+)"', html)
    # Disclosure control withholds people still in a small group (k-anonymity, tested in
    # test_disclosure_control): the rest are the list's people in the list's order.
    assert shown and _in_order(shown, pseudonyms(key, expected.rows["person_id"].to_pylist()))
    assert not set(shown) & set(pseudonyms(key, objectors))
    _assert_no_identifier(html, nhs_numbers(world.store))
    # No row shows its person's id in any cell but (by coincidence) their age.
    for row in expected.people():
        (name,) = pseudonyms(key, [row["person_id"]])
        if name not in shown:
            continue
        cells = re.search(rf'data-pseudonym="{name}">(.*?)</tr>', html, re.S)
        assert cells, name
        values = [v.strip() for v in re.findall(r">([^<>]*)<", cells[1]) if v.strip()]
        assert str(row["person_id"]) not in [v for v in values if v != str(row["age"])]
    assert f'data-figure="total">{number(suppress_count(expected.total))}<' in html
    for p in expected.by_practice:
        cell = re.search(rf'data-key="{p.code}".*?</tr>', html, re.S)
        assert cell
        assert f"{number(suppress_count(p.found))}</td>" in cell[0]
        assert f">{number(suppress_count(p.registered))}</td>" in cell[0]
    assert SUPPRESSION_NOTE in html and 'id="pseudonymous-notice"' in html
    (view,) = events(world, "view.case_finding_list")
    assert view.detail["identifiable"] is False and view.detail["rows"] == expected.total
    assert view.purpose.startswith("commissioning")


def test_the_commissioning_index_counts_are_suppressed(world: World) -> None:
    objectors = _objectors(world, cf.run_list(world.store, LIST))
    html = client_as(world, add_user(world, "commissioner", ())).get("/case-finding").text
    for list_id in STORE_LISTS:
        total = cf.run_list(world.store, list_id, excluding=objectors).total
        card = re.search(rf'data-list="{list_id}".*?</li>', html, re.S)
        assert card
        assert f'data-figure="count">{number(suppress_count(total))}<' in card[0]
    assert SUPPRESSION_NOTE in html


def test_the_commissioning_csv_is_pseudonymised_objector_free_and_audited(world: World) -> None:
    whole = cf.run_list(world.store, LIST)
    objectors = _objectors(world, whole)
    expected = cf.run_list(world.store, LIST, excluding=objectors)
    user = add_user(world, "commissioner", ())

    response = client_as(world, user).get(f"/case-finding/{LIST}.csv")

    assert response.status_code == 200
    assert "pseudonymised" in response.headers["content-disposition"]
    rows = list(csv.DictReader(response.text.splitlines()))
    assert list(rows[0]) == list(cf.PSEUDONYMISED_COLUMNS)
    key = area_key(world.settings)
    names = [r["pseudonym"] for r in rows]
    assert names and _in_order(names, pseudonyms(key, expected.rows["person_id"].to_pylist()))
    withheld = expected.total - len(rows)
    assert response.headers["x-rows-withheld"] == str(withheld)
    assert not {r["pseudonym"] for r in rows} & set(pseudonyms(key, objectors))
    _assert_no_identifier(response.text, nhs_numbers(world.store))
    everyone = pseudonyms(key, expected.rows["person_id"].to_pylist())
    by_name = dict(zip(everyone, expected.people(), strict=True))
    for row in rows:
        identifying = {k: v for k, v in row.items() if k not in ("age_band", "evidence")}
        assert str(by_name[row["pseudonym"]]["person_id"]) not in identifying.values()
    (export,) = events(world, "export.case_finding_list")
    assert export.actor == user.actor and export.detail["identifiable"] is False
    assert export.detail["rows"] == expected.total and export.detail["withheld"] == withheld
    assert export.purpose.startswith("commissioning")


def test_commissioners_cannot_reach_named_lists_by_filtering(world: World) -> None:
    mine, _ = world.practices
    client = client_as(world, add_user(world, "commissioner", ()))
    html = client.get(f"/case-finding/{LIST}?practice={mine}").text
    # The pseudonymised view (on the small area its practice's groups are all smaller than k,
    # so disclosure control may withhold every row): never the named one.
    assert 'id="pseudonymous-notice"' in html and "data-person" not in html


# --- the risk list: a stratification run through the same machinery --------------------------


def ranked_risk(tables: dict[str, ibis.Table], index_date: dt.date) -> ibis.Table:
    """A stand-in risk scorer with many ties (the model itself is tested elsewhere): grows
    with eFI deficits."""
    from joinedup.analytics.scores import efi

    scores = efi.from_store(tables, index_date)
    return scores.select("person_id", risk=ibis.least(scores.deficits.cast("float64") / 20, 1.0))


@pytest.fixture(scope="module")
def risk_home(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a stratification run holding a risk, sharing the small area's store."""
    home = tmp_path_factory.mktemp("risk-home")
    (home / "population").symlink_to(small_area.population_dir, target_is_directory=True)
    stratify(Settings(home=home, database_url=small_area.database_url), risk_scorer=ranked_risk)
    return home


@pytest.fixture
def risk_world(world: World, risk_home: Path) -> tuple[World, StratificationRun]:
    settings = Settings(home=risk_home, database_url=world.settings.database_url)
    from joinedup.analytics.stratify import latest_run

    run = latest_run(settings)
    assert run is not None
    store = PopulationStore(settings.population_dir)
    return replace(world, settings=settings, store=store), run


def test_a_gp_sees_the_risk_list_of_their_own_practice_only(
    risk_world: tuple[World, StratificationRun],
) -> None:
    world, run = risk_world
    mine, other = world.practices
    whole = cf.run_list(world.store, RISK_LIST, run=run)
    expected = cf.run_list(world.store, RISK_LIST, run=run, within_practices={mine})
    theirs = {r["person_id"] for r in whole.people() if r["practice_code"] == other}
    assert expected.total and theirs
    gp = add_user(world, "gp", (mine,))
    client = client_as(world, gp)

    html = client.get(f"/case-finding/{RISK_LIST}").text
    csv_rows = list(csv.DictReader(client.get(f"/case-finding/{RISK_LIST}.csv").text.splitlines()))

    assert re.findall(r'data-person="(\d+)"', html) == [
        str(p) for p in expected.rows["person_id"].to_pylist()
    ]
    assert not people_in(html) & theirs
    assert [int(r["person_id"]) for r in csv_rows] == expected.rows["person_id"].to_pylist()
    assert {r["practice_code"] for r in csv_rows} == {mine}
    assert {r["rank"] for r in csv_rows} == {str(r) for r in expected.rows["rank"].to_pylist()}
    assert client.get(f"/case-finding/{RISK_LIST}?practice={other}").status_code == 403
    view, export = events(world)
    assert view.action == "view.case_finding_list" and export.action == "export.case_finding_list"
    for event in (view, export):
        assert event.detail["rows"] == expected.total and event.purpose == "direct care"
        assert event.detail["scope"]["run_id"] == run.run_id
    index = client.get("/case-finding").text
    card = re.search(rf'data-list="{RISK_LIST}".*?</li>', index, re.S)
    assert card and f'data-figure="count">{number(expected.total)}<' in card[0]


def test_commissioning_sees_the_risk_list_pseudonymised_without_objectors(
    risk_world: tuple[World, StratificationRun],
) -> None:
    world, run = risk_world
    whole = cf.run_list(world.store, RISK_LIST, run=run)
    objectors = _objectors(world, whole)
    expected = cf.run_list(world.store, RISK_LIST, run=run, excluding=objectors)
    key = area_key(world.settings)
    client = client_as(world, add_user(world, "commissioner", ()))

    html = client.get(f"/case-finding/{RISK_LIST}").text
    response = client.get(f"/case-finding/{RISK_LIST}.csv")

    names = pseudonyms(key, expected.rows["person_id"].to_pylist())
    shown = re.findall(r'data-pseudonym="([^"]+)"', html)
    assert shown and _in_order(shown, names) and len(shown) <= PAGE_ROWS
    assert not set(names) & set(pseudonyms(key, objectors))
    _assert_no_identifier(html, nhs_numbers(world.store))
    assert f'data-figure="total">{number(suppress_count(expected.total))}<' in html
    for p in expected.by_practice:
        cell = re.search(rf'data-key="{p.code}".*?</tr>', html, re.S)
        assert cell and f"{number(suppress_count(p.found))}</td>" in cell[0]
    rows = list(csv.DictReader(response.text.splitlines()))
    own = [
        c.name for c in cf.get_definition(RISK_LIST).columns if c.name in whole.rows.column_names
    ]
    assert list(rows[0]) == [*cf.PSEUDONYMISED_COLUMNS, *own]
    assert [r["pseudonym"] for r in rows][: len(shown)] == shown
    tiers = dict(zip(names, expected.rows["tier"].to_pylist(), strict=True))
    assert [r["tier"] for r in rows] == [tiers[r["pseudonym"]] for r in rows]
    _assert_no_identifier(response.text, nhs_numbers(world.store))
    view, export = (
        events(world, "view.case_finding_list")[0],
        events(world, "export.case_finding_list")[0],
    )
    for event in (view, export):
        assert event.detail["identifiable"] is False and event.detail["rows"] == expected.total
        assert event.purpose.startswith("commissioning")
