"""Medication issues: repeat prescriptions that follow from conditions, plus acute antibiotics.

A repeat regimen starts soon after the diagnosis that calls for it (or, for preventive and
symptomatic medicines, some years before the end of the record), may stop, and is issued every
28, 56 or 84 days. Medicine codes are dm+d VMPs (terminology/data/generator_medicines.csv);
costs are indicative (order of magnitude of the Drug Tariff), pro rata to the days issued.
Polypharmacy — the eFI's 36th deficit — is then read back from the issues themselves:
five or more distinct medicines issued in the year before the end of a person's record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from joinedup.population.synthetic.calendar import DAYS_PER_YEAR
from joinedup.population.synthetic.conditions import INDEX, Conditions
from joinedup.population.synthetic.people import People
from joinedup.population.synthetic.randomness import Streams, cumulative, expand
from joinedup.population.synthetic.reference import Medicine

# (condition, share of people with it who take one of these, {medicine: relative weight})
CONDITION_MEDICINES: tuple[tuple[str, float, dict[str, float]], ...] = (
    ("hypertension", 0.85, {"amlodipine": 0.45, "ramipril": 0.4, "lisinopril": 0.15}),
    ("hypertension", 0.45, {"indapamide": 0.5, "bendroflumethiazide": 0.5}),
    ("hypertension", 0.15, {"spironolactone": 0.3, "bisoprolol_2_5": 0.7}),
    ("diabetes", 0.9, {"metformin": 1.0}),
    (
        "diabetes",
        0.5,
        {"gliclazide": 0.35, "sitagliptin": 0.25, "empagliflozin": 0.25, "dapagliflozin": 0.15},
    ),
    ("diabetes", 0.75, {"atorvastatin_20": 1.0}),
    ("coronary-heart-disease", 0.85, {"atorvastatin_40": 0.7, "simvastatin_40": 0.3}),
    ("coronary-heart-disease", 0.75, {"aspirin": 1.0}),
    ("coronary-heart-disease", 0.6, {"bisoprolol_2_5": 1.0}),
    ("coronary-heart-disease", 0.5, {"ramipril": 1.0}),
    ("atrial-fibrillation", 0.85, {"apixaban": 0.55, "rivaroxaban": 0.3, "edoxaban": 0.15}),
    ("atrial-fibrillation", 0.6, {"bisoprolol_5": 1.0}),
    ("heart-failure", 0.8, {"ramipril": 1.0}),
    ("heart-failure", 0.8, {"bisoprolol_2_5": 1.0}),
    ("heart-failure", 0.4, {"spironolactone": 1.0}),
    ("heart-failure", 0.3, {"dapagliflozin": 1.0}),
    ("stroke", 0.85, {"atorvastatin_40": 1.0}),
    ("stroke", 0.5, {"aspirin": 1.0}),
    ("tia", 0.8, {"atorvastatin_40": 1.0}),
    ("tia", 0.5, {"aspirin": 1.0}),
    ("chronic-kidney-disease", 0.5, {"atorvastatin_20": 1.0}),
    ("chronic-kidney-disease", 0.3, {"ramipril": 1.0}),
    ("asthma", 0.9, {"salbutamol": 1.0}),
    ("asthma", 0.65, {"beclometasone": 1.0}),
    ("copd", 0.9, {"salbutamol": 1.0}),
    ("copd", 0.7, {"fluticasone_salmeterol": 0.55, "budesonide_formoterol": 0.45}),
    ("osteoarthritis", 0.25, {"naproxen": 1.0}),
    ("osteoarthritis", 0.15, {"gabapentin": 0.5, "pregabalin": 0.5}),
    ("rheumatoid-arthritis", 0.6, {"methotrexate": 1.0}),
    ("rheumatoid-arthritis", 0.25, {"sulfasalazine": 1.0}),
)
PPI = {"omeprazole": 0.5, "lansoprazole_15": 0.3, "lansoprazole_30": 0.2}
ANTIBIOTICS = {"amoxicillin": 0.55, "flucloxacillin": 0.2, "phenoxymethylpenicillin": 0.25}
INTERVALS = np.array([28, 56, 84])
INTERVAL_SHARES = np.array([0.15, 0.5, 0.35])
STOPPED = 0.15  # share of regimens stopped before the end of the record
POLYPHARMACY = 5  # distinct medicines in a year


@dataclass
class Issues:
    person: np.ndarray
    day: np.ndarray
    medicine: np.ndarray  # index into the medicine list
    pence: np.ndarray
    medicines: list[Medicine]
    polypharmacy: np.ndarray  # per person: ≥5 distinct medicines in the last year of the record


@dataclass
class _Regimens:
    person: list[np.ndarray]
    medicine: list[np.ndarray]
    start: list[np.ndarray]

    def add(self, person: np.ndarray, medicine: np.ndarray, start: np.ndarray) -> None:
        self.person.append(person)
        self.medicine.append(medicine)
        self.start.append(start)


def build_issues(
    people: People, conditions: Conditions, catalogue: dict[str, Medicine], streams: Streams
) -> Issues:
    rng = streams("medications")
    keys = list(catalogue)
    index = {k: i for i, k in enumerate(keys)}
    regimens = _Regimens([], [], [])
    age = people.age_at_end

    for condition, share, choices in CONDITION_MEDICINES:
        column = INDEX[condition]
        who = np.flatnonzero(conditions.has[:, column] & (rng.random(people.n) < share))
        lag = np.floor(rng.exponential(45, who.shape[0]))
        start = conditions.diagnosed[who, column] + lag
        regimens.add(who, _pick(rng, choices, index, who.shape[0]), start)

    cardiovascular = conditions.has[
        :,
        [
            INDEX[k]
            for k in (
                "coronary-heart-disease",
                "stroke",
                "tia",
                "diabetes",
                "chronic-kidney-disease",
            )
        ],
    ].any(1)
    _preventive(
        regimens,
        rng,
        people,
        ~cardiovascular & (age >= 50),
        np.minimum(0.12 + 0.008 * (age - 50), 0.45),
        {"atorvastatin_20": 1.0},
        index,
        50,
    )
    _preventive(regimens, rng, people, age >= 30, 0.05 + 0.003 * (age - 30), PPI, index, 30)
    depression = conditions.column("depression")
    _preventive(
        regimens, rng, people, age >= 40, 0.012 + 0.02 * depression, {"zopiclone": 1.0}, index, 40
    )
    _preventive(
        regimens, rng, people, age >= 25, 0.006 + 0.02 * depression, {"diazepam": 1.0}, index, 25
    )
    _preventive(
        regimens,
        rng,
        people,
        age >= 30,
        0.015 + 0.03 * people.deprivation,
        {"gabapentin": 0.5, "pregabalin": 0.5},
        index,
        30,
    )
    _preventive(
        regimens, rng, people, age >= 18, np.full(people.n, 0.002), {"carbimazole": 1.0}, index, 18
    )

    person, medicine, start = _unique_regimens(regimens, people)
    # Older people on aspirin, NSAIDs or anticoagulants get a PPI to protect the stomach.
    risky = np.isin(
        medicine, [index[k] for k in ("aspirin", "naproxen", "apixaban", "rivaroxaban", "edoxaban")]
    )
    protect = np.unique(person[risky])
    protect = protect[(age[protect] >= 65) & (rng.random(protect.shape[0]) < 0.55)]
    first_risky = np.full(people.n, np.iinfo(np.int32).max, dtype=np.int64)
    np.minimum.at(first_risky, person[risky], start[risky])
    regimens = _Regimens([person], [medicine], [start])
    regimens.add(protect, _pick(rng, PPI, index, protect.shape[0]), first_risky[protect] + 14)
    person, medicine, start = _unique_regimens(regimens, people)

    issues = _repeat_issues(rng, people, person, medicine, start, catalogue, keys)
    acute = _acute_issues(rng, people, conditions, index, catalogue, keys)
    person, day, medicine, pence = (
        np.concatenate([a, b]) for a, b in zip(issues, acute, strict=True)
    )
    # Only what the area's practices issued: nothing before a person registered.
    registered = day >= people.first_registered[person]
    person, day, medicine, pence = (a[registered] for a in (person, day, medicine, pence))
    # Sort by person, day and medicine with one packed integer key (much faster than lexsort).
    start_day = people.calendar.start
    order = np.argsort((person << 20) | ((day.astype(np.int64) - start_day) << 7) | medicine)
    person, day, medicine, pence = person[order], day[order], medicine[order], pence[order]
    return Issues(
        person=person,
        day=day,
        medicine=medicine,
        pence=pence,
        medicines=[catalogue[k] for k in keys],
        polypharmacy=_polypharmacy(people, person, day, medicine, len(keys)),
    )


def _pick(
    rng: np.random.Generator, choices: dict[str, float], index: dict[str, int], size: int
) -> np.ndarray:
    codes = np.array([index[k] for k in choices])
    cum = cumulative(np.array(list(choices.values())))
    return codes[np.minimum(np.searchsorted(cum, rng.random(size), side="right"), len(codes) - 1)]


def _preventive(
    regimens: _Regimens,
    rng: np.random.Generator,
    people: People,
    eligible: np.ndarray,
    share: np.ndarray,
    choices: dict[str, float],
    index: dict[str, int],
    from_age: float,
) -> None:
    """Regimens not tied to a coded diagnosis: started a few years before the record ends."""
    who = np.flatnonzero(eligible & (rng.random(people.n) < share))
    earliest = people.dob[who] + int(from_age * DAYS_PER_YEAR)
    start = np.maximum(
        people.end[who] - np.floor(rng.exponential(4 * DAYS_PER_YEAR, who.shape[0])), earliest
    )
    regimens.add(who, _pick(rng, choices, index, who.shape[0]), start)


def _unique_regimens(
    regimens: _Regimens, people: People
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One regimen per person and medicine: the earliest start wins. Regimens that would
    start after the end of the person's record are dropped."""
    person = np.concatenate(regimens.person).astype(np.int64)
    medicine = np.concatenate(regimens.medicine).astype(np.int64)
    start = np.concatenate(regimens.start).astype(np.int64)
    started = start <= people.end[person]
    person, medicine, start = person[started], medicine[started], start[started]
    order = np.lexsort((start, medicine, person))
    person, medicine, start = person[order], medicine[order], start[order]
    first = np.ones(person.shape[0], dtype=bool)
    first[1:] = (person[1:] != person[:-1]) | (medicine[1:] != medicine[:-1])
    return person[first], medicine[first], start[first]


def _repeat_issues(
    rng: np.random.Generator,
    people: People,
    person: np.ndarray,
    medicine: np.ndarray,
    start: np.ndarray,
    catalogue: dict[str, Medicine],
    keys: list[str],
) -> tuple[np.ndarray, ...]:
    interval = INTERVALS[
        np.searchsorted(np.cumsum(INTERVAL_SHARES), rng.random(person.shape[0]), side="right").clip(
            0, 2
        )
    ]
    end = people.end[person].astype(np.int64)
    stops = rng.random(person.shape[0]) < STOPPED
    end = np.where(
        stops, start + np.floor(rng.random(person.shape[0]) * np.maximum(end - start, 0)), end
    ).astype(np.int64)
    window_start = people.calendar.start
    skipped = np.maximum(np.ceil((window_start - start) / interval), 0).astype(np.int64)
    first = start + skipped * interval
    count = np.where(end >= first, (end - first) // interval + 1, 0)
    regimen, k = expand(count)
    jitter = rng.integers(-3, 4, regimen.shape[0])
    day = np.clip(first[regimen] + k * interval[regimen] + jitter, window_start, end[regimen])
    per_28 = np.array([catalogue[key].pence_per_28_days for key in keys])
    pence = np.round(per_28[medicine[regimen]] * interval[regimen] / 28).astype(np.int64)
    return person[regimen], day.astype(np.int32), medicine[regimen], pence


def _acute_issues(
    rng: np.random.Generator,
    people: People,
    conditions: Conditions,
    index: dict[str, int],
    catalogue: dict[str, Medicine],
    keys: list[str],
) -> tuple[np.ndarray, ...]:
    """Antibiotic courses: more for children, older people and people with COPD."""
    age = people.age_at_end
    rate = (
        0.3
        + 0.25 * (age < 10)
        + 0.006 * np.maximum(age - 50, 0)
        + 1.2 * conditions.column("copd")
        + 0.4 * conditions.column("diabetes")
    )
    begin = np.maximum(people.dob, people.calendar.start)
    exposure = np.maximum(people.end - begin, 0) / DAYS_PER_YEAR
    count = rng.poisson(rate * exposure)
    person, _ = expand(count)
    day = begin[person] + np.floor(
        rng.random(person.shape[0]) * (people.end[person] - begin[person] + 1)
    )
    medicine = _pick(rng, ANTIBIOTICS, index, person.shape[0])
    per_course = np.array([catalogue[key].pence_per_28_days for key in keys])
    return person, day.astype(np.int32), medicine, per_course[medicine].astype(np.int64)


def _polypharmacy(
    people: People, person: np.ndarray, day: np.ndarray, medicine: np.ndarray, medicines: int
) -> np.ndarray:
    recent = day > people.end[person] - 365
    pairs = np.unique(person[recent] * medicines + medicine[recent])
    distinct = np.bincount(pairs // medicines, minlength=people.n)
    return distinct >= POLYPHARMACY
