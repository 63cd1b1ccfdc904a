"""`joinedup export …` in-process (CliRunner) on the scored small area and a temporary care
store: the named user's role decides what they get, objectors are left out, counts suppressed,
commissioners get pseudonyms, every export is audited "via cli", and mistakes are one line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.analytics import case_finding as cf
from joinedup.analytics import score_distributions as sd
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.errors import UserError
from joinedup.governance.models import User, UserOrganisation
from joinedup.governance.objections import record_objection
from joinedup.governance.pseudonyms import area_key, pseudonyms
from joinedup.interop.cli import export_app
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal
from tests.carestore_support import migrated

LIST = "raised-bp-no-hypertension"
runner = CliRunner()


@dataclass(frozen=True)
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    store: PopulationStore
    practice: str
    objectors: frozenset[int]


def _add_user(sessions: sessionmaker[Session], username: str, role: str, orgs: tuple[str, ...]):
    with sessions() as session, session.begin():
        user = User(
            username=username, display_name=username, role=role, created_at=dt.datetime.now(dt.UTC)
        )
        session.add(user)
        session.flush()
        session.add_all(UserOrganisation(user_id=user.id, org_code=c) for c in orgs)


@pytest.fixture(scope="module")
def world(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> World:
    url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    store = PopulationStore(scored_area.population_dir)
    sync_organisations(store, sessions)
    orgs = pd.read_parquet(store.path("organisations"))
    practice = str(sorted(orgs.org_code[orgs.org_type == "practice"])[0])
    _add_user(sessions, "comm", "commissioner", ())
    _add_user(sessions, "gp-here", "gp", (practice,))
    _add_user(sessions, "gp-nowhere", "gp", ())
    people = [r["person_id"] for r in cf.run_list(store, LIST).people()[:3]]
    recorder = principal("gp", username="recorder")
    for person, kind in zip(people, ("type_1", "national_data_opt_out", "type_1"), strict=True):
        record_objection(sessions, recorder, person, kind)
    settings = Settings(home=scored_area.home, database_url=url)
    return World(settings, sessions, store, practice, frozenset(people))


def export(world: World, *args: str):  # type: ignore[no-untyped-def]
    env = {"JOINEDUP_DATABASE_URL": world.settings.database_url}
    return runner.invoke(export_app, [*args, "--home", str(world.settings.home)], env=env)


def exports_of(world: World, username: str) -> list[AuditEvent]:
    with world.sessions() as session:
        query = select(AuditEvent).where(
            AuditEvent.action.like("export.%"), AuditEvent.actor == f"{username} via cli"
        )
        return list(session.scalars(query.order_by(AuditEvent.id)))


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert isinstance(result.exception, UserError), result.output
    message = str(result.exception)
    assert message and "\n" not in message and "Traceback" not in result.output
    return message


def test_a_commissioner_gets_pseudonyms_without_objectors(world: World) -> None:
    result = export(world, "case-finding", LIST, "--as", "comm")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    expected = cf.run_list(world.store, LIST, excluding=world.objectors)
    key = area_key(world.settings)
    names = [r["pseudonym"] for r in rows]
    everyone = pseudonyms(key, expected.rows["person_id"].to_pylist())
    # Disclosure control (k-anonymity) withholds people still in a small group: the rest are
    # the list's own people in the list's order, and the command says how many it withheld.
    assert names and names == [n for n in everyone if n in set(names)]
    withheld = len(everyone) - len(names)
    assert withheld and f"{withheld:,} pseudonymised row(s) withheld" in result.stderr
    assert not set(names) & set(pseudonyms(key, world.objectors))
    assert "person_id" not in rows[0] and "nhs_number" not in rows[0]
    nhs = set(pd.read_parquet(world.store.path("patients")).nhs_number.astype(str))
    assert not set(re.findall(r"\d{10}", result.stdout)) & nhs
    (event,) = exports_of(world, "comm")
    assert event.action == "export.case_finding_list" and event.actor_role == "commissioner"
    assert event.detail["identifiable"] is False and event.detail["rows"] == expected.total
    assert event.purpose.startswith("commissioning")


def test_a_gp_gets_named_people_of_their_own_practice_only(world: World) -> None:
    result = export(world, "case-finding", LIST, "--as", "gp-here")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    expected = cf.run_list(world.store, LIST, within_practices=frozenset({world.practice}))
    assert [int(r["person_id"]) for r in rows] == expected.rows["person_id"].to_pylist()
    assert world.objectors & {int(r["person_id"]) for r in cf.run_list(world.store, LIST).people()}
    refused = export(world, "case-finding", LIST, "--as", "gp-here", "--practice", "ZZZ999")
    assert refused.exit_code != 0
    one_line_error(refused)


def test_aggregate_exports_are_the_suppressed_figures_without_objectors(
    world: World, tmp_path: Path
) -> None:
    result = export(world, "scores", "--as", "comm")
    assert result.exit_code == 0, result.output
    published = sd.score_distributions(world.settings, world.objectors)
    assert published is not None
    assert result.stdout == sd.distributions_csv(published)
    counts = [r["people"] for r in csv.DictReader(io.StringIO(result.stdout))]
    assert counts and all(c == "" or int(c) % 5 == 0 for c in counts)  # suppressed: 1–7 withheld
    out = tmp_path / "segments.parquet"
    result = export(world, "segments", "--as", "comm", "--format", "parquet", "-o", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    people = [p for p in table.column("people").to_pylist() if p is not None]
    assert table.num_rows > 0 and all(int(p) % 5 == 0 for p in people)
    actions = [e.action for e in exports_of(world, "comm")]
    assert {"export.population.scores", "export.population.segments"} <= set(actions)


def test_fhir_export_needs_a_legitimate_relationship(world: World, tmp_path: Path) -> None:
    patients = pd.read_parquet(world.store.path("patients"), columns=["person_id"])
    person_id = next(
        int(p)
        for p in patients.person_id
        if (found := find_person(world.store, int(p))) and found.practice_code == world.practice
    )
    refused = export(world, "fhir", str(person_id), "--as", "gp-nowhere")
    assert "no legitimate relationship" in one_line_error(refused)
    assert exports_of(world, "gp-nowhere") == []
    out = tmp_path / "person.json"
    result = export(world, "fhir", str(person_id), "--as", "gp-here", "-o", str(out))
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle"
    assert any(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"])
    (event,) = [e for e in exports_of(world, "gp-here") if e.action == "export.fhir.everything"]
    assert event.person_id == person_id and event.purpose == "direct care"


def test_unknown_user_and_list_are_one_line_errors(world: World) -> None:
    assert "nobody" in one_line_error(export(world, "scores", "--as", "nobody"))
    message = one_line_error(export(world, "case-finding", "no-such-list", "--as", "comm"))
    assert "no-such-list" in message
