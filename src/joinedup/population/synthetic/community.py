"""Community health, mental health and social care: contacts and packages of care.

District nurses visit housebound people and care-home residents; therapists see people who
fall or cannot get about, and people just home from hospital; mental health teams see some
people with depression or dementia; intermediate care and reablement follow emergency
admissions of older people; palliative care teams see many people in their last months.
Packages: residential or nursing care for care-home residents, home care for many housebound
and frail people, six weeks of reablement after some discharges. Costs are indicative (PSSRU
order of magnitude): contacts by the minute, packages by the week.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from joinedup.population.synthetic.calendar import (
    DAYS_PER_YEAR,
    Calendar,
    date_array,
)
from joinedup.population.synthetic.conditions import INDEX, Conditions
from joinedup.population.synthetic.costs import Ledger, pounds
from joinedup.population.synthetic.exposure import Drivers, Units, draw_events
from joinedup.population.synthetic.frailty import DEFICIT, Frailty
from joinedup.population.synthetic.people import DIED, People
from joinedup.population.synthetic.randomness import Streams, expand
from joinedup.population.unit_costs import COMMUNITY_PENCE_PER_MINUTE, COMMUNITY_TYPICAL_MINUTES

SERVICES = (
    "district_nursing",
    "community_therapy",
    "community_mental_health",
    "social_care",
    "intermediate_care",
    "palliative_care",
)
CONTACT_SETTINGS = ("home", "clinic", "care_home", "telephone")
PENCE_PER_MINUTE = COMMUNITY_PENCE_PER_MINUTE  # in SERVICES order (population.unit_costs)
MINUTES = COMMUNITY_TYPICAL_MINUTES  # typical length of a contact, by service
PACKAGE_TYPES = ("home_care", "residential", "nursing", "reablement")
LA_FUNDED_CARE_HOME, LA_FUNDED_HOME_CARE = 0.5, 0.75
WEEKLY_POUNDS = {
    "home_care": (320, 120),
    "residential": (820, 90),
    "nursing": (1_050, 120),
    "reablement": (420, 60),
}  # (mean, spread)


@dataclass
class _Contacts:
    calendar: Calendar
    person: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    service: list[np.ndarray] = field(default_factory=list)
    setting: list[np.ndarray] = field(default_factory=list)

    def add(self, person: np.ndarray, day: np.ndarray, service: str, setting: np.ndarray) -> None:
        keep = (day >= self.calendar.start) & (day <= self.calendar.extract)
        self.person.append(person[keep].astype(np.int64))
        self.day.append(day[keep].astype(np.int32))
        self.service.append(np.full(keep.sum(), SERVICES.index(service), dtype=np.int8))
        self.setting.append(np.asarray(setting)[keep].astype(np.int8))


@dataclass
class _Packages:
    person: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    start: list[np.ndarray] = field(default_factory=list)
    end: list[np.ndarray] = field(default_factory=list)  # -1 while open

    def add(self, person: np.ndarray, kind: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        self.person.append(person.astype(np.int64))
        self.kind.append(np.asarray(kind, dtype=np.int8))
        self.start.append(start.astype(np.int64))
        self.end.append(end.astype(np.int64))


def build_community(
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
    discharged_person: np.ndarray,
    discharged_day: np.ndarray,
    streams: Streams,
    ledger: Ledger,
) -> tuple[pa.Table, pa.Table]:
    rng = streams("community")
    packages = _packages(rng, people, frailty, discharged_person, discharged_day)
    contacts = _Contacts(people.calendar)
    _district_nursing(rng, contacts, people, frailty, units, drivers)
    _therapy_and_intermediate_care(
        rng, contacts, people, frailty, units, drivers, discharged_person, discharged_day
    )
    _mental_health(rng, contacts, people, conditions, units, drivers)
    _social_care_reviews(rng, contacts, people, frailty, packages)
    _palliative_care(rng, contacts, people, conditions, frailty)
    return _contact_table(rng, contacts, ledger), _package_table(
        rng, packages, ledger, people.calendar
    )


def _fraction_after(units: Units, onset: np.ndarray) -> np.ndarray:
    """Share of each unit on or after the person's `onset` day (-1: never)."""
    o = onset[units.person]
    end = units.start + units.days
    after = np.clip(end - np.maximum(o, units.start), 0, None) / units.days
    return np.where(o >= 0, after, 0.0)


def _district_nursing(
    rng: np.random.Generator,
    contacts: _Contacts,
    people: People,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
) -> None:
    d = drivers
    ulcer = frailty.deficit_day[:, DEFICIT["efi-skin-ulcer"]]
    rate = (
        26 * _fraction_after(units, frailty.housebound_day)
        + 6 * _fraction_after(units, frailty.care_home_day)
        + 10 * _fraction_after(units, np.where(people.age_at_end >= 65, ulcer, -1))
        + 1.0 * ((d.frailty >= 9) & (d.age >= 75))
        + 0.02 * (d.age >= 65)
    ) * np.exp(0.3 * d.person_effect)
    unit, day = draw_events(rng, units, rate)
    person = units.person[unit]
    in_care_home = (frailty.care_home_day[person] >= 0) & (frailty.care_home_day[person] <= day)
    setting = np.where(in_care_home, 2, np.where(rng.random(person.shape[0]) < 0.8, 0, 1))
    contacts.add(person, day, "district_nursing", setting)


def _therapy_and_intermediate_care(
    rng: np.random.Generator,
    contacts: _Contacts,
    people: People,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
    discharged_person: np.ndarray,
    discharged_day: np.ndarray,
) -> None:
    d = drivers
    falls = np.where(
        people.age_at_end >= 65,
        np.maximum(
            frailty.deficit_day[:, DEFICIT["efi-falls"]],
            frailty.deficit_day[:, DEFICIT["efi-mobility-problems"]],
        ),
        -1,
    )
    # Falls and mobility services, plus musculoskeletal physiotherapy for adults generally.
    rate = 3 * _fraction_after(units, falls) + 0.45 * (d.age >= 18)
    unit, day = draw_events(rng, units, rate)
    person = units.person[unit]
    contacts.add(
        person, day, "community_therapy", np.where(rng.random(person.shape[0]) < 0.6, 0, 1)
    )

    age = (discharged_day - people.dob[discharged_person]) / DAYS_PER_YEAR
    older = age >= 75
    for service, share, mean, weeks in (
        ("community_therapy", 0.25, 4, 6),
        ("intermediate_care", 0.15, 10, 3),
    ):
        chosen = older & (rng.random(discharged_person.shape[0]) < share)
        who, _ = expand(rng.poisson(mean, chosen.sum()) + 1)
        person = discharged_person[chosen][who]
        day = discharged_day[chosen][who] + 1 + np.floor(rng.random(who.shape[0]) * weeks * 7)
        keep = day <= people.end[person]
        contacts.add(person[keep], day[keep], service, np.zeros(keep.sum(), dtype=np.int8))


def _mental_health(
    rng: np.random.Generator,
    contacts: _Contacts,
    people: People,
    conditions: Conditions,
    units: Units,
    drivers: Drivers,
) -> None:
    d = drivers
    age = people.age_at_end
    # Talking therapies and community mental health teams see about a quarter of adults with
    # depression; memory services about a third of people with dementia.
    depression = np.where(
        (age >= 18) & (age < 75) & (rng.random(people.n) < 0.25),
        conditions.diagnosed[:, INDEX["depression"]],
        -1,
    )
    dementia = np.where(rng.random(people.n) < 0.3, conditions.diagnosed[:, INDEX["dementia"]], -1)
    rate = (8 * _fraction_after(units, depression) + 4 * _fraction_after(units, dementia)) * np.exp(
        0.3 * d.person_effect
    )
    unit, day = draw_events(rng, units, rate)
    person = units.person[unit]
    setting = np.searchsorted([0.5, 0.75], rng.random(person.shape[0]), side="right")
    contacts.add(person, day, "community_mental_health", np.array([1, 3, 0])[setting])


def _social_care_reviews(
    rng: np.random.Generator,
    contacts: _Contacts,
    people: People,
    frailty: Frailty,
    packages: _Packages,
) -> None:
    """An assessment when a package starts, then a review about every six months."""
    person = np.concatenate(packages.person)
    start = np.concatenate(packages.start)
    end = np.concatenate(packages.end)
    end = np.where(end < 0, people.calendar.extract, end)
    reviews = np.maximum((end - start) // 182, 0) + 1
    which, k = expand(reviews)
    day = start[which] + 182 * k + np.floor(rng.random(which.shape[0]) * 14)
    person = person[which]
    in_care_home = (frailty.care_home_day[person] >= 0) & (frailty.care_home_day[person] <= day)
    keep = day <= people.end[person]
    contacts.add(person[keep], day[keep], "social_care", np.where(in_care_home, 2, 0)[keep])


def _palliative_care(
    rng: np.random.Generator,
    contacts: _Contacts,
    people: People,
    conditions: Conditions,
    frailty: Frailty,
) -> None:
    cancer = conditions.column("cancer")
    chosen = (people.status == DIED) & (rng.random(people.n) < np.where(cancer, 0.85, 0.55))
    died = np.flatnonzero(chosen)
    who, _ = expand(rng.poisson(np.where(cancer[died], 12, 8)) + 1)
    person = died[who]
    day = people.end[person] - np.floor(rng.random(person.shape[0]) ** 0.7 * 90)
    contacts.add(person, day, "palliative_care", np.where(frailty.care_home[person], 2, 0))


def _packages(
    rng: np.random.Generator,
    people: People,
    frailty: Frailty,
    discharged_person: np.ndarray,
    discharged_day: np.ndarray,
) -> _Packages:
    packages = _Packages()
    closes = np.where(people.status == DIED, people.end, -1).astype(np.int64)

    # Only packages the local authority arranges are recorded: about half of care-home
    # residents and a quarter of people receiving home care pay for their own.
    home = np.flatnonzero(frailty.care_home & (rng.random(people.n) < LA_FUNDED_CARE_HOME))
    nursing = rng.random(home.shape[0]) < 0.35 + 0.1 * (frailty.count[home] >= 13)
    packages.add(home, np.where(nursing, 2, 1), frailty.care_home_day[home], closes[home])

    housebound = frailty.housebound & (rng.random(people.n) < 0.45 * LA_FUNDED_HOME_CARE)
    frail = (
        (frailty.count >= 9)
        & (people.age_at_end >= 65)
        & ~frailty.housebound
        & ~frailty.care_home
        & (rng.random(people.n) < 0.05 * LA_FUNDED_HOME_CARE)
    )
    onset = np.where(
        housebound,
        frailty.housebound_day,
        people.end - np.floor(rng.exponential(1.5 * DAYS_PER_YEAR, people.n)),
    )
    who = np.flatnonzero(housebound | frail)
    start = np.minimum(onset[who] + np.floor(rng.exponential(120, who.shape[0])), people.end[who])
    start = np.maximum(start, people.dob[who] + int(65 * DAYS_PER_YEAR))
    start = np.minimum(start, people.end[who])
    packages.add(who, np.zeros(who.shape[0]), start, closes[who])

    age = (discharged_day - people.dob[discharged_person]) / DAYS_PER_YEAR
    chosen = (age >= 75) & (rng.random(discharged_person.shape[0]) < 0.10)
    person = discharged_person[chosen]
    start = discharged_day[chosen].astype(np.int64) + 1
    end = np.minimum(start + 41, people.end[person])
    extract = people.calendar.extract
    keep = (start <= extract) & (start <= people.end[person])
    end = np.where(end > extract, -1, end)
    packages.add(person[keep], np.full(keep.sum(), 3), start[keep], end[keep])
    return packages


def _contact_table(rng: np.random.Generator, contacts: _Contacts, ledger: Ledger) -> pa.Table:
    person = np.concatenate(contacts.person)
    day = np.concatenate(contacts.day)
    service = np.concatenate(contacts.service).astype(np.int64)
    setting = np.concatenate(contacts.setting).astype(np.int64)
    minutes = np.maximum(np.round(rng.normal(MINUTES[service], MINUTES[service] / 3)), 10).astype(
        np.int64
    )
    minutes = np.where(setting == 3, np.minimum(minutes, 20), minutes)  # telephone calls are short
    pence = (minutes * PENCE_PER_MINUTE[service]).astype(np.int64)
    ledger.add("community", person, day, pence)
    order = np.lexsort((service, day, person))
    return pa.table(
        {
            "contact_id": pa.array(np.arange(1, person.shape[0] + 1, dtype=np.int64)),
            "person_id": pa.array(person[order] + 1),
            "contact_date": date_array(day[order]),
            "service": pa.array(list(SERVICES), pa.string()).take(pa.array(service[order])),
            "setting": pa.array(list(CONTACT_SETTINGS), pa.string()).take(pa.array(setting[order])),
            "duration_minutes": pa.array(minutes[order]),
            "cost": pounds(pence[order]),
        }
    )


def _package_table(
    rng: np.random.Generator, packages: _Packages, ledger: Ledger, calendar: Calendar
) -> pa.Table:
    person = np.concatenate(packages.person)
    kind = np.concatenate(packages.kind).astype(np.int64)
    start = np.concatenate(packages.start)
    end = np.concatenate(packages.end)
    order = np.lexsort((kind, start, person))
    person, kind, start, end = person[order], kind[order], start[order], end[order]
    mean = np.array([WEEKLY_POUNDS[k][0] for k in PACKAGE_TYPES])[kind]
    spread = np.array([WEEKLY_POUNDS[k][1] for k in PACKAGE_TYPES])[kind]
    weekly_pence = np.round(np.clip(rng.normal(mean, spread), 0.25 * mean, 3 * mean) * 100).astype(
        np.int64
    )

    # Cost in each financial year: the package's days in that year × weekly cost / 7.
    last = np.where(end < 0, calendar.extract, end)
    edges = calendar.fy_edges
    for year in range(len(edges) - 1):
        days = np.minimum(last, edges[year + 1] - 1) - np.maximum(start, edges[year]) + 1
        days = np.maximum(days, 0)
        pence = np.round(weekly_pence * days / 7)
        ledger.add_by_year("social_care", person, np.full(person.shape[0], year), pence)
    return pa.table(
        {
            "package_id": pa.array(np.arange(1, person.shape[0] + 1, dtype=np.int64)),
            "person_id": pa.array(person + 1),
            "package_type": pa.array(list(PACKAGE_TYPES), pa.string()).take(pa.array(kind)),
            "start_date": date_array(start),
            "end_date": date_array(np.maximum(end, 0), missing=end < 0),
            "weekly_cost": pounds(weekly_pence),
        }
    )
