"""Hospital activity: admitted spells and A&E attendances (diagnoses: diagnoses.py).

Emergency admissions rise steeply with age, frailty and multimorbidity and cluster in the last
year of life; about half of deaths happen in hospital at the end of an emergency spell. Length
of stay rises with age and frailty. A spell's primary diagnosis follows the person's conditions
and secondary diagnoses follow the person's record (see diagnoses.py). Most emergency
admissions arrive through A&E.
Costs are indicative national-tariff magnitudes in whole pence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from joinedup.population.synthetic.calendar import (
    DAYS_PER_YEAR,
    Calendar,
    date_array,
)
from joinedup.population.synthetic.conditions import INDEX, Conditions
from joinedup.population.synthetic.costs import Ledger, pounds
from joinedup.population.synthetic.diagnoses import (
    CHEMOTHERAPY,
    DIES_IN_SPELL,
    ELECTIVE,
    EMERGENCY,
    HRG,
    MATERNITY,
    METHODS,
    ORDINARY,
    IcdCodes,
    deficits_before,
    diagnosis_table,
    primary_diagnoses,
)
from joinedup.population.synthetic.exposure import (
    LAST,
    Drivers,
    Units,
    curve,
    draw_events,
    scaled_rate,
)
from joinedup.population.synthetic.frailty import Frailty
from joinedup.population.synthetic.people import DIED, People
from joinedup.population.synthetic.programme import PlantedProgramme
from joinedup.population.synthetic.randomness import Streams, expand
from joinedup.population.synthetic.reference import ConceptCodes
from joinedup.population.unit_costs import AE_ATTENDANCE_PENCE, spell_pence

EMERGENCY_RATE = 0.100  # emergency admissions per person-year (England ~100 per 1,000)
ELECTIVE_RATE = 0.110  # elective and day-case admissions per person-year
BIRTH_RATE = 0.0105  # deliveries per person-year
AE_RATE = 0.400  # A&E attendances per person-year, including those admitted
VIA_AE = 0.75  # share of emergency admissions that arrive through A&E
DIE_IN_HOSPITAL = (0.5, 0.25)  # share of deaths in hospital: living at home, in a care home
PROVIDERS = ("SYNTR1", "SYNTR2", "SYNTR3")  # local acute trust, neighbouring, tertiary centre
PROVIDER_SHARES = np.array([0.85, 0.12, 0.03])

EMERGENCY_CURVE = (
    (0, 0.2),
    (1, 0.08),
    (5, 0.04),
    (15, 0.05),
    (25, 0.05),
    (45, 0.07),
    (65, 0.14),
    (75, 0.25),
    (85, 0.45),
    (95, 0.6),
)
ELECTIVE_CURVE = (
    (0, 0.03),
    (15, 0.04),
    (30, 0.08),
    (50, 0.15),
    (65, 0.25),
    (75, 0.3),
    (85, 0.22),
    (95, 0.12),
)
BIRTH_CURVE = ((15, 0.0), (18, 0.03), (25, 0.08), (30, 0.1), (35, 0.07), (40, 0.025), (45, 0.0))
AE_CURVE = (
    (0, 0.7),
    (1, 0.5),
    (5, 0.3),
    (15, 0.35),
    (20, 0.45),
    (30, 0.35),
    (50, 0.3),
    (70, 0.4),
    (80, 0.6),
    (90, 0.9),
)


@dataclass
class Hospital:
    spells: pa.Table
    diagnoses: pa.Table
    attendances: pa.Table
    discharged_person: np.ndarray  # emergency spells ending alive: for post-discharge care
    discharged_day: np.ndarray


def build_hospital(
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
    codes: dict[str, ConceptCodes],
    streams: Streams,
    ledger: Ledger,
    programme: PlantedProgramme | None = None,
) -> Hospital:
    rng = streams("hospital")
    d = drivers
    terminal_person, terminal_day, terminal_los = _terminal_spells(rng, people, frailty)
    terminal_last = int(_in_last_year(terminal_day, people.calendar).sum())

    emergency_rel = (
        curve(EMERGENCY_CURVE, d.age)
        * np.exp(
            0.06 * np.minimum(d.frailty, 15)
            + 0.1 * np.minimum(d.conditions, 8)
            + 0.3 * d.deprivation
            + 0.35 * d.persistence
        )
        * (1 + 2.0 * d.end_of_life)
    )
    e_unit, e_day = draw_events(
        rng, units, scaled_rate(emergency_rel, units, EMERGENCY_RATE, terminal_last)
    )
    elective_rel = curve(ELECTIVE_CURVE, d.age) * np.exp(
        0.03 * np.minimum(d.frailty, 15)
        + 0.1 * np.minimum(d.conditions, 8)
        - 0.1 * d.deprivation
        + 0.4 * d.persistence
    )
    l_unit, l_day = draw_events(rng, units, scaled_rate(elective_rel, units, ELECTIVE_RATE))
    birth_rel = curve(BIRTH_CURVE, d.age) * d.female
    b_unit, b_day = draw_events(rng, units, scaled_rate(birth_rel, units, BIRTH_RATE))
    c_person, c_day = _chemotherapy(rng, people, conditions)

    person = np.concatenate(
        [
            terminal_person,
            units.person[e_unit],
            units.person[l_unit],
            units.person[b_unit],
            c_person,
        ]
    )
    admitted = np.concatenate([terminal_day, e_day, l_day, b_day, c_day]).astype(np.int64)
    method = np.concatenate(
        [
            np.full(terminal_person.shape[0], EMERGENCY),
            np.full(e_unit.shape[0], EMERGENCY),
            np.full(l_unit.shape[0], ELECTIVE),
            np.full(b_unit.shape[0], MATERNITY),
            np.full(c_person.shape[0], ELECTIVE),
        ]
    )
    kind = np.concatenate(
        [
            np.full(terminal_person.shape[0], DIES_IN_SPELL),
            np.full(e_unit.shape[0] + l_unit.shape[0] + b_unit.shape[0], ORDINARY),
            np.full(c_person.shape[0], CHEMOTHERAPY),
        ]
    ).astype(np.int8)
    age = (admitted - people.dob[person]) / DAYS_PER_YEAR
    frail = deficits_before(frailty, person, admitted)
    los = _length_of_stay(rng, method, kind, age, frail)
    los[kind == DIES_IN_SPELL] = terminal_los

    person, admitted, method, kind, los = _untangle(person, admitted, method, kind, los, people)
    if programme is not None:  # before anything is derived from the spells (see programme.py)
        kept = programme.keeps(person, admitted, method == EMERGENCY)
        person, admitted, method, kind, los = (
            a[kept] for a in (person, admitted, method, kind, los)
        )
    age = (admitted - people.dob[person]) / DAYS_PER_YEAR
    discharged = np.minimum(admitted + los, np.minimum(people.end[person], people.calendar.extract))
    discharged[kind == DIES_IN_SPELL] = people.end[person[kind == DIES_IN_SPELL]]
    los = discharged - admitted

    vocabulary = IcdCodes()
    primary = primary_diagnoses(
        rng, vocabulary, people, conditions, frailty, person, admitted, method, kind, age
    )
    pence = _spell_cost(method, kind, los, age)
    ledger.add("inpatient", person, admitted, pence)
    provider = np.searchsorted(
        np.cumsum(PROVIDER_SHARES), rng.random(person.shape[0]), side="right"
    ).clip(0, 2)
    # Chemotherapy is given locally or, for three in ten, at the tertiary cancer centre.
    tertiary = rng.random(person.shape[0]) < 0.3
    provider = np.where(kind == CHEMOTHERAPY, np.where(tertiary, 2, 0), provider)
    hrg = np.array([HRG.get(w) for w in vocabulary.words], dtype=object)[primary]
    spell_id = np.arange(1, person.shape[0] + 1, dtype=np.int64)
    spells = pa.table(
        {
            "spell_id": pa.array(spell_id),
            "person_id": pa.array(person + 1),
            "provider_code": pa.array(list(PROVIDERS), pa.string()).take(pa.array(provider)),
            "admission_date": date_array(admitted),
            "discharge_date": date_array(discharged),
            "admission_method": pa.array(list(METHODS), pa.string()).take(pa.array(method)),
            "length_of_stay": pa.array(los.astype(np.int64)),
            "hrg_code": pa.array(hrg, pa.string()),
            "cost": pounds(pence),
        }
    )
    diagnoses = diagnosis_table(
        rng,
        vocabulary,
        people,
        conditions,
        frailty,
        codes,
        spell_id,
        person,
        admitted,
        primary,
        method,
        age,
    )
    emergency = method == EMERGENCY
    attendances = _attendances(
        rng, people, units, drivers, person[emergency], admitted[emergency], ledger
    )
    alive = emergency & (kind != DIES_IN_SPELL)
    return Hospital(spells, diagnoses, attendances, person[alive], discharged[alive])


def _in_last_year(day: np.ndarray, calendar: Calendar) -> np.ndarray:
    edges = calendar.fy_edges
    return (day >= edges[LAST]) & (day < edges[LAST + 1])


def _terminal_spells(
    rng: np.random.Generator, people: People, frailty: Frailty
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spell a person dies in: admitted up to a few weeks before death."""
    died = people.status == DIED
    share = np.where(frailty.care_home, DIE_IN_HOSPITAL[1], DIE_IN_HOSPITAL[0])
    who = np.flatnonzero(died & (rng.random(people.n) < share))
    los = rng.geometric(1 / 9, who.shape[0]).astype(np.int64)
    window_start = people.calendar.start
    last_start = np.full(people.n, window_start, dtype=np.int64)
    np.maximum.at(last_start, people.reg_person, people.reg_start)
    admitted = np.maximum(people.end[who] - los, np.maximum(last_start[who], window_start))
    return who, admitted.astype(np.int64), (people.end[who] - admitted).astype(np.int64)


def _chemotherapy(
    rng: np.random.Generator, people: People, conditions: Conditions
) -> tuple[np.ndarray, np.ndarray]:
    """Six three-weekly day cases for most cancers diagnosed in the window."""
    dx = conditions.diagnosed[:, INDEX["cancer"]].astype(np.int64)
    who = np.flatnonzero((dx >= people.calendar.start) & (rng.random(people.n) < 0.6))
    person, cycle = expand(np.full(who.shape[0], 6))
    person = who[person]
    day = dx[person] + 30 + 21 * cycle
    keep = (day <= np.minimum(people.end[person], people.calendar.extract)) & (
        day >= people.first_registered[person]
    )
    return person[keep], day[keep]


def _length_of_stay(
    rng: np.random.Generator,
    method: np.ndarray,
    kind: np.ndarray,
    age: np.ndarray,
    frail: np.ndarray,
) -> np.ndarray:
    n = method.shape[0]
    mean = np.exp(0.9 + 0.02 * np.maximum(age - 50, 0) + 0.04 * frail)
    zero = rng.random(n) < np.clip(0.45 - 0.005 * np.maximum(age - 40, 0), 0.1, 0.45)
    emergency = np.where(zero, 0, 1 + rng.negative_binomial(1.2, 1.2 / (1.2 + mean), n))
    day_case = rng.random(n) < 0.75
    elective = np.where(day_case, 0, 1 + rng.poisson(2.5 + 0.03 * np.maximum(age - 50, 0), n))
    birth = rng.poisson(1.5, n)
    los = np.select([method == EMERGENCY, method == ELECTIVE], [emergency, elective], birth)
    return np.where(kind == CHEMOTHERAPY, 0, np.minimum(los, 150)).astype(np.int64)


def _untangle(
    person: np.ndarray,
    admitted: np.ndarray,
    method: np.ndarray,
    kind: np.ndarray,
    los: np.ndarray,
    people: People,
) -> tuple[np.ndarray, ...]:
    """One person's spells must not overlap: order them, drop same-day repeats and anything
    after the spell they die in, and end each spell before the next begins."""
    # On a day with two admissions, the spell the person dies in comes first and is kept.
    order = np.lexsort((kind != DIES_IN_SPELL, admitted, person))
    person, admitted, method, kind, los = (a[order] for a in (person, admitted, method, kind, los))
    dies_on = np.full(people.n, np.iinfo(np.int64).max)
    dying = kind == DIES_IN_SPELL
    dies_on[person[dying]] = admitted[dying]
    repeat = np.zeros(person.shape[0], dtype=bool)
    repeat[1:] = (person[1:] == person[:-1]) & (admitted[1:] == admitted[:-1])
    keep = ~repeat & ((admitted < dies_on[person]) | dying)
    person, admitted, method, kind, los = (a[keep] for a in (person, admitted, method, kind, los))
    following = np.full(person.shape[0], np.iinfo(np.int64).max)
    same = person[1:] == person[:-1]
    following[:-1] = np.where(same, admitted[1:] - 1, following[:-1])
    los = np.where(kind == DIES_IN_SPELL, los, np.minimum(admitted + los, following) - admitted)
    return person, admitted, method, kind, los


def _spell_cost(
    method: np.ndarray, kind: np.ndarray, los: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Indicative tariff in pence: a spell price, plus excess bed days beyond a five-day trim
    point for long stays."""
    named = np.select([method == EMERGENCY, method == ELECTIVE], ["emergency", "elective"], "other")
    return spell_pence(named, los, age >= 75, kind == CHEMOTHERAPY)


def _attendances(
    rng: np.random.Generator,
    people: People,
    units: Units,
    drivers: Drivers,
    admitted_person: np.ndarray,
    admitted_day: np.ndarray,
    ledger: Ledger,
) -> pa.Table:
    """A&E: most emergency admissions arrive through A&E (disposal "admitted"); the rest of
    attendances go home, are referred on or leave."""
    via = rng.random(admitted_person.shape[0]) < VIA_AE
    a_person, a_day = admitted_person[via], admitted_day[via]
    already = float(_in_last_year(a_day, people.calendar).sum())
    d = drivers
    rel = (
        curve(AE_CURVE, d.age)
        * np.exp(
            0.06 * np.minimum(d.frailty, 15)
            + 0.08 * np.minimum(d.conditions, 8)
            + 0.45 * d.deprivation
            + 0.6 * d.persistence
        )
        * (1 + 1.5 * d.end_of_life)
    )
    unit, day = draw_events(rng, units, scaled_rate(rel, units, AE_RATE, already))
    person = np.concatenate([a_person, units.person[unit]])
    day = np.concatenate([a_day, day]).astype(np.int64)
    disposal = np.concatenate(
        [
            np.zeros(a_person.shape[0], dtype=np.int64),
            1 + np.searchsorted([0.76, 0.91], rng.random(unit.shape[0]), side="right"),
        ]
    )
    pence = AE_ATTENDANCE_PENCE[disposal]  # admitted, discharged, referred, left
    ledger.add("ae", person, day, pence)
    order = np.lexsort((day, person))
    person, day, disposal, pence = person[order], day[order], disposal[order], pence[order]
    provider = (rng.random(int(person.shape[0])) < 0.1).astype(np.int64)
    return pa.table(
        {
            "attendance_id": pa.array(np.arange(1, person.shape[0] + 1, dtype=np.int64)),
            "person_id": pa.array(person + 1),
            "provider_code": pa.array(list(PROVIDERS), pa.string()).take(pa.array(provider)),
            "arrival_date": date_array(day),
            "disposal": pa.array(["admitted", "discharged", "referred", "left"], pa.string()).take(
                pa.array(disposal)
            ),
            "cost": pounds(pence),
        }
    )
