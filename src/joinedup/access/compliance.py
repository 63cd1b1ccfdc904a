"""Enhanced Access compliance of each primary care network (PCN) for one week.

Source: NHS England, "Network Contract Directed Enhanced Service: Contract specification
2022/23 — PCN Requirements and Entitlements", section 8.1 (Enhanced Access, from 1 October
2022): a PCN provides Enhanced Access between 18:30 and 20:00 on weekdays and between 09:00
and 17:00 on Saturdays, at least **60 minutes of appointments per 1,000 PCN Adjusted
Population per week**. The local specification (South West London, A4) asks for bookable
appointments across **08:00–20:00 seven days a week** (84 hours).

What is measured here, from the hub rota in the care store:

* minutes offered: the length of every slot of the PCN's hubs that starts in the week (booked
  or free: capacity offered, as the DES counts it);
* population: the registered list of the PCN's practices on the population store's extract
  date. The DES weights the list (the PCN Adjusted Population, Carr-Hill); the area holds no
  weights, so the unweighted list stands in for it, and the page says so;
* hours covered: the union of the PCN's sessions within 08:00–20:00 of each local day, against
  84 hours; and within the Enhanced Access hours (weekdays 18:30–20:00, Saturday
  09:00–17:00), against their 15.5 hours.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.models import Hub, RotaSession, Slot
from joinedup.access.rota import local_instant
from joinedup.population.reads import list_sizes, organisations
from joinedup.population.store import PopulationStore

#: DES 2022/23 8.1: minutes of Enhanced Access per 1,000 adjusted patients per week.
REQUIRED_MINUTES_PER_1000 = 60
#: The local specification's day: 08:00–20:00, seven days (84 hours a week).
DAY_HOURS = (dt.time(8), dt.time(20))
#: DES Enhanced Access hours by weekday (0 = Monday): 18:30–20:00 weekdays, 09:00–17:00 Saturday.
ENHANCED_HOURS = {d: (dt.time(18, 30), dt.time(20)) for d in range(5)} | {
    5: (dt.time(9), dt.time(17))
}


def week_of(day: dt.date) -> dt.date:
    """The Monday of `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class PcnWeek:
    pcn_code: str
    pcn_name: str
    week: dt.date  # Monday
    minutes_offered: int
    registered: int
    hours_covered: float  # of 84 within 08:00-20:00 × 7
    enhanced_hours_covered: float  # of 15.5 within the DES hours

    @property
    def minutes_per_1000(self) -> float | None:
        return None if not self.registered else self.minutes_offered * 1000 / self.registered

    @property
    def required_minutes(self) -> float:
        return REQUIRED_MINUTES_PER_1000 * self.registered / 1000

    @property
    def meets_requirement(self) -> bool:
        per_1000 = self.minutes_per_1000
        return per_1000 is not None and per_1000 >= REQUIRED_MINUTES_PER_1000

    @property
    def hours_possible(self) -> float:
        return 7 * _hours(*DAY_HOURS)

    @property
    def enhanced_hours_possible(self) -> float:
        return sum(_hours(*window) for window in ENHANCED_HOURS.values())


def _hours(start: dt.time, end: dt.time) -> float:
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60


def compliance_week(
    sessions: sessionmaker[Session], store: PopulationStore, week: dt.date
) -> list[PcnWeek]:
    """Every PCN with a hub, for the week starting on Monday `week`, by PCN name."""
    week = week_of(week)
    start, end = local_instant(week, dt.time()), local_instant(week + dt.timedelta(7), dt.time())
    with sessions() as session:
        minutes = _minutes_offered(session, start, end)
        spans = _session_spans(session, start, end)
        pcns = sorted(set(session.scalars(select(Hub.pcn_code))))
    sizes, orgs = list_sizes(store), organisations(store)
    registered: dict[str, int] = defaultdict(int)
    for code, size in sizes.items():
        parent = orgs[code].parent_code if code in orgs else None
        registered[parent or ""] += size
    rows = [
        PcnWeek(
            pcn,
            orgs[pcn].name if pcn in orgs else pcn,
            week,
            minutes.get(pcn, 0),
            registered.get(pcn, 0),
            _covered(spans.get(pcn, []), week, {d: DAY_HOURS for d in range(7)}),
            _covered(spans.get(pcn, []), week, ENHANCED_HOURS),
        )
        for pcn in pcns
    ]
    return sorted(rows, key=lambda r: r.pcn_name)


def _minutes_offered(session: Session, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    rows = session.execute(
        select(Hub.pcn_code, Slot.starts_at, Slot.ends_at)
        .join(Hub, Hub.id == Slot.hub_id)
        .where(Slot.starts_at >= start, Slot.starts_at < end)
    )
    minutes: dict[str, int] = defaultdict(int)
    for pcn, starts, ends in rows:
        minutes[pcn] += round((ends - starts).total_seconds() / 60)
    return minutes


def _session_spans(
    session: Session, start: dt.datetime, end: dt.datetime
) -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    rows = session.execute(
        select(Hub.pcn_code, RotaSession.starts_at, RotaSession.ends_at)
        .join(Hub, Hub.id == RotaSession.hub_id)
        .where(RotaSession.starts_at < end, RotaSession.ends_at > start)
    )
    spans: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for pcn, starts, ends in rows:
        spans[pcn].append((starts, ends))
    return spans


def _covered(
    spans: Iterable[tuple[dt.datetime, dt.datetime]],
    week: dt.date,
    windows: dict[int, tuple[dt.time, dt.time]],
) -> float:
    """Hours of the week's `windows` (by weekday, local) that at least one span covers."""
    clipped = []
    for offset in range(7):
        day = week + dt.timedelta(days=offset)
        if day.weekday() not in windows:
            continue
        opens, closes = (local_instant(day, t) for t in windows[day.weekday()])
        clipped += [(max(s, opens), min(e, closes)) for s, e in spans if s < closes and e > opens]
    return _union_seconds(clipped) / 3600


def _union_seconds(intervals: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total
