"""Who was registered where and when, and how much care they tend to use.

Activity is generated per *unit*: one person's registration with one practice within one
financial year. Each unit's expected count of a service is

    scale × age curve × exp(loadings · drivers + persistence) × end-of-life uplift × days/365

where the drivers are read at the start of the financial year (so they predict, rather than
follow, the year's use): deficits recorded (frailty), long-term conditions diagnosed,
deprivation; and persistence is a person effect plus a year effect that carries over from year
to year (AR(1)), so past use predicts future use, as in real data. `scale` is solved so the
area's rate in the last full financial year equals the published figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from joinedup.population.synthetic.calendar import DAYS_PER_YEAR, HISTORY_YEARS
from joinedup.population.synthetic.conditions import Conditions
from joinedup.population.synthetic.frailty import Frailty
from joinedup.population.synthetic.people import DIED, People
from joinedup.population.synthetic.randomness import Streams, expand

LAST = HISTORY_YEARS - 1  # index of the last full financial year (Calendar.last_full_index)
PERSISTENCE = 0.6  # year-to-year correlation of a person's use beyond their fixed tendency


@dataclass
class Units:
    person: np.ndarray
    practice: np.ndarray
    year: np.ndarray  # financial year index
    start: np.ndarray  # first day
    days: np.ndarray  # number of days (≥ 1)
    registration: np.ndarray  # index into the registrations

    def __len__(self) -> int:
        return self.person.shape[0]

    def take(self, rows: slice) -> Units:
        return Units(
            self.person[rows],
            self.practice[rows],
            self.year[rows],
            self.start[rows],
            self.days[rows],
            self.registration[rows],
        )


@dataclass
class Drivers:
    """Per unit: what drives use of services."""

    age: np.ndarray
    female: np.ndarray
    frailty: np.ndarray  # deficits recorded before the year began
    conditions: np.ndarray  # long-term conditions diagnosed before the year began
    deprivation: np.ndarray
    person_effect: np.ndarray  # fixed tendency to use services
    year_effect: np.ndarray  # this year's deviation, persistent across years
    end_of_life: np.ndarray  # share of the unit in the last year before death

    @property
    def persistence(self) -> np.ndarray:
        return self.person_effect + self.year_effect

    def take(self, rows: slice) -> Drivers:
        return Drivers(
            *(
                getattr(self, f)[rows]
                for f in (
                    "age",
                    "female",
                    "frailty",
                    "conditions",
                    "deprivation",
                    "person_effect",
                    "year_effect",
                    "end_of_life",
                )
            )
        )


def build_units(people: People) -> Units:
    """Registrations cut at financial-year boundaries."""
    edges = people.calendar.fy_edges
    reg_end = np.where(people.reg_end < 0, people.calendar.extract, people.reg_end).astype(np.int64)
    start = np.maximum(people.reg_start[:, None].astype(np.int64), edges[None, :-1])
    end = np.minimum(reg_end[:, None], edges[None, 1:] - 1)
    keep = end >= start
    registration, year = np.nonzero(keep)
    return Units(
        person=people.reg_person[registration],
        practice=people.reg_practice[registration],
        year=year.astype(np.int8),
        start=start[keep].astype(np.int32),
        days=(end[keep] - start[keep] + 1).astype(np.int32),
        registration=registration.astype(np.int64),
    )


def build_drivers(
    people: People, conditions: Conditions, frailty: Frailty, units: Units, streams: Streams
) -> Drivers:
    rng = streams("propensity")
    edges = people.calendar.fy_edges
    n, years = people.n, len(edges) - 1
    person_effect = rng.standard_normal(n)
    shocks = rng.standard_normal((n, years))
    year_effect = np.empty((n, years))
    year_effect[:, 0] = shocks[:, 0]
    for y in range(1, years):  # five years (and a part year): an AR(1) across them
        year_effect[:, y] = (
            PERSISTENCE * year_effect[:, y - 1] + np.sqrt(1 - PERSISTENCE**2) * shocks[:, y]
        )
    frail = np.zeros((n, years), dtype=np.int16)
    ltc = np.zeros((n, years), dtype=np.int16)
    for y in range(years):
        frail[:, y] = frailty.count_before(np.full(n, edges[y]))
        ltc[:, y] = conditions.count_before(edges[y])

    p, year = units.person, units.year
    unit_end = units.start + units.days  # exclusive
    died = people.status[p] == DIED
    last_year_from = people.end[p] - int(DAYS_PER_YEAR)
    overlap = np.clip(
        np.minimum(unit_end, people.end[p] + 1) - np.maximum(units.start, last_year_from), 0, None
    )
    return Drivers(
        age=(units.start - people.dob[p]) / DAYS_PER_YEAR,
        female=people.female[p],
        frailty=frail[p, year].astype(np.float64),
        conditions=ltc[p, year].astype(np.float64),
        deprivation=people.deprivation[p],
        person_effect=person_effect[p],
        year_effect=year_effect[p, year],
        end_of_life=np.where(died, overlap / units.days, 0.0),
    )


def curve(anchors: tuple[tuple[float, float], ...], age: np.ndarray) -> np.ndarray:
    """A rate that varies with age, interpolated between (age, rate) anchors."""
    xs, ys = zip(*anchors, strict=True)
    return np.interp(age, xs, ys)


def person_years_last_year(units: Units) -> float:
    return float(units.days[units.year == LAST].sum()) / DAYS_PER_YEAR


def scaled_rate(
    relative: np.ndarray, units: Units, per_person_year: float, already: float = 0.0
) -> np.ndarray:
    """Scale relative rates so the last full year's expected count is per_person_year × person
    years (less `already` events generated another way)."""
    last = units.year == LAST
    expected = float((relative[last] * units.days[last]).sum()) / DAYS_PER_YEAR
    wanted = max(per_person_year * person_years_last_year(units) - already, 0.0)
    return relative * (wanted / expected if expected > 0 else 0.0)


def chunks(units: Units, size: int = 1_000_000) -> list[slice]:
    """Consecutive runs of units, so the biggest tables are built a piece at a time."""
    return [slice(lo, min(lo + size, len(units))) for lo in range(0, max(len(units), 1), size)]


def draw_events(
    rng: np.random.Generator, units: Units, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts per unit at `rate` per person-year: (unit index, day) of each event."""
    counts = rng.poisson(rate * units.days / DAYS_PER_YEAR)
    unit, _ = expand(counts)
    day = units.start[unit] + np.floor(rng.random(unit.shape[0]) * units.days[unit])
    return unit, day.astype(np.int32)
