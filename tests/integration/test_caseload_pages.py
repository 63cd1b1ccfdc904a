"""The caseload pages in-process: intake from the register through the person gate, a bad
form stores nothing, discharge with a reason, an outsider is refused, and the day and capacity
pages answer without a plan or a rota (the browser test works a whole day)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.models import RegisterEntry
from joinedup.carestore.models import AuditEvent, Organisation
from joinedup.governance.models import User, UserOrganisation
from joinedup.neighbourhood import caseload as cl
from joinedup.neighbourhood import discharge_intake, team_rota
from joinedup.neighbourhood.caseload_models import CaseloadEntry, RotaShift, TeamMember
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import (
    extract_date,
    find_person,
    organisations,
    practices_of,
    registered_person_ids,
)
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.formatting import UK_TIME_ZONE
from tests.auth_support import CSRF_TOKEN, principal, sign_in_as
from tests.carestore_support import care_home


@dataclass(frozen=True)
class Area:
    settings: Settings
    sessions: sessionmaker[Session]
    hood: str
    other_practice: str
    person: int
    nurse_id: int
    member: int


def _user(sessions: sessionmaker[Session], name: str, org: str, role: str = "nurse") -> int:
    with sessions() as session, session.begin():
        user = User(username=name, display_name=name, role=role, created_at=dt.datetime.now(dt.UTC))
        session.add(user)
        session.flush()
        session.add(UserOrganisation(user_id=user.id, org_code=org))
        return int(user.id)


@pytest.fixture(scope="module")
def area(small_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Area:
    settings, sessions, store = care_home(small_area, tmp_path_factory.mktemp("caseload-pages"))
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

    identity = find_person(PopulationStore(area.settings.population_dir), area.person)
    assert identity is not None  # a referral gives the NHS number, typed as printed
    typed = format_nhs_number(identity.nhs_number)
    found = client.get(f"/neighbourhood/caseload/{area.hood}/find", params={"nhs_number": typed})
    assert found.status_code == 303
    assert found.headers["location"].startswith(f"/neighbourhood/people/{area.person}/caseload")
    slip = client.get(f"/neighbourhood/caseload/{area.hood}/find", params={"nhs_number": "12"})
    assert slip.status_code == 303  # back to the caseload, which says what to fix
    assert slip.headers["location"] == f"/neighbourhood/caseload/{area.hood}"
    person_page = client.get(f"/neighbourhood/people/{area.person}/caseload?intake=register")
    assert person_page.status_code == 200
    assert '<option value="register" selected>' in person_page.text

    url = f"/neighbourhood/people/{area.person}/caseload"
    not_a_time = client.post(url, data=_entry_form(area, window_end="noon"))
    assert not_a_time.status_code == 422 and 'value="noon"' in not_a_time.text  # kept as typed
    assert client.post(url, data=_entry_form(area, window_end="09:10")).status_code == 422
    review = {"next-review-day": "31", "next-review-month": "2", "next-review-year": "2027"}
    not_a_date = client.post(url, data=_entry_form(area, reason="Ulcer, left leg", **review))
    assert not_a_date.status_code == 422
    assert "The next review date must be a real date" in not_a_date.text
    assert 'name="next-review-day" type="text" inputmode="numeric" value="31"' in not_a_date.text
    assert 'value="Ulcer, left leg"' in not_a_date.text
    assert _open_entries(area) == []  # refused: not a time; a short window; not a date

    review["next-review-day"] = "28"
    assert client.post(url, data=_entry_form(area, **review)).status_code == 303
    (entry,) = _open_entries(area)
    assert (entry.intake_source, entry.window_start, entry.window_end) == ("register", 540, 720)
    assert entry.next_review == dt.date(2027, 2, 28)
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
    boxes = "day-day=9&day-month=12&day-year=2026"
    chosen = client.get(f"/neighbourhood/caseload/{area.hood}/visits?{boxes}").text
    assert "Home visits, 9 December 2026" in chosen
    assert "?day=2026-12-08" in chosen and "?day=2026-12-10" in chosen  # previous and next day
    wrong = client.get(f"/neighbourhood/caseload/{area.hood}/rota?day-day=9&day-year=2026").text
    assert "The day must include a month" in wrong and 'value="9"' in wrong
    assert (
        "Rota for 9 December 2026"
        in client.get(f"/neighbourhood/caseload/{area.hood}/rota?day=2026-12-09").text
    )
    assert client.get(f"/neighbourhood/caseload/{area.hood}/visits/nurses/999").status_code == 404
    assert client.get("/neighbourhood/caseload/NOWHERE/visits").status_code == 404


def _member_form(**changes: str) -> dict[str, str]:
    form = {
        "csrf_token": CSRF_TOKEN,
        "display_name": "Bea",
        "organisation_kind": "community_trust",
        "organisation_name": "Synthetic Trust",
        "team_role": "community_nurse",
        "band": "5",
        "skills": "compression, syringe driver",
        "wte": "0.8",
        "base": "",
    }
    form.update(changes)
    return form


def _members(area: Area) -> dict[str, TeamMember]:
    with area.sessions() as session:
        rows = session.scalars(select(TeamMember).where(TeamMember.active)).all()
        return {r.display_name: r for r in rows}


def test_the_team_is_added_to_changed_and_removed(area: Area) -> None:
    client = _client(area, area.nurse_id)
    team_url = f"/neighbourhood/caseload/{area.hood}/team"
    store = PopulationStore(area.settings.population_dir)
    base = team_rota.bases(store, area.hood)[0]
    assert f'<option value="{base.code}">' in client.get(team_url).text

    bad = client.post(team_url, data=_member_form(display_name=" ", band="12", wte="full"))
    assert bad.status_code == 422 and "There is a problem" in bad.text
    for message in ("Enter the team member", "Band must be", "Whole-time equivalent must"):
        assert message in bad.text
    assert 'value="compression, syringe driver"' in bad.text  # what was typed comes back
    assert "Bea" not in _members(area)

    assert client.post(team_url, data=_member_form(base=base.code)).status_code == 303
    bea = _members(area)["Bea"]
    assert (bea.base_lat, bea.base_lon, bea.wte) == (base.lat, base.lon, 0.8)
    assert bea.skills == ["compression", "syringe_driver"]

    member_url = f"{team_url}/{bea.id}"
    assert client.get(member_url).status_code == 200
    edited = client.post(member_url, data=_member_form(base=base.code, band="6", wte="1"))
    assert edited.status_code == 303
    assert (_members(area)["Bea"].band, _members(area)["Bea"].wte) == (6, 1.0)
    no_base = client.post(member_url, data=_member_form(band="6"))
    assert no_base.status_code == 422 and "a member who visits has a base" in no_base.text.lower()

    assert client.post(f"{member_url}/remove", data={"csrf_token": CSRF_TOKEN}).status_code == 303
    assert "Bea" not in _members(area)
    assert client.get(member_url).status_code == 404
    with area.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"caseload_team.edit_member", "caseload_team.remove_member"} <= actions


def test_shifts_are_put_on_the_rota_and_taken_off(area: Area) -> None:
    client = _client(area, area.nurse_id)
    rota_url = f"/neighbourhood/caseload/{area.hood}/rota"
    shift = {
        "csrf_token": CSRF_TOKEN,
        "day": "2026-12-09",
        "member_id": str(area.member),
        "shift_start": "08:00",
        "shift_end": "07:30",
        "break_start": "12:00",
        "break_end": "13:00",
        "break_min": "30",
        "max_visits": "",
    }
    bad = client.post(rota_url, data=shift)
    assert bad.status_code == 422 and "The end time must be after the start time" in bad.text
    assert client.post(rota_url, data={**shift, "break_start": "9"}).status_code == 422
    with area.sessions() as session:
        assert session.scalars(select(RotaShift)).all() == []

    assert client.post(rota_url, data={**shift, "shift_end": "16:30"}).status_code == 303
    page = client.get(f"{rota_url}?day=2026-12-09")
    assert page.status_code == 200 and "08:00–16:30" in page.text
    remove = {"csrf_token": CSRF_TOKEN, "day": "2026-12-09", "member_id": str(area.member)}
    assert client.post(f"{rota_url}/remove", data=remove).status_code == 303
    with area.sessions() as session:
        assert session.scalars(select(RotaShift)).all() == []


def test_recent_emergency_discharges_are_suggested_for_intake(area: Area) -> None:
    store = PopulationStore(area.settings.population_dir)
    last = min(dt.datetime.now(UK_TIME_ZONE).date(), extract_date(store))
    first = last - dt.timedelta(days=discharge_intake.DISCHARGE_DAYS)
    # Worked out here from the Parquet files, independently of the service.
    spells = pd.read_parquet(store.path("hospital_spells"))
    spells["discharge_date"] = pd.to_datetime(spells["discharge_date"]).dt.date
    recent = spells[
        (spells["admission_method"] == "emergency")
        & (spells["discharge_date"] >= first)
        & (spells["discharge_date"] <= last)
    ]
    patients = pd.read_parquet(store.path("patients")).set_index("person_id")
    here = {c for c, o in organisations(store).items() if o.parent_code == area.hood}
    registered = practices_of(store, recent["person_id"].tolist())
    with area.sessions() as session:
        on_caseload = set(
            session.scalars(
                select(CaseloadEntry.person_id).where(CaseloadEntry.discharged_at.is_(None))
            )
        )
        register = set(session.scalars(select(RegisterEntry.person_id)))
    expected = set()
    for person_id in set(recent["person_id"].tolist()):
        born = pd.Timestamp(patients.loc[person_id, "date_of_birth"]).date()
        older = (last.year - born.year - ((last.month, last.day) < (born.month, born.day))) >= 65
        alive = pd.isna(patients.loc[person_id, "date_of_death"])
        eligible = older or person_id in register
        if registered.get(person_id) in here and alive and person_id not in on_caseload:
            expected.update([int(person_id)] if eligible else [])
    assert expected, "the small area has recent emergency discharges in this neighbourhood"

    client = _client(area, area.nurse_id)
    page = client.get(f"/neighbourhood/caseload/{area.hood}")
    table = page.text.split('id="discharge-candidates"')[1].split("</table>")[0]
    shown = {int(k) for k in re.findall(r'data-key="(\d+)"', table)}
    assert shown == expected or (len(shown) == discharge_intake.MOST and shown < expected)
    one = min(shown)
    assert f"/neighbourhood/people/{one}/caseload?intake=hospital_discharge" in table
    person_page = client.get(f"/neighbourhood/people/{one}/caseload?intake=hospital_discharge")
    assert person_page.status_code == 200  # the person gate lets the hood's nurse in
    assert '<option value="hospital_discharge" selected>' in person_page.text


def test_a_social_worker_sees_their_neighbourhoods_caseload_read_only(area: Area) -> None:
    social = _user(area.sessions, "hood-social-worker", area.hood, role="social_worker")
    app = create_app(area.settings)
    sign_in_as(app, principal("social_worker", user_id=social))
    client = TestClient(app, follow_redirects=False)
    page = client.get(f"/neighbourhood/caseload/{area.hood}")
    assert page.status_code == 200 and 'id="read-only"' in page.text
    assert 'id="find-person"' not in page.text and 'id="discharge-candidates"' not in page.text
    listed = client.get("/neighbourhood/caseload").text
    assert f'href="/neighbourhood/caseload/{area.hood}"' in listed
    assert client.get(f"/neighbourhood/caseload/{area.hood}/team").status_code == 403

    # A social worker of another neighbourhood (the small area has one: add a second).
    with area.sessions() as session, session.begin():
        session.add(
            Organisation(
                org_code="SYNN99",
                name="Elsewhere",
                org_type="neighbourhood",
                parent_code=None,
                active=True,
                synced_at=dt.datetime.now(dt.UTC),
            )
        )
    elsewhere = _user(area.sessions, "elsewhere-social-worker", "SYNN99", role="social_worker")
    sign_in_as(app, principal("social_worker", user_id=elsewhere, organisations=("SYNN99",)))
    assert client.get(f"/neighbourhood/caseload/{area.hood}").status_code == 403
    listed = client.get("/neighbourhood/caseload").text
    assert f'href="/neighbourhood/caseload/{area.hood}"' not in listed
    assert 'href="/neighbourhood/caseload/SYNN99"' in listed
