"""How the hubs' capacity is used, from the care store's slots and appointments.

Definitions (over the slots that start in a period, per hub):

* **fill rate** — slots booked (an appointment not cancelled: booked, attended or did not
  attend) ÷ slots offered;
* **booked the same day** — of those appointments, the ones booked on the (local) day their
  slot is, from the booking's own date (`Appointment.created_at`): the hub's part of same-day
  access (GPAD's "same day" band; A5 is measured from the population store, `same_day`);
* **utilisation** — slots attended ÷ slots offered whose time has passed (capacity used, as
  NHS England's GP appointment data counts appointments attended against those available);
* **DNA rate** — appointments not attended ÷ appointments with an outcome (attended or DNA),
  also by GPAD category, by mode and by the person's deprivation (IMD quintile: deciles 1–2
  are quintile 1, the most deprived, from the population store; "Not known" without one);
* **time to third next available appointment** (TTTNA; Institute for Healthcare Improvement,
  "Third Next Available Appointment" measure) — from now, the days until the start of the
  third free slot a practice may book at the hub: the third rather than the first, because
  the first is often a chance cancellation.

Counts leave here raw; the page publishes them through `governance.suppression`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.booking import bookable_by
from joinedup.access.models import Appointment, Hub, Slot
from joinedup.access.rota import LOCAL_ZONE
from joinedup.population.reads import imd_deciles
from joinedup.population.store import PopulationStore

#: An appointment's outcome counts once its slot has started.
_LIVE = ("booked", "attended", "dna")


@dataclass(frozen=True)
class HubUse:
    hub_code: str
    hub_name: str
    offered: int
    booked: int  # booked, attended or did not attend
    booked_same_day: int  # of those, booked on the local day of their slot
    past: int  # offered slots whose time has passed
    attended: int
    dna: int
    third_next_available_days: float | None

    @property
    def with_outcome(self) -> int:
        return self.attended + self.dna


@dataclass(frozen=True)
class DnaCount:
    """Appointments with an outcome in one GPAD category or mode, and how many were missed."""

    group: str
    with_outcome: int
    dna: int


@dataclass(frozen=True)
class HubMeasures:
    hubs: list[HubUse]
    dna_by_category: list[DnaCount]
    dna_by_mode: list[DnaCount]
    #: Empty unless a population store was given.
    dna_by_deprivation: list[DnaCount] = field(default_factory=list)


NOT_KNOWN = "Not known"
QUINTILE_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


def hub_measures(
    sessions: sessionmaker[Session],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    store: PopulationStore | None = None,
) -> HubMeasures:
    """Every hub's use of the slots starting in [start, end), and TTTNA from `now`."""
    with sessions() as session:
        rows = session.execute(
            select(
                Hub.code,
                Hub.name,
                Slot.id,
                Slot.starts_at,
                Slot.category,
                Slot.mode,
                Appointment.status,
                Appointment.person_id,
                Appointment.created_at,
            )
            .join(Hub, Hub.id == Slot.hub_id)
            .outerjoin(
                Appointment,
                (Appointment.slot_id == Slot.id) & Appointment.status.in_(_LIVE),
            )
            .where(Slot.starts_at >= start, Slot.starts_at < end)
        ).all()
        names: dict[str, str] = {
            code: name for code, name in session.execute(select(Hub.code, Hub.name))
        }
        third = {code: _third_next(session, code, now) for code in names}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    mode: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, _, _, starts_at, slot_category, slot_mode, status, _, booked_at in rows:
        hub = counts[code]
        hub["offered"] += 1
        hub["past"] += starts_at <= now
        if status is not None:
            hub["booked"] += 1  # booked, attended or did not attend: the slot was filled
            hub["booked_same_day"] += _local_day(booked_at) == _local_day(starts_at)
        if status in ("attended", "dna"):
            hub[status] += 1
        if status in ("attended", "dna"):
            for table, key in ((category, slot_category), (mode, slot_mode)):
                table[key][0] += 1
                table[key][1] += status == "dna"
    hubs = [
        HubUse(
            code,
            name,
            counts[code]["offered"],
            counts[code]["booked"],
            counts[code]["booked_same_day"],
            counts[code]["past"],
            counts[code]["attended"],
            counts[code]["dna"],
            third[code],
        )
        for code, name in sorted(names.items(), key=lambda item: item[1])
    ]
    outcomes = [(r.person_id, r.status) for r in rows if r.status in ("attended", "dna")]
    by_deprivation = _dna_by_deprivation(store, outcomes) if store is not None else []
    return HubMeasures(hubs, _dna_counts(category), _dna_counts(mode), by_deprivation)


def _local_day(instant: dt.datetime) -> dt.date:
    return instant.astimezone(LOCAL_ZONE).date()


def _dna_by_deprivation(
    store: PopulationStore, outcomes: Iterable[tuple[int, str]]
) -> list[DnaCount]:
    outcomes = list(outcomes)
    deciles = imd_deciles(store, (person for person, _ in outcomes))
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for person, status in outcomes:
        decile = deciles.get(person)
        key = QUINTILE_LABELS[(decile + 1) // 2] if decile else NOT_KNOWN
        table[key][0] += 1
        table[key][1] += status == "dna"
    return _dna_counts(table)


def _dna_counts(table: dict[str, list[int]]) -> list[DnaCount]:
    return [DnaCount(group, n, dna) for group, (n, dna) in sorted(table.items())]


def _third_next(session: Session, hub_code: str, now: dt.datetime) -> float | None:
    """Days from `now` to the start of the hub's third next free slot a practice may book."""
    starts = session.scalars(
        select(Slot.starts_at)
        .join(Hub, Hub.id == Slot.hub_id)
        .where(
            Hub.code == hub_code,
            Slot.status == "free",
            Slot.starts_at > now,
            bookable_by("practice", now),
        )
        .order_by(Slot.starts_at)
        .offset(2)
        .limit(1)
    ).first()
    return None if starts is None else (starts - now).total_seconds() / 86_400
