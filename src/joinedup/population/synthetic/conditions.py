"""Long-term conditions with the causal structure analytics should be able to find.

Each condition's log-odds rise with age (from the age it starts to occur), deprivation and a
shared latent "poor health" factor (which makes conditions cluster: multimorbidity), plus
causal links from conditions earlier in CONDITIONS (diabetes and hypertension raise CKD, CHD and
stroke; AF raises stroke and heart failure; CHD raises heart failure; stroke raises dementia).
A caused condition is diagnosed after its cause. Each intercept is solved so the condition's
prevalence among people registered at the extract date equals the published English figure
(QOF-like, as a share of the whole list), and exactly that many people are chosen (Pareto
sampling), so small areas are calibrated too.

Also here: people with undiagnosed hypertension, diabetes or AF, whose measurements (see
measurements.py) betray them to case finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from joinedup.population.synthetic.calendar import DAYS_PER_YEAR
from joinedup.population.synthetic.people import DIED, People
from joinedup.population.synthetic.randomness import (
    Streams,
    calibrate_intercept,
    fixed_size_sample,
    sigmoid,
)
from joinedup.population.synthetic.reference import ConceptCodes


@dataclass(frozen=True)
class Condition:
    name: str  # the generator concept (gm-sde code set name) its diagnosis codes come from
    target: float  # share of the registered list at the extract date
    min_age: float
    slope: float  # log-odds per year of age above min_age
    female: float = 0.0  # log-odds for women
    deprivation: float = 0.0  # log-odds, most deprived decile against least
    health: float = 0.5  # loading on the shared latent poor-health factor
    smoking: float = 0.0  # log-odds for ever-smokers
    parents: tuple[tuple[str, float], ...] = ()  # (cause, log-odds) — causes come earlier
    icd10: str = ""  # code for this condition among a hospital spell's secondary diagnoses
    icd10_by_code: dict[str, str] = field(default_factory=dict)  # when the SNOMED code decides


# In causal order. Targets: QOF 2019/20–2023/24 England prevalences as a share of the list.
CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "hypertension", 0.14, 18, 0.075, female=-0.1, deprivation=0.35, health=0.5, icd10="I10X"
    ),
    Condition(
        "diabetes",
        0.07,
        10,
        0.055,
        female=-0.25,
        deprivation=0.8,
        health=0.6,
        icd10="E119",
        icd10_by_code={"46635009": "E109"},
    ),
    Condition("asthma", 0.065, 2, -0.004, female=0.2, deprivation=0.3, health=0.3, icd10="J459"),
    Condition("copd", 0.02, 35, 0.075, deprivation=1.0, health=0.5, smoking=2.0, icd10="J449"),
    Condition("depression", 0.11, 14, 0.0, female=0.6, deprivation=0.7, health=0.4, icd10="F329"),
    Condition(
        "osteoarthritis", 0.08, 35, 0.075, female=0.35, deprivation=0.3, health=0.4, icd10="M199"
    ),
    Condition("rheumatoid-arthritis", 0.0075, 20, 0.03, female=0.9, health=0.3, icd10="M069"),
    Condition("hypothyroidism", 0.035, 15, 0.035, female=1.6, health=0.2, icd10="E039"),
    Condition(
        "cancer",
        0.032,
        20,
        0.07,
        health=0.3,
        smoking=0.5,
        icd10="C809",
        icd10_by_code={
            "254837009": "C509",
            "399068003": "C61X",
            "363406005": "C189",
            "363358000": "C349",
        },
    ),
    Condition(
        "coronary-heart-disease",
        0.03,
        35,
        0.085,
        female=-0.8,
        deprivation=0.7,
        health=0.5,
        smoking=0.6,
        parents=(("hypertension", 0.8), ("diabetes", 0.8)),
        icd10="I251",
    ),
    Condition(
        "atrial-fibrillation",
        0.02,
        40,
        0.1,
        female=-0.4,
        health=0.4,
        parents=(("hypertension", 0.6),),
        icd10="I489",
    ),
    Condition(
        "chronic-kidney-disease",
        0.035,
        30,
        0.1,
        female=0.2,
        deprivation=0.4,
        health=0.5,
        parents=(("hypertension", 1.0), ("diabetes", 1.2)),
        icd10="N183",
        icd10_by_code={"431857002": "N184"},
    ),
    Condition(
        "heart-failure",
        0.01,
        40,
        0.09,
        female=-0.4,
        deprivation=0.6,
        health=0.5,
        parents=(
            ("coronary-heart-disease", 1.6),
            ("atrial-fibrillation", 1.3),
            ("hypertension", 0.5),
        ),
        icd10="I509",
    ),
    Condition(
        "stroke",
        0.012,
        30,
        0.08,
        deprivation=0.5,
        health=0.4,
        smoking=0.5,
        parents=(("atrial-fibrillation", 1.1), ("hypertension", 0.8), ("diabetes", 0.5)),
        icd10="I693",
    ),
    Condition(
        "tia",
        0.006,
        35,
        0.075,
        health=0.3,
        parents=(("atrial-fibrillation", 0.8), ("hypertension", 0.6)),
        icd10="Z867",
    ),
    Condition("osteoporosis", 0.02, 45, 0.09, female=1.5, health=0.3, icd10="M819"),
    Condition("parkinsons", 0.0025, 50, 0.1, female=-0.4, health=0.2, icd10="G20X"),
    Condition(
        "dementia",
        0.008,
        55,
        0.16,
        female=0.2,
        deprivation=0.3,
        health=0.4,
        parents=(("stroke", 0.9), ("diabetes", 0.3)),
        icd10="F03X",
        icd10_by_code={"26929004": "F009", "429998004": "F019"},
    ),
)
INDEX = {c.name: i for i, c in enumerate(CONDITIONS)}


@dataclass
class Conditions:
    has: np.ndarray  # (people × conditions) bool
    diagnosed: np.ndarray  # (people × conditions) int32 day of diagnosis, -1 when absent
    code: np.ndarray  # (people × conditions) index into the concept's codes
    health: np.ndarray  # latent poor-health factor
    smoker: np.ndarray  # ever smoked
    undiagnosed_hypertension: np.ndarray
    undiagnosed_diabetes: np.ndarray
    undiagnosed_af: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.has[:, INDEX[name]]

    def count_before(self, day: np.ndarray | int) -> np.ndarray:
        """Number of conditions each person had been diagnosed with before `day`."""
        d = np.asarray(day)
        d = d[:, None] if d.ndim else d
        return ((self.diagnosed >= 0) & (self.diagnosed < d)).sum(axis=1)


def build_conditions(
    people: People, codes: dict[str, ConceptCodes], streams: Streams
) -> Conditions:
    rng = streams("conditions")
    n = people.n
    age = people.age_at_end
    current = people.current
    # Poor health clusters with deprivation; the people who died were sicker.
    health = (
        rng.standard_normal(n)
        + 0.3 * people.deprivation
        + np.where(people.status == DIED, 0.9, 0.0)
    )
    smoker = rng.random(n) < np.where(age >= 16, 0.25 + 0.35 * people.deprivation, 0.0)

    has = np.zeros((n, len(CONDITIONS)), dtype=bool)
    diagnosed = np.full((n, len(CONDITIONS)), -1, dtype=np.int32)
    for i, c in enumerate(CONDITIONS):
        linear = (
            c.slope * np.maximum(age - c.min_age, 0)
            + c.female * people.female
            + c.deprivation * people.deprivation
            + c.health * health
            + c.smoking * smoker
        )
        for parent, log_odds in c.parents:
            linear = linear + log_odds * has[:, INDEX[parent]]
        eligible = age >= c.min_age
        linear = np.where(eligible, linear, -np.inf)
        wanted = round(c.target * current.sum())
        intercept = calibrate_intercept(linear[current], wanted)
        p = sigmoid(intercept + linear)
        chosen = np.zeros(n, dtype=bool)
        chosen[np.flatnonzero(current)[fixed_size_sample(rng, p[current], wanted)]] = True
        chosen[~current] = rng.random((~current).sum()) < p[~current]
        has[:, i] = chosen & eligible
        diagnosed[:, i] = _diagnosis_days(people, c, has[:, i], diagnosed, rng)

    code = np.zeros(has.shape, dtype=np.int8)
    for i, c in enumerate(CONDITIONS):
        concept = codes[c.name]
        for female in (False, True):
            rows = has[:, i] & (people.female == female)
            cum = concept.cumulative_for(female)
            code[rows, i] = np.searchsorted(cum, rng.random(rows.sum()), side="right")

    hypertension, diabetes, af = (
        has[:, INDEX[k]] for k in ("hypertension", "diabetes", "atrial-fibrillation")
    )
    return Conditions(
        has=has,
        diagnosed=diagnosed,
        code=code,
        health=health,
        smoker=smoker,
        undiagnosed_hypertension=~hypertension
        & (age >= 30)
        & (rng.random(n) < np.minimum(0.02 + 0.0012 * (age - 30), 0.12)),
        undiagnosed_diabetes=~diabetes
        & (age >= 35)
        & (rng.random(n) < 0.006 + 0.0003 * (age - 35) + 0.01 * people.deprivation),
        undiagnosed_af=~af & (age >= 65) & (rng.random(n) < 0.006 + 0.0006 * (age - 65)),
    )


def _diagnosis_days(
    people: People, c: Condition, has: np.ndarray, diagnosed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Day of diagnosis: later in life for conditions that rise steeply with age, and after any
    cause the person has (a caused condition follows its cause)."""
    age_end = people.age_at_end
    shape = 1.5 + 10 * max(c.slope, 0.0)
    span = np.maximum(age_end - c.min_age, 0)
    age_dx = c.min_age + span * rng.random(people.n) ** (1 / shape)
    day = people.dob + np.floor(age_dx * DAYS_PER_YEAR)
    if c.parents:
        cause = np.max(np.stack([diagnosed[:, INDEX[p]] for p, _ in c.parents]), axis=0)
        after = cause >= 0
        day = np.where(
            after & (day < cause),
            cause + np.floor(rng.random(people.n) * (people.end - cause)),
            day,
        )
    day = np.clip(day, people.dob, people.end)
    return np.where(has, day, -1).astype(np.int32)
