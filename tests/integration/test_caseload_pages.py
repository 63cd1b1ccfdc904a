"""The caseload pages in-process: intake from the register through the person gate, a bad
form stores nothing, discharge with a reason, an outsider is refused, and the day and capacity
pages answer without a plan or a rota (the browser test works a whole day)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import RegisterEntry
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.migrate import upgrade
from joinedup.governance.models import User, UserOrganisation
from joinedup.neighbourhood import caseload as cl
from joinedup.neighbourhood.caseload_models import CaseloadEntry
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.reads import organisations, practices_of, registered_person_ids
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as


@dataclass(frozen=True)
class Area:
    settings: Settings
    sessions: sessionmaker[Session]
    hood: str
    other_practice: str
    person: int
    nurse_id: int
    member: int


def _user(sessions: sessionmaker[Session], name: str, org: str) -> int:
    with sessions() as session, session.begin():
        user = User(
            username=name, display_name=name, role="nurse", created_at=dt.datetime.now(dt.UTC)
        )
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=org))
        return int(user.id)


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Area:
    home = tmp_path_factory.mktemp("caseload-pages")
    (home / "population").symlink_to(small_area.population_dir)
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'care.db'}")
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    sync_organisations(store, sessions)
    orgs = organisations(store)
    hood = next(c for c, o in orgs.items() if o.org_type == "neighbourhood")
    practice = next(c for c, o in orgs.items() if o.parent_code == hood)
    # A nurse of another practice (of the same neighbourhood) has no relationship with the person.
    other = next(c for c, o in orgs.items() if o.parent_code == hood and c != practice)
    ids = registered_person_ids(store)[:2000].tolist()
    person = next(p for p, code in practices_of(store, ids).items() if code == practice)
    nurse_id = _user(sessions, "hood-nurse", hood)
    now = dt.datetime.now(dt.UTC)
    with sessions() as session, session.begin():
        session.add(
            RegisterEntry(
                person_id=person,
                practice_code=practice,
                neighbourhood_code=hood,
                status="active",
                source="referral",
                reason="test",
                added_by=nurse_id,
                added_at=now,
                status_changed_at=now,
            )
        )
    actor = principal("nurse", user_id=nurse_id, organisations=(hood,))
    member = cl.add_member(
        sessions,
        actor,
        hood,
        cl.MemberRequest("Ana", "community_trust", "Trust", "district_nurse", base=(53.4, -2.3)),
    )
    return Area(settings, sessions, hood, other, person, nurse_id, member)


def _client(area: Area, user_id: int) -> TestClient:
    app = create_app(area.settings)
    sign_in_as(app, principal("nurse", user_id=user_id))
    return TestClient(app, follow_redirects=False)


def _entry_form(area: Area, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": CSRF_TOKEN,
        "reason": "Leg ulcer",
        "intake_source": "register",
        "acuity": "medium",
        "named_nurse_id": str(area.member),
        "visit_type": "wound_care",
        "visits_per_week": "3",
        "duration_min": "30",
        "window_start": "09:00",
        "window_end": "12:00",
    }
    form.update(changes)
    return form


def _open_entries(area: Area) -> list[CaseloadEntry]:
    with area.sessions() as session:
        return list(
            session.scalars(select(CaseloadEntry).where(CaseloadEntry.discharged_at.is_(None)))
        )


def test_intake_from_the_register_and_discharge(area: Area) -> None:
    client = _client(area, area.nurse_id)
    page = client.get(f"/neighbourhood/caseload/{area.hood}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f"/neighbourhood/people/{area.person}/caseload?intake=register" in page.text

    found = client.get(f"/neighbourhood/caseload/{area.hood}/find?person_id={area.person}")
    assert found.status_code == 303
    assert found.headers["location"].startswith(f"/neighbourhood/people/{area.person}/caseload")
    person_page = client.get(f"/neighbourhood/people/{area.person}/caseload?intake=register")
    assert person_page.status_code == 200
    assert '<option value="register" selected>' in person_page.text

    url = f"/neighbourhood/people/{area.person}/caseload"
    assert client.post(url, data=_entry_form(area, window_end="noon")).status_code == 303
    assert client.post(url, data=_entry_form(area, window_end="09:10")).status_code == 303
    assert _open_entries(area) == []  # refused: not a time; a window shorter than the visit

    assert client.post(url, data=_entry_form(area)).status_code == 303
    (entry,) = _open_entries(area)
    assert (entry.intake_source, entry.window_start, entry.window_end) == ("register", 540, 720)
    page = client.get(f"/neighbourhood/caseload/{area.hood}")
    assert 'id="register-candidates"' not in page.text  # now on the caseload

    discharge = {"csrf_token": CSRF_TOKEN, "entry_id": str(entry.id), "reason": "goals_met"}
    assert client.post(f"{url}/discharge", data=discharge).status_code == 303
    assert _open_entries(area) == []
    assert "Goals met" in client.get(url).text


def test_an_outsider_is_refused_the_person_page(area: Area) -> None:
    outsider = _user(area.sessions, "outsider-nurse", area.other_practice)
    client = _client(area, outsider)
    assert client.get(f"/neighbourhood/people/{area.person}/caseload").status_code == 403
    add = client.post(f"/neighbourhood/people/{area.person}/caseload", data=_entry_form(area))
    assert add.status_code == 403


def test_day_and_capacity_pages_without_a_rota(area: Area) -> None:
    client = _client(area, area.nurse_id)
    day = "2026-12-08"
    page = client.get(f"/neighbourhood/caseload/{area.hood}/visits?day={day}")
    assert page.status_code == 200 and 'id="no-plan"' in page.text
    made = client.post(
        f"/neighbourhood/caseload/{area.hood}/visits/plan",
        data={"csrf_token": CSRF_TOKEN, "day": day},
    )
    assert made.status_code == 303  # "nobody who visits is on the rota", as a flash
    assert (
        'id="options"'
        not in client.get(f"/neighbourhood/caseload/{area.hood}/visits?day={day}").text
    )
    assert client.get(f"/neighbourhood/caseload/{area.hood}/capacity?day={day}").status_code == 200
    assert client.get(f"/neighbourhood/caseload/{area.hood}/visits/nurses/999").status_code == 404
    assert client.get("/neighbourhood/caseload/NOWHERE/visits").status_code == 404
