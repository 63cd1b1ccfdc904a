"""Hospital outpatient appointments, in the specialties a person's conditions call for.

Each person has a main specialty and two others, drawn from weights set by their age, sex and
conditions (diabetes → diabetic medicine and eye clinics, heart disease → cardiology, …);
most appointments are in the main one, as a course of follow-ups would be.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.population.synthetic.calendar import date_array
from joinedup.population.synthetic.conditions import Conditions
from joinedup.population.synthetic.costs import Ledger, pounds
from joinedup.population.synthetic.exposure import Drivers, Units, curve, draw_events, scaled_rate
from joinedup.population.synthetic.frailty import Frailty
from joinedup.population.synthetic.hospital import PROVIDER_SHARES, PROVIDERS
from joinedup.population.synthetic.people import People
from joinedup.population.synthetic.randomness import Streams, choose_rows, cumulative
from joinedup.population.unit_costs import OUTPATIENT_FIRST_PENCE, OUTPATIENT_FOLLOW_UP_PENCE

OUTPATIENT_RATE = 1.8  # appointments per person-year
OUTPATIENT_CURVE = (
    (0, 0.8),
    (5, 0.6),
    (15, 0.7),
    (30, 1.1),
    (50, 1.7),
    (65, 2.6),
    (75, 3.2),
    (85, 2.8),
    (95, 2.0),
)
# Treatment function codes (NHS Data Dictionary).
SPECIALTIES = (
    "100",
    "101",
    "110",
    "120",
    "130",
    "300",
    "301",
    "302",
    "307",
    "320",
    "328",
    "330",
    "340",
    "361",
    "370",
    "400",
    "410",
    "420",
    "430",
    "501",
    "502",
    "650",
    "710",
)
COURSE_SHARES = np.array([0.65, 0.2, 0.15])  # main specialty, second, third
FIRST, FOLLOW_UP = OUTPATIENT_FIRST_PENCE, OUTPATIENT_FOLLOW_UP_PENCE  # population.unit_costs


def build_outpatients(
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    units: Units,
    drivers: Drivers,
    streams: Streams,
    ledger: Ledger,
) -> pa.Table:
    rng = streams("outpatients")
    d = drivers
    rel = curve(OUTPATIENT_CURVE, d.age) * np.exp(
        0.04 * np.minimum(d.frailty, 15) + 0.15 * np.minimum(d.conditions, 8) + 0.4 * d.persistence
    )
    unit, day = draw_events(rng, units, scaled_rate(rel, units, OUTPATIENT_RATE))
    person = units.person[unit]

    weights = _specialty_weights(people, conditions, frailty)
    cum = cumulative(weights)
    courses = np.stack([choose_rows(rng, cum) for _ in range(len(COURSE_SHARES))], axis=1)
    which = np.searchsorted(
        np.cumsum(COURSE_SHARES), rng.random(person.shape[0]), side="right"
    ).clip(0, len(COURSE_SHARES) - 1)
    specialty = courses[person, which]

    first = rng.random(person.shape[0]) < 0.3
    age = d.age[unit]
    dna = 0.05 + 0.05 * people.deprivation[person] * ((age >= 16) & (age < 40))
    attended = rng.random(person.shape[0]) >= dna
    pence = np.where(attended, np.where(first, FIRST, FOLLOW_UP), 0).astype(np.int64)
    ledger.add("outpatient", person, day, pence)
    provider = np.searchsorted(
        np.cumsum(PROVIDER_SHARES), rng.random(person.shape[0]), side="right"
    ).clip(0, len(PROVIDERS) - 1)
    order = np.argsort(
        (unit.astype(np.int64) << 12) | (day.astype(np.int64) - people.calendar.start),
        kind="stable",
    )
    return pa.table(
        {
            "appointment_id": pa.array(np.arange(1, person.shape[0] + 1, dtype=np.int64)),
            "person_id": pa.array(person[order] + 1),
            "provider_code": pa.array(list(PROVIDERS), pa.string()).take(pa.array(provider[order])),
            "appointment_date": date_array(day[order]),
            "specialty_code": pa.array(list(SPECIALTIES), pa.string()).take(
                pa.array(specialty[order])
            ),
            "first_attendance": pa.array(first[order]),
            "attended": pa.array(attended[order]),
            "cost": pounds(pence[order]),
        }
    )


def _specialty_weights(people: People, conditions: Conditions, frailty: Frailty) -> np.ndarray:
    age = people.age_at_end
    female = people.female
    has = conditions.column
    s = {code: i for i, code in enumerate(SPECIALTIES)}
    w = np.zeros((people.n, len(SPECIALTIES)), dtype=np.float32)
    adult = age >= 16

    def add(code: str, amount: np.ndarray | float) -> None:
        w[:, s[code]] += np.asarray(amount, dtype=np.float32)

    add("100", 1.0 * adult)
    add("101", 1.0 * (~female & (age >= 50)) + 0.2 * adult)
    add("110", 1.2 * adult + 3.0 * has("osteoarthritis"))
    add("120", 0.7)
    add("130", 0.3 + 0.02 * np.maximum(age - 50, 0) + 2.0 * has("diabetes"))
    add("300", 0.5 * adult)
    add("301", 0.8 * adult)
    add("302", 1.0 * has("hypothyroidism"))
    add("307", 4.0 * has("diabetes"))
    add(
        "320",
        5.0 * (has("coronary-heart-disease") | has("atrial-fibrillation") | has("heart-failure"))
        + 0.2 * (age >= 40),
    )
    add("328", 3.0 * (has("stroke") | has("tia")))
    add("330", 0.8)
    add("340", 3.0 * (has("copd") | has("asthma")))
    add("361", 3.0 * has("chronic-kidney-disease"))
    add("370", 6.0 * has("cancer"))
    add("400", 5.0 * has("parkinsons") + 0.3 * adult)
    add("410", 6.0 * has("rheumatoid-arthritis"))
    add("420", 5.0 * (age < 16))
    add("430", 2.0 * ((age >= 75) & (frailty.count >= 9)))
    add("501", 0.8 * (female & (age >= 18) & (age < 45)))
    add("502", 1.2 * (female & (age >= 18) & (age < 65)))
    add("650", 0.6 * adult + 1.5 * has("osteoarthritis"))
    add("710", 1.0 * has("depression") * adult)
    return w
