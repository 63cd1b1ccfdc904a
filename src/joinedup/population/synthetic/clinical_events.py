"""The coded GP record: diagnoses, eFI findings, statuses and measurements.

Measurements carry the case-finding signal: people with undiagnosed hypertension have repeated
readings of 140/90 or more, undiagnosed diabetes an HbA1c of 48 mmol/mol or more, undiagnosed
AF an irregular heart beat recorded — none of them with the diagnosis code. Everyone else's
readings stay below those thresholds unless they are diagnosed (treated people are not always
at target).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from joinedup.population.synthetic.calendar import DAYS_PER_YEAR, date_array
from joinedup.population.synthetic.conditions import CONDITIONS, INDEX, Conditions
from joinedup.population.synthetic.frailty import DEFICITS, FINDINGS, Frailty
from joinedup.population.synthetic.people import People
from joinedup.population.synthetic.randomness import Streams, expand
from joinedup.population.synthetic.reference import ConceptCodes

MM_HG, MMOL_PER_MOL, PER_MINUTE = "mm[Hg]", "mmol/mol", "/min"
UNITS = (MM_HG, MMOL_PER_MOL, PER_MINUTE)
RECENT = int(2 * DAYS_PER_YEAR)  # case finding looks back two years


@dataclass
class _Events:
    codes: dict[str, ConceptCodes]
    vocabulary: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def code_ids(self, concept: str) -> np.ndarray:
        ids = []
        for code in self.codes[concept].codes:
            if code not in self.index:
                self.index[code] = len(self.vocabulary)
                self.vocabulary.append(code)
            ids.append(self.index[code])
        return np.array(ids, dtype=np.int32)

    def add(
        self,
        person: np.ndarray,
        day: np.ndarray,
        code: np.ndarray,
        value: np.ndarray | None = None,
        unit: int = -1,
    ) -> None:
        value = np.full(person.shape[0], np.nan) if value is None else value
        self.parts.append(
            (
                person.astype(np.int64),
                day.astype(np.int32),
                code.astype(np.int32),
                value.astype(np.float64),
                np.full(person.shape[0], unit, np.int8),
            )
        )

    def add_concept(
        self,
        rng: np.random.Generator,
        concept: str,
        person: np.ndarray,
        day: np.ndarray,
        female: np.ndarray,
    ) -> None:
        """One event per person, the code drawn from the concept's codes for their sex."""
        ids = self.code_ids(concept)
        pick = np.empty(person.shape[0], dtype=np.int64)
        for sex in (False, True):
            rows = female == sex
            cum = self.codes[concept].cumulative_for(sex)
            pick[rows] = np.searchsorted(cum, rng.random(rows.sum()), side="right")
        self.add(person, day, ids[np.minimum(pick, len(ids) - 1)])


def build_clinical_events(
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    codes: dict[str, ConceptCodes],
    streams: Streams,
) -> pa.Table:
    rng = streams("clinical-events")
    events = _Events(codes)
    for i, c in enumerate(CONDITIONS):
        person = np.flatnonzero(conditions.has[:, i])
        ids = events.code_ids(c.name)
        events.add(person, conditions.diagnosed[person, i], ids[conditions.code[person, i]])
    for name in FINDINGS:
        j = DEFICITS.index(name)
        person = np.flatnonzero(frailty.finding[:, j])
        events.add_concept(rng, name, person, frailty.deficit_day[person, j], people.female[person])
    for concept, flag, day in (
        ("housebound", frailty.housebound, frailty.housebound_day),
        ("care-home", frailty.care_home, frailty.care_home_day),
        ("carer", frailty.carer, frailty.carer_day),
    ):
        person = np.flatnonzero(flag)
        events.add_concept(rng, concept, person, day[person], people.female[person])
    _blood_pressure(rng, events, people, conditions)
    _hba1c(rng, events, people, conditions)
    _irregular_pulse(rng, events, people, conditions)
    return _table(events)


def _readings(
    rng: np.random.Generator, people: People, rate: np.ndarray, from_age: float
) -> tuple[np.ndarray, np.ndarray]:
    """Routine readings over each person's time in the window: (person, day)."""
    begin = np.maximum(people.dob + int(from_age * DAYS_PER_YEAR), people.calendar.start)
    span = np.maximum(people.end - begin, 0)
    person, _ = expand(rng.poisson(rate * span / DAYS_PER_YEAR))
    day = begin[person] + np.floor(rng.random(person.shape[0]) * (span[person] + 1))
    return person, day.astype(np.int32)


def _recent(
    rng: np.random.Generator, people: People, who: np.ndarray, low: int, high: int
) -> tuple[np.ndarray, np.ndarray]:
    """`low`–`high` readings in the two years before the end of each person's record."""
    person, _ = expand(rng.integers(low, high + 1, int(who.shape[0])))
    person = who[person]
    begin = np.maximum(people.end[person] - RECENT, people.dob[person])
    day = begin + np.floor(rng.random(person.shape[0]) * (people.end[person] - begin + 1))
    return person, day.astype(np.int32)


def _blood_pressure(
    rng: np.random.Generator, events: _Events, people: People, conditions: Conditions
) -> None:
    age = people.age_at_end
    monitored = conditions.has[
        :,
        [
            INDEX[k]
            for k in (
                "hypertension",
                "diabetes",
                "chronic-kidney-disease",
                "coronary-heart-disease",
                "stroke",
                "tia",
                "heart-failure",
                "atrial-fibrillation",
            )
        ],
    ].any(axis=1)
    rate = np.select([age < 40, age < 65], [0.12, 0.35], 0.7) + 1.0 * monitored
    person, day = _readings(rng, people, rate, 16)
    hidden = np.flatnonzero(conditions.undiagnosed_hypertension)
    extra_person, extra_day = _recent(rng, people, hidden, 2, 3)
    person, day = np.concatenate([person, extra_person]), np.concatenate([day, extra_day])

    a = np.maximum(age[person] - 40, 0)
    systolic = rng.normal(118 + 0.45 * a, 11)
    diastolic = rng.normal(75 + 0.1 * a, 8)
    normal = (
        ~conditions.column("hypertension")[person] & ~conditions.undiagnosed_hypertension[person]
    )
    # Without hypertension, readings stay under 140/90; the undiagnosed run high every time.
    systolic = np.where(
        normal, np.minimum(systolic, 139 - rng.exponential(4, person.shape[0])), systolic
    )
    diastolic = np.where(
        normal, np.minimum(diastolic, 89 - rng.exponential(3, person.shape[0])), diastolic
    )
    treated = conditions.column("hypertension")[person]
    systolic = np.where(treated, rng.normal(137, 13, person.shape[0]), systolic)
    diastolic = np.where(treated, rng.normal(80, 9, person.shape[0]), diastolic)
    hidden_reading = conditions.undiagnosed_hypertension[person]
    systolic = np.where(hidden_reading, 141 + rng.exponential(10, person.shape[0]), systolic)
    diastolic = np.where(hidden_reading, rng.normal(88, 7, person.shape[0]), diastolic)
    events.add(
        person,
        day,
        np.full(person.shape[0], events.code_ids("systolic-blood-pressure")[0]),
        np.round(np.clip(systolic, 80, 230)),
        UNITS.index(MM_HG),
    )
    events.add(
        person,
        day,
        np.full(person.shape[0], events.code_ids("diastolic-blood-pressure")[0]),
        np.round(np.clip(diastolic, 40, 130)),
        UNITS.index(MM_HG),
    )

    # Pulse is taken with the blood pressure of older people and anyone with AF.
    af = conditions.column("atrial-fibrillation")[person] | conditions.undiagnosed_af[person]
    pulse = (age[person] >= 65) | af
    p_person, p_day = person[pulse], day[pulse]
    rate_per_minute = np.where(
        af[pulse], rng.normal(84, 14, pulse.sum()), rng.normal(73, 10, pulse.sum())
    )
    events.add(
        p_person,
        p_day,
        np.full(p_person.shape[0], events.code_ids("pulse-rate")[0]),
        np.round(np.clip(rate_per_minute, 40, 160)),
        UNITS.index(PER_MINUTE),
    )


def _hba1c(
    rng: np.random.Generator, events: _Events, people: People, conditions: Conditions
) -> None:
    age = people.age_at_end
    diabetic = conditions.column("diabetes")
    rate = np.where(diabetic, 2.0, np.where(age >= 40, 0.3, 0.02))
    person, day = _readings(rng, people, rate, 16)
    hidden = np.flatnonzero(conditions.undiagnosed_diabetes)
    extra_person, extra_day = _recent(rng, people, hidden, 1, 2)
    person, day = np.concatenate([person, extra_person]), np.concatenate([day, extra_day])
    value = rng.normal(38, 3.5, int(person.shape[0]))
    prediabetic = rng.random(people.n) < 0.08 + 0.1 * people.deprivation
    value = np.where(prediabetic[person], rng.uniform(42, 47.9, person.shape[0]), value)
    value = np.minimum(value, 47.4)
    value = np.where(diabetic[person], rng.normal(58, 12, person.shape[0]), value)
    value = np.where(
        conditions.undiagnosed_diabetes[person], 48.5 + rng.exponential(6, person.shape[0]), value
    )
    events.add(
        person,
        day,
        np.full(person.shape[0], events.code_ids("hba1c")[0]),
        np.round(np.clip(value, 20, 150)),
        UNITS.index(MMOL_PER_MOL),
    )


def _irregular_pulse(
    rng: np.random.Generator, events: _Events, people: People, conditions: Conditions
) -> None:
    person, day = _recent(rng, people, np.flatnonzero(conditions.undiagnosed_af), 1, 2)
    events.add(person, day, np.full(person.shape[0], events.code_ids("irregular-pulse")[0]))


def _table(events: _Events) -> pa.Table:
    person, day, code, value, unit = (
        np.concatenate(column) for column in zip(*events.parts, strict=True)
    )
    # Sort by person then date with one packed key (dates since 1900 fit in 17 bits).
    order = np.argsort(
        (person << 24) | ((day.astype(np.int64) + 25_567) << 6) | np.minimum(code, 63),
        kind="stable",
    )
    person, day, code, value, unit = (a[order] for a in (person, day, code, value, unit))
    vocabulary = pa.array(events.vocabulary, pa.string())
    units = pa.array(list(UNITS), pa.string())
    return pa.table(
        {
            "event_id": pa.array(np.arange(1, person.shape[0] + 1, dtype=np.int64)),
            "person_id": pa.array(person + 1),
            "event_date": date_array(day),
            "code_system": pa.array(np.full(person.shape[0], "snomed", dtype=object), pa.string()),
            "code": vocabulary.take(pa.array(code)),
            "value": pa.array(value, mask=np.isnan(value)),
            "unit": units.take(pa.array(unit.astype(np.int32), mask=unit < 0)),
        }
    )
