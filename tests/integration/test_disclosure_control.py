"""Every pseudonymised output on the scored small area is k-anonymous (issue 14).

Runs each pseudonymised export and page a commissioner can reach — every case-finding list as
`joinedup export case-finding --as`, as the web CSV and as the page, for the whole area and for
each practice and neighbourhood; the people behind every drillable practice-variation count —
and counts, independently of `joinedup.governance.disclosure`, the smallest equivalence class
over the quasi-identifiers shown (age band, sex and place). It must be at least k, no exact age
may leave, and what was withheld must be said and add up.

Score distributions and segments (`joinedup export scores|segments`) are counts, not rows: they
go through small-number suppression (test_aggregate_governance, test_exports) and carry no
pseudonym, so they have no equivalence classes to measure.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import latest_run
from joinedup.analytics.variation import matrix as vm
from joinedup.analytics.variation.indicators import INDICATORS
from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.disclosure import DEFAULT_K
from joinedup.governance.models import User
from joinedup.interop.cli import export_app
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import principal, sign_in_as
from tests.carestore_support import migrated

K = DEFAULT_K
LIST_QUASI_IDENTIFIERS = ("age_band", "sex", "practice_code", "neighbourhood_code")
BANDS = {f"{low}-{low + 4}" for low in range(0, 90, 5)} | {"90+"}


@dataclass(frozen=True)
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    store: PopulationStore
    client: TestClient
    practices: tuple[str, ...]
    neighbourhoods: tuple[str, ...]


@pytest.fixture(scope="module")
def world(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> World:
    url = f"sqlite:///{tmp_path_factory.mktemp('disclosure') / 'care.db'}"
    migrated(url)
    sessions = session_factory(make_engine(url))
    store = PopulationStore(scored_area.population_dir)
    sync_organisations(store, sessions)
    with sessions() as session, session.begin():
        user = User(
            username="comm",
            display_name="comm",
            role="commissioner",
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        user_id = user.id
    settings = Settings(home=scored_area.home, database_url=url)
    app = create_app(settings)
    sign_in_as(app, principal("commissioner", user_id=user_id, username="comm"))
    orgs = pd.read_parquet(store.path("organisations"))
    codes = {kind: tuple(sorted(orgs.org_code[orgs.org_type == kind])) for kind in orgs.org_type}
    return World(
        settings,
        sessions,
        store,
        TestClient(app),
        codes["practice"],
        codes["neighbourhood"],
    )


def smallest_class(rows: Iterable[Mapping[str, str]], columns: tuple[str, ...]) -> int:
    sizes = Counter(tuple(row[c] for c in columns) for row in rows)
    return min(sizes.values())


def assert_k_anonymous(rows: list[dict[str, str]], columns: tuple[str, ...]) -> None:
    if not rows:
        return
    assert "age" not in rows[0]
    assert {r["age_band"] for r in rows} <= BANDS
    assert smallest_class(rows, columns) >= K


def lists(world: World) -> list[str]:
    run = latest_run(world.settings)
    return [d.id for d in cf.list_definitions() if not cf.unavailable_reason(d, run)]


def scopes(world: World) -> list[dict[str, str]]:
    return [
        {},
        *({"practice": p} for p in world.practices),
        *({"neighbourhood": n} for n in world.neighbourhoods),
    ]


def test_every_case_finding_export_is_k_anonymous(world: World) -> None:
    runner = CliRunner()
    env = {"JOINEDUP_DATABASE_URL": world.settings.database_url}
    measured = 0
    for list_id in lists(world):
        for scope in scopes(world):
            options = [a for kind, code in scope.items() for a in (f"--{kind}", code)]
            args = ["case-finding", list_id, "--as", "comm", *options]
            result = runner.invoke(export_app, [*args, "--home", str(world.settings.home)], env=env)
            assert result.exit_code == 0, result.output
            rows = list(csv.DictReader(io.StringIO(result.stdout)))
            assert_k_anonymous(rows, LIST_QUASI_IDENTIFIERS)
            found = cf.run_list(world.store, list_id, run=latest_run(world.settings), **scope)
            withheld = found.total - len(rows)
            assert withheld >= 0
            if withheld:
                assert f"{withheld:,} pseudonymised row(s) withheld" in result.stderr
            measured += len(rows)
    assert measured  # the control leaves something to measure


def test_every_case_finding_page_and_csv_is_k_anonymous(world: World) -> None:
    measured = 0
    for list_id in lists(world):
        for scope in scopes(world):
            response = world.client.get(f"/case-finding/{list_id}.csv", params=scope)
            assert response.status_code == 200
            rows = list(csv.DictReader(response.text.splitlines()))
            assert_k_anonymous(rows, LIST_QUASI_IDENTIFIERS)
            page = world.client.get(f"/case-finding/{list_id}", params=scope).text
            shown = re.findall(r'data-pseudonym="([^"]+)"', page)
            # The page shows the CSV's first rows, each with its generalised age band.
            assert shown == [r["pseudonym"] for r in rows][: len(shown)]
            for row in rows[: len(shown)]:
                cells = re.search(rf'data-pseudonym="{row["pseudonym"]}">(.*?)</tr>', page, re.S)
                assert cells and f">{row['age_band']}</td>" in cells[1]
            withheld = int(response.headers["x-rows-withheld"])
            if withheld:
                assert f'data-figure="withheld">{withheld:,}<' in page
            measured += len(rows)
    assert measured


def test_the_people_behind_every_count_are_k_anonymous(world: World) -> None:
    measured = 0
    for indicator in (i for i in INDICATORS if i.drillable):
        for practice in world.practices:
            url = f"/commissioning/practices/{practice}/{indicator.id}/people"
            page = world.client.get(url)
            assert page.status_code == 200, url
            body = re.search(r'<tbody class="nhsuk-table__body">(.*?)</tbody>', page.text, re.S)
            assert body
            rows = [
                dict(zip(("age_band", "sex"), cells, strict=True))
                for cells in re.findall(
                    r'<td class="nhsuk-table__cell nhsuk-table__cell--numeric">([^<]*)</td>\s*'
                    r'<td class="nhsuk-table__cell">([^<]*)</td>',
                    body[1],
                )
            ]
            assert len(rows) == body[1].count("data-pseudonym")
            assert_k_anonymous(rows, ("age_band", "sex"))
            counted = len(vm.people_behind(world.store, practice, indicator.id))
            if counted and not rows:
                assert 'data-figure="withheld"' in page.text
            measured += len(rows)
    assert measured


def test_before_the_control_the_same_outputs_were_not_k_anonymous(world: World) -> None:
    """The measurement can fail: the exact age, sex and practice of the same people (what the
    outputs carried before) have classes smaller than k."""
    run = latest_run(world.settings)
    rows = [
        {k: str(v) for k, v in person.items()}
        for list_id in lists(world)
        for person in cf.run_list(world.store, list_id, run=run).people()
    ]
    assert smallest_class(rows, ("age", "sex", "practice_code")) < K
