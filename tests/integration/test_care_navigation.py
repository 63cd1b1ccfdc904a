"""The asset map, the gaps and care navigation on the care store (SQLite and PostgreSQL):
searches by need, term and distance agree with an independent haversine; the synthetic
directory sits around the area's real practices; gaps agree with a recomputation from the ORUK
export; signposting is one audited write, refuses bad input with every reason and writes
nothing, and is counted by practice and need with small numbers suppressed."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import AuditEvent
from joinedup.directory.asset_map import AssetQuery, find_gaps, find_services
from joinedup.directory.importer import SourceFile, import_directory
from joinedup.directory.navigation import (
    Destination,
    SignpostingError,
    record_signposting,
    signposting_report,
)
from joinedup.directory.navigation_models import Signposting
from joinedup.directory.services import export_page
from joinedup.directory.synthetic import seed_directory
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.places import Point
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.auth_support import principal
from tests.directory_support import OTHER_TERM_ID, TERM_ID, as_bytes, page, service, uid

TODAY = dt.date(2026, 12, 6)


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine on a sphere of the mean Earth radius, written here independently."""
    (la1, lo1), (la2, lo2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _load(sessions: sessionmaker[Session], services: list[dict[str, Any]]) -> None:
    report = import_directory(
        sessions, "tester", [SourceFile("f.json", as_bytes(page(services)))], source_name="f.json"
    )
    assert report.rejected == []


# --- finding services ---------------------------------------------------------------------------


def test_search_by_need_term_and_distance_matches_an_independent_computation(
    sessions: sessionmaker[Session],
) -> None:
    origin = (53.0, -1.5)
    offsets = {1: 0.004, 2: 0.012, 3: 0.03, 4: 0.05}  # degrees north: about 0.4, 1.3, 3.3, 5.6 km
    services = [
        service(n, f"Larder {n}", lat=origin[0] + d, lon=origin[1]) for n, d in offsets.items()
    ]
    services.append(service(5, "Walking Group", term_id=OTHER_TERM_ID, description="Walks."))
    services.append(service(6, "Listening Line", lat=None, description="Food parcels by phone."))
    _load(sessions, services)

    near = find_services(
        sessions, AssetQuery(origin=Point(*origin), within_km=3.5, term_id=TERM_ID), TODAY
    )
    expected = sorted(
        (km_between(origin, (origin[0] + d, origin[1])), f"Larder {n}")
        for n, d in offsets.items()
        if km_between(origin, (origin[0] + d, origin[1])) <= 3.5
    )
    assert [c.name for c in near.near] == [name for _, name in expected]
    assert [round(c.distance_km or -1, 6) for c in near.near] == [
        round(km, 6) for km, _ in expected
    ]
    # A service with no physical place is listed apart: distance does not limit it.
    assert [c.name for c in near.remote] == ["Listening Line"]

    # "food" finds services whose term is Food though their name does not say so.
    by_word = find_services(sessions, AssetQuery(need="food"), TODAY)
    assert {c.name for c in by_word.near} == {f"Larder {n}" for n in offsets}
    assert "Walking Group" not in {c.name for c in (*by_word.near, *by_word.remote)}
    card = by_word.near[0]
    assert (card.cost, card.eligibility, card.opening) == (
        "£3.50",
        "Anyone",
        ("Thursday, 10:00 to 13:00",),
    )
    assert card.phones == ("01632 960001",)


# --- the synthetic directory and the gaps -------------------------------------------------------


@pytest.fixture
def seeded(
    sessions: sessionmaker[Session], small_area: Settings
) -> tuple[sessionmaker[Session], PopulationStore]:
    store = PopulationStore(small_area.population_dir)
    sync_organisations(store, sessions)
    seed_directory(sessions, small_area)
    return sessions, store


def _premises(store: PopulationStore) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in store.metadata()["practices"]}


def _physical(exported: dict[str, Any]) -> list[tuple[dict[str, Any], tuple[float, float]]]:
    return [
        (s, (at["location"]["latitude"], at["location"]["longitude"]))
        for s in exported["contents"]
        for at in s["service_at_locations"]
        if at["location"].get("latitude") is not None
    ]


def test_synthetic_services_sit_around_the_areas_real_practices_and_gaps_agree(
    seeded: tuple[sessionmaker[Session], PopulationStore],
) -> None:
    sessions, store = seeded
    premises = _premises(store)
    exported = export_page(sessions)
    physical = _physical(exported)
    assert physical, "the synthetic directory has physical services"
    for _, point in physical:
        nearest = min(km_between(point, (p["latitude"], p["longitude"])) for p in premises.values())
        assert 0.15 <= nearest <= 1.25  # placed 0.2–1.2 km from one of its practices

    within = 2.0
    centres = {}
    for code in {p["neighbourhood"] for p in premises.values()}:
        own = [p for p in premises.values() if p["neighbourhood"] == code]
        centres[code] = (
            sum(p["latitude"] for p in own) / len(own),
            sum(p["longitude"] for p in own) / len(own),
        )
    terms = {a["taxonomy_term"]["name"] for s in exported["contents"] for a in s["attributes"]}
    expected = {
        code: {
            name
            for name in terms
            if not any(
                km_between(centre, point) <= within
                for s, point in physical
                if s["status"] == "active"
                and name in {a["taxonomy_term"]["name"] for a in s["attributes"]}
            )
        }
        for code, centre in centres.items()
    }
    found = {
        g.neighbourhood.code: {x.need.name for x in g.gaps}
        for g in find_gaps(sessions, store, within)
    }
    assert found == expected
    assert any(found.values()), "some needs have no service near some neighbourhood"


# --- care navigation ----------------------------------------------------------------------------


def _navigator(store: PopulationStore, role: str = "care_navigator"):  # type: ignore[no-untyped-def]
    hood = next(iter({p["neighbourhood"] for p in store.metadata()["practices"]}))
    return principal(role, organisations=(hood,), username=f"test-{role}")


def _signposts(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Signposting)) or 0)


def _audit(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "navigation.signpost"))
        )


def test_signposting_refuses_bad_input_whole_is_one_audited_write_and_is_counted_suppressed(
    seeded: tuple[sessionmaker[Session], PopulationStore],
) -> None:
    sessions, store = seeded
    user = _navigator(store)
    practices = sorted(_premises(store))
    exported = export_page(sessions)
    listed = exported["contents"][0]
    food = listed["attributes"][0]["taxonomy_term"]

    def record(practice: str, outcome: str, destination: Destination) -> int:
        return record_signposting(
            sessions,
            user,
            practice_code=practice,
            need_term_id=food["id"],
            destination=destination,
            outcome=outcome,
        )

    with pytest.raises(SignpostingError) as refused:
        record_signposting(
            sessions,
            user,
            practice_code="NOT-MINE",
            need_term_id=uid(999),
            destination=Destination("", service_id=uid(998)),
            outcome="vanished",
        )
    assert refused.value.problems == [
        "choose what happened (the outcome)",
        "choose a practice you work at",
        "choose the caller's need",
        "choose the service the caller was sent to",
    ]
    with pytest.raises(SignpostingError, match="may not record"):
        record_signposting(
            sessions,
            _navigator(store, "commissioner"),
            practice_code=sorted(_premises(store))[0],
            need_term_id="",
            destination=Destination("", practice_service="pharmacy"),
            outcome="signposted",
        )
    assert _signposts(sessions) == 0 and _audit(sessions) == []

    to_listed = Destination(listed["name"], service_id=listed["id"])
    first = record(practices[0], "signposted", to_listed)
    [event] = _audit(sessions)
    assert (event.entity_id, event.actor, event.detail["outcome"]) == (
        str(first),
        "test-care_navigator",
        "signposted",
    )
    for outcome in ["referred"] * 5 + ["gp_needed"] * 2:  # 8 at the first practice, 6 met
        record(practices[0], outcome, to_listed)
    for _ in range(3):
        record(practices[1], "signposted", Destination("", practice_service="pharmacy"))
    report = signposting_report(sessions)
    by_practice = {r.practice_code: r for r in report.rows}
    assert by_practice[practices[0]].need == food["name"]
    assert (by_practice[practices[0]].total, by_practice[practices[0]].met_outside_gp) == (10, None)
    assert (by_practice[practices[1]].total, by_practice[practices[1]].met_outside_gp) == (
        None,
        None,
    )
    assert (report.total, report.met_outside_gp) == (10, 10)  # 11 → 10, 9 → 10
