"""A person's scores page: who may see it, the audit of each view, and what it lists.

Built on a copy of the small area with a stratification run and a trained risk model, and a
migrated SQLite care store with the area's organisations and three users: a GP working in the
person's neighbourhood, a GP working in another neighbourhood, and a commissioner.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import shutil
from dataclasses import dataclass

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.person_scores import person_scores
from joinedup.analytics.risk.features import TABLES as RISK_TABLES
from joinedup.analytics.risk.registry import load_model, score_population, train_admission_model
from joinedup.analytics.stratify import StratificationRun, stratify
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import AuditEvent
from joinedup.governance.models import BreakGlassGrant, User, UserOrganisation
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import find_person
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.formatting import uk_datetime
from tests.auth_support import principal, sign_in_as
from tests.carestore_support import migrated
from tests.html_support import find_table, page_text


@dataclass(frozen=True)
class Area:
    settings: Settings
    run: StratificationRun
    sessions: sessionmaker[Session]
    store: PopulationStore


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Area:
    home = tmp_path_factory.mktemp("person-scores")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
    shutil.copytree(small_area.population_dir, settings.population_dir)
    train_admission_model(settings)
    run = stratify(settings)  # without a risk scorer: the page explains the one person itself
    migrated(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    sync_organisations(store, sessions)
    return Area(settings, run, sessions, store)


@pytest.fixture(scope="module")
def results(area: Area) -> pd.DataFrame:
    return pd.read_parquet(area.run.path / "person_results.parquet")


@pytest.fixture(scope="module")
def person_id(results: pd.DataFrame) -> int:
    """A frail person registered in a neighbourhood, with hospital diagnoses."""
    frail = results[
        results["neighbourhood_code"].notna()
        & (results["efi_deficits"] >= 5)
        & (results["hfrs_score"] > 0)
    ]
    return int(frail.sort_values("person_id")["person_id"].iloc[0])


def _add_user(sessions: sessionmaker[Session], username: str, role: str, org: str) -> int:
    with sessions() as session, session.begin():
        user = User(
            username=username,
            display_name=username,
            role=role,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=org))
        return int(user.id)


def _client(
    area: Area, username: str, role: str, org: str, user_id: int | None = None
) -> TestClient:
    """The app signed in as a user working in `org` (added to the care store unless given)."""
    user_id = user_id or _add_user(area.sessions, username, role, org)
    app = create_app(area.settings)
    who = principal(role, user_id=user_id, username=username, organisations=(org,))
    sign_in_as(app, who)
    return TestClient(app)


@pytest.fixture(scope="module")
def neighbourhoods(area: Area, results: pd.DataFrame, person_id: int) -> tuple[str, str]:
    """The person's neighbourhood, and somewhere else: another neighbourhood, or (the small
    area has only one) a practice the person is not registered at."""
    row = results[results["person_id"] == person_id].iloc[0]
    own = str(row["neighbourhood_code"])
    others = sorted(set(results["neighbourhood_code"].dropna()) - {own})
    if not others:
        others = sorted(set(results["practice_code"]) - {row["practice_code"]})
    return own, str(others[0])


@pytest.fixture(scope="module")
def local_gp(area: Area, neighbourhoods: tuple[str, str]) -> TestClient:
    own, _ = neighbourhoods
    return _client(area, "local-gp", "gp", own)


@pytest.fixture(scope="module")
def distant_gp_id(area: Area, neighbourhoods: tuple[str, str]) -> int:
    return _add_user(area.sessions, "distant-gp", "gp", neighbourhoods[1])


@pytest.fixture(scope="module")
def distant_gp(area: Area, neighbourhoods: tuple[str, str], distant_gp_id: int) -> TestClient:
    return _client(area, "distant-gp", "gp", neighbourhoods[1], distant_gp_id)


@pytest.fixture(scope="module")
def commissioner(area: Area, neighbourhoods: tuple[str, str]) -> TestClient:
    own, _ = neighbourhoods
    return _client(area, "icb", "commissioner", own)


def _views(area: Area, person_id: int) -> list[AuditEvent]:
    with area.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "view.person.scores", AuditEvent.person_id == person_id
                )
            )
        )


def _table_rows(page: str, table_id: str) -> list[str]:
    """The data keys of the body rows of the table `table_id` (none when it is not shown)."""
    table = find_table(page, table_id)
    if table is None:
        return []
    keys = (row.data("item", "group") for row in table.body_rows)
    return [key for key in keys if key is not None]


def test_a_gp_in_the_persons_neighbourhood_sees_the_page_and_the_view_is_audited(
    area: Area, local_gp: TestClient, person_id: int
) -> None:
    before = len(_views(area, person_id))
    response = local_gp.get(f"/people/{person_id}/scores")
    assert response.status_code == 200
    person = find_person(area.store, person_id)
    assert person is not None
    page = page_text(response.text)
    n = person.nhs_number
    assert f"{n[:3]} {n[3:6]} {n[6:]}" in page  # 3-3-4
    assert f"{person.date_of_birth.day} {person.date_of_birth:%B %Y}" in page
    assert person.practice_name and person.practice_name in page
    assert person.neighbourhood_name and person.neighbourhood_name in page
    assert "registered at a practice in an organisation you work in" in page
    views = _views(area, person_id)
    assert len(views) == before + 1
    assert views[-1].actor_role == "gp" and views[-1].actor == "local-gp"
    assert "style=" not in response.text and "<script>" not in response.text


def test_the_listed_efi_deficits_equal_the_runs_deficit_count(
    area: Area, local_gp: TestClient, results: pd.DataFrame, neighbourhoods: tuple[str, str]
) -> None:
    own = results[results["neighbourhood_code"] == neighbourhoods[0]]
    # People with no, few and many deficits, and the most multimorbid.
    picks = {
        int(own.sort_values(["efi_deficits", "person_id"])["person_id"].iloc[i])
        for i in (0, len(own) // 2, -1)
    }
    picks.add(int(own.sort_values(["ltc_count", "person_id"])["person_id"].iloc[-1]))
    for pid in sorted(picks):
        row = results[results["person_id"] == pid].iloc[0]
        response = local_gp.get(f"/people/{pid}/scores")
        assert response.status_code == 200
        deficits = _table_rows(response.text, "efi-deficits")
        assert len(deficits) == row["efi_deficits"], pid
        assert len(_table_rows(response.text, "ltc-conditions")) == row["ltc_count"], pid
        page = page_text(response.text)
        assert f"{int(row['efi_deficits'])} of 36 deficits" in page
        assert row["efi_category"] in page


def test_the_page_lists_each_score_with_its_items(
    area: Area, local_gp: TestClient, person_id: int, results: pd.DataFrame
) -> None:
    row = results[results["person_id"] == person_id].iloc[0]
    scores = person_scores(area.settings, person_id)
    assert scores.efi_count == row["efi_deficits"]
    assert scores.hfrs_score == pytest.approx(row["hfrs_score"])
    assert scores.hfrs_category == row["hfrs_category"]
    assert scores.charlson_score == row["charlson_score"]
    assert scores.cms_score == pytest.approx(row["cms_score"])
    assert scores.ltc_count == row["ltc_count"]
    assert scores.medicines_12m == row["medicines_12m"]
    for group in scores.hfrs_groups:  # every HFRS group has an admission in the look-back
        assert group.dates and all(
            scores.hfrs_lookback_from <= d <= scores.index_date for d in group.dates
        )
    page = local_gp.get(f"/people/{person_id}/scores").text
    assert _table_rows(page, "hfrs-groups") == [g.group for g in scores.hfrs_groups]
    for place in scores.segments:
        assert place.segment_id == row[place.scheme_id]
        assert place.segment_name in page_text(page)
    assert scores.risk is not None and scores.risk.factors  # explained by the trained model
    assert scores.risk.factors_source == "model"
    for factor in scores.risk.factors:
        assert html_lib.escape(factor) in page or factor in page_text(page)


def test_risk_and_factors_equal_scoring_the_whole_area(area: Area, results: pd.DataFrame) -> None:
    """The page scores one person from their own rows; the model on the whole area agrees."""
    model = load_model(area.settings)
    con = connect("duckdb")
    scored = score_population(
        model, read_store(con, area.store, list(RISK_TABLES)), area.run.index_date
    )
    everyone = scored.to_pandas().set_index("person_id")
    ordered = results.sort_values(["ltc_count", "person_id"])["person_id"]
    picks = [int(ordered.iloc[i]) for i in (0, len(ordered) // 3, 2 * len(ordered) // 3, -1)]
    for pid in picks:
        scores = person_scores(area.settings, pid)
        assert scores.risk is not None and scores.risk.risk is not None
        assert scores.risk.risk == pytest.approx(everyone.loc[pid, "risk"], rel=1e-9), pid
        assert list(scores.risk.factors) == list(everyone.loc[pid, "top_factors"]), pid


def test_a_gp_elsewhere_is_refused_with_the_break_glass_link_and_nothing_identifiable(
    area: Area, distant_gp: TestClient, person_id: int
) -> None:
    before = len(_views(area, person_id))
    response = distant_gp.get(f"/people/{person_id}/scores")
    assert response.status_code == 403
    assert f'href="/people/{person_id}/break-glass"' in response.text
    person = find_person(area.store, person_id)
    assert person is not None
    n = person.nhs_number
    body = response.text
    for secret in (
        n,
        f"{n[:3]} {n[3:6]} {n[6:]}",
        person.date_of_birth.isoformat(),
        f"{person.date_of_birth.day} {person.date_of_birth:%B %Y}",
    ):
        assert secret not in body
    assert "deficit" not in body.lower()
    assert len(_views(area, person_id)) == before  # nothing was seen, nothing audited


def test_break_glass_access_shows_the_banner_with_its_expiry(
    area: Area,
    distant_gp: TestClient,
    distant_gp_id: int,
    results: pd.DataFrame,
    neighbourhoods: tuple[str, str],
) -> None:
    own = results[
        (results["neighbourhood_code"] == neighbourhoods[0])
        & (results["practice_code"] != neighbourhoods[1])
    ]
    pid = int(own.sort_values("person_id")["person_id"].iloc[1])
    assert distant_gp.get(f"/people/{pid}/scores").status_code == 403
    now = dt.datetime.now(dt.UTC)
    expires = (now + dt.timedelta(hours=4)).replace(microsecond=0)
    with area.sessions() as session, session.begin():
        session.add(
            BreakGlassGrant(
                user_id=distant_gp_id,
                person_id=pid,
                reason="seen out of hours, unconscious",
                granted_at=now,
                expires_at=expires,
            )
        )
    response = distant_gp.get(f"/people/{pid}/scores")
    assert response.status_code == 200
    assert 'id="break-glass-banner"' in response.text
    assert uk_datetime(expires) in page_text(response.text)
    assert _views(area, pid)[-1].actor == "distant-gp"


def test_a_commissioner_is_refused(area: Area, commissioner: TestClient, person_id: int) -> None:
    before = len(_views(area, person_id))
    response = commissioner.get(f"/people/{person_id}/scores")
    assert response.status_code == 403
    person = find_person(area.store, person_id)
    assert person is not None
    assert person.nhs_number not in response.text
    assert "break-glass" not in response.text
    assert len(_views(area, person_id)) == before


def test_an_unknown_person_is_not_found(local_gp: TestClient) -> None:
    assert local_gp.get("/people/999999999/scores").status_code == 404
