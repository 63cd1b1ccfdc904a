"""The demo's extended-access hubs: a hub per neighbourhood with bookable slots from today, the
three kinds of rota the PCN week tells apart, and a second run that loads nothing.

Minutes are counted here by hand from the DES hours (weekdays 18:30–20:00 = 90 minutes,
Saturdays 09:00–17:00 = 480, a day 08:00–20:00 = 720), not from the rota code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from joinedup.access.compliance import compliance_week
from joinedup.access.demo import demo_rota, seed_demo_hubs
from joinedup.access.models import Hub, Slot
from joinedup.access.rota import parse_definition
from joinedup.carestore.db import make_engine, session_factory
from joinedup.carestore.models import Organisation
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.carestore_support import migrated

SEVEN_DAYS_8_TO_8 = 2 * (5 * 90 + 480) + 7 * 720
SECOND_GP_ON_SATURDAY = 2 * (5 * 90 + 480) + 480
DES_HOURS_ONLY = 2 * (5 * 90 + 480)


def test_the_three_kinds_of_demo_rota_offer_their_minutes_each_week() -> None:
    today = dt.date(2026, 12, 6)  # a Sunday: the rota starts on Monday 30 November
    places = [(f"NBH0{n}", f"Place {n} Neighbourhood", f"Practice {n}") for n in range(1, 5)]
    definition = parse_definition(demo_rota(places, today))  # the rota service's own checks
    minutes: dict[str, int] = {}
    for line in definition.sessions:
        days = [d for d in line.days() if d < dt.date(2026, 12, 7)]  # the first week
        assert line.from_ == dt.date(2026, 11, 30)
        length = (line.end.hour * 60 + line.end.minute) - (line.start.hour * 60 + line.start.minute)
        minutes[line.hub] = minutes.get(line.hub, 0) + length * len(days)
    assert [minutes[f"HUBNBH0{n}"] for n in range(1, 5)] == [
        SEVEN_DAYS_8_TO_8,
        SECOND_GP_ON_SATURDAY,
        DES_HOURS_ONLY,
        SEVEN_DAYS_8_TO_8,
    ]
    assert definition.hubs[0].name == "Place 1 Extended Access Hub"
    eight = [(f"NBH0{n}", f"Place {n}", f"Practice {n}") for n in range(1, 9)]
    named = [c.name for h in parse_definition(demo_rota(eight, today)).hubs for c in h.clinicians]
    assert len(named) == len(set(named)), "a clinician would be at two hubs at once"


def test_every_neighbourhood_gets_a_bookable_hub_once(small_area: Settings, tmp_path: Path) -> None:
    sessions = session_factory(make_engine(migrated(f"sqlite:///{tmp_path / 'care.db'}")))
    store = PopulationStore(small_area.population_dir)
    sync_organisations(store, sessions)
    today = dt.date.today()
    loaded = seed_demo_hubs(sessions, today)
    assert loaded is not None and loaded.slots > 0
    now = dt.datetime.now(dt.UTC)
    with sessions() as session:
        neighbourhoods = set(
            session.scalars(
                select(Organisation.parent_code).where(Organisation.org_type == "practice")
            )
        )
        hubs = {h.pcn_code: h.id for h in session.scalars(select(Hub))}
        free_ahead = dict(
            session.execute(
                select(Slot.hub_id, func.count())
                .where(Slot.status == "free", Slot.starts_at > now, Slot.bookable_practices)
                .group_by(Slot.hub_id)
            ).all()
        )
    assert set(hubs) == neighbourhoods
    assert all(free_ahead.get(hub, 0) > 0 for hub in hubs.values())  # a receptionist can book
    week = {w.pcn_code: w for w in compliance_week(sessions, store, today)}
    first = min(hubs)
    assert week[first].minutes_offered == SEVEN_DAYS_8_TO_8
    assert week[first].hours_covered == week[first].hours_possible == 84
    assert seed_demo_hubs(sessions, today) is None  # a second demo run loads nothing
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Slot)) == loaded.slots
