"""Frailty: the 36 deficits of the electronic Frailty Index (Clegg 2016) and the statuses that
go with severe frailty (care home, housebound), plus unpaid carers.

Deficits accumulate with age, deprivation, poor health and multimorbidity. Some come from
diagnoses (hypertension, diabetes, AF… are deficits themselves: the link is read from the code
sets, so an eFI computed from the record sees exactly these), one from medication
(polypharmacy), and the rest are recorded as findings (falls, hearing loss, incontinence…).

Calibration: among people aged 65+ registered at the extract date, people are ranked by a
frailty score and given deficit counts from a target distribution whose categories are 50% fit
(0–4), 35% mild (5–8), 12% moderate (9–12) and 3% severe (13+), never fewer than the deficits
their diagnoses and medicines already give them. Everyone else (younger, died, moved away) is
placed on the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from joinedup.population.synthetic.calendar import DAYS_PER_YEAR
from joinedup.population.synthetic.conditions import CONDITIONS, Conditions
from joinedup.population.synthetic.people import DIED, People
from joinedup.population.synthetic.randomness import (
    Streams,
    calibrate_intercept,
    fixed_size_sample,
    sigmoid,
)

# The 35 code-set deficits (gm-sde code set names; ../shared/reference/efi/efi_deficits.csv).
DEFICITS = (
    "efi-activity-limitation",
    "efi-anaemia",
    "efi-arthritis",
    "efi-atrial-fibrillation",
    "efi-stroke-tia",
    "efi-ckd",
    "efi-diabetes",
    "efi-dizziness",
    "efi-dyspnoea",
    "efi-falls",
    "efi-foot-problems",
    "efi-fragility-fracture",
    "efi-hearing-loss",
    "efi-heart-failure",
    "efi-heart-valve-disease",
    "efi-housebound",
    "efi-hypertension",
    "efi-hypotension",
    "efi-chd",
    "efi-cognitive-problems",
    "efi-mobility-problems",
    "efi-osteoporosis",
    "efi-parkinsons",
    "efi-peptic-ulcer",
    "efi-pvd",
    "efi-care-requirement",
    "efi-respiratory-disease",
    "efi-skin-ulcer",
    "efi-sleep-disturbance",
    "efi-social-vulnerability",
    "efi-thyroid-disorders",
    "efi-urinary-incontinence",
    "efi-urinary-system-disease",
    "efi-vision-problems",
    "efi-weight-loss",
)
DEFICIT = {name: i for i, name in enumerate(DEFICITS)}
# Deficits recorded as findings: (base weight, extra weight per unit of frailty). The weights
# follow how common each finding is in older people; frailty loads on the falls–immobility–
# dependency cluster.
FINDINGS: dict[str, tuple[float, float]] = {
    "efi-vision-problems": (0.30, 0.0),
    "efi-hearing-loss": (0.26, 0.0),
    "efi-arthritis": (0.22, 0.0),
    "efi-urinary-system-disease": (0.15, 0.1),
    "efi-dizziness": (0.12, 0.2),
    "efi-dyspnoea": (0.12, 0.3),
    "efi-social-vulnerability": (0.12, 0.3),
    "efi-falls": (0.12, 0.8),
    "efi-sleep-disturbance": (0.10, 0.1),
    "efi-urinary-incontinence": (0.09, 0.7),
    "efi-mobility-problems": (0.07, 1.0),
    "efi-foot-problems": (0.08, 0.3),
    "efi-anaemia": (0.08, 0.4),
    "efi-hypotension": (0.07, 0.4),
    "efi-osteoporosis": (0.05, 0.2),
    "efi-fragility-fracture": (0.06, 0.6),
    "efi-cognitive-problems": (0.05, 0.8),
    "efi-activity-limitation": (0.05, 1.0),
    "efi-care-requirement": (0.04, 1.2),
    "efi-weight-loss": (0.04, 0.8),
    "efi-skin-ulcer": (0.04, 0.9),
    "efi-peptic-ulcer": (0.04, 0.0),
    "efi-pvd": (0.04, 0.2),
    "efi-heart-valve-disease": (0.04, 0.2),
    "efi-parkinsons": (0.03, 0.3),
    "efi-thyroid-disorders": (0.02, 0.0),
}
# Target distribution of deficit counts (of 36) among people aged 65+: fit 50%, mild 35%,
# moderate 12%, severe 3%, each category spread over its counts as in eFI cohorts.
TARGET_COUNTS = np.array(
    [
        0.06,
        0.09,
        0.11,
        0.12,
        0.12,  # fit 0–4
        0.105,
        0.095,
        0.08,
        0.07,  # mild 5–8
        0.045,
        0.034,
        0.024,
        0.017,  # moderate 9–12
        0.010,
        0.007,
        0.005,
        0.003,
        0.002,
        0.0015,
        0.001,
        0.0005,
    ]
)  # severe
CARE_HOME_SHARE = 0.007  # of the registered list
HOUSEBOUND_SHARE_65 = 0.025  # of people aged 65+ living at home
CARER_SHARE_ADULTS = 0.10


@dataclass
class Frailty:
    deficit_day: np.ndarray  # (people × 35) int32 first recorded, -1 when absent
    finding: np.ndarray  # (people × 35) bool: recorded as a finding (not implied by a diagnosis)
    polypharmacy: np.ndarray
    count: np.ndarray  # deficits of 36 at the end of the record
    care_home: np.ndarray
    care_home_day: np.ndarray
    housebound: np.ndarray
    housebound_day: np.ndarray
    carer: np.ndarray
    carer_day: np.ndarray

    def count_before(self, day: np.ndarray) -> np.ndarray:
        """Deficits (polypharmacy aside) recorded before `day` (one day per person)."""
        return ((self.deficit_day >= 0) & (self.deficit_day < day[:, None])).sum(axis=1)


def condition_deficits(members: dict[str, frozenset[str]]) -> dict[str, str]:
    """The eFI deficit each condition's diagnosis codes fall in (read from the code sets)."""
    out: dict[str, str] = {}
    for c in CONDITIONS:
        sets = {name for name in DEFICITS if members.get(c.name, frozenset()) & members[name]}
        if len(sets) > 1:
            raise ValueError(f"{c.name} codes fall in more than one eFI deficit: {sorted(sets)}")
        if sets:
            out[c.name] = sets.pop()
    return out


def build_frailty(
    people: People,
    conditions: Conditions,
    polypharmacy: np.ndarray,
    members: dict[str, frozenset[str]],
    streams: Streams,
) -> Frailty:
    """Deficits (first recorded day), statuses and carers for everyone in the record."""
    rng = streams("frailty")
    n = people.n
    age = people.age_at_end
    implied = condition_deficits(members)
    deficit_day = np.full((n, len(DEFICITS)), -1, dtype=np.int32)
    for i, c in enumerate(CONDITIONS):
        name = implied.get(c.name)
        if name is None:
            continue
        days = conditions.diagnosed[:, i]
        j = DEFICIT[name]
        earlier = (deficit_day[:, j] < 0) | ((days >= 0) & (days < deficit_day[:, j]))
        deficit_day[:, j] = np.where((days >= 0) & earlier, days, deficit_day[:, j])
    forced = (deficit_day >= 0).sum(axis=1) + polypharmacy

    score = (
        0.5 * conditions.health
        + 0.05 * (age - 65)
        + 0.45 * forced
        + 0.3 * people.deprivation
        + rng.normal(0, 0.7, n)
    )
    target = _target_counts(rng, people, score, forced)

    older = age >= 65
    care_home = _care_home(rng, people, target, older)
    housebound = _housebound(rng, people, target, older & ~care_home)
    care_home_day = _status_day(rng, people, care_home, 2.3)
    housebound_day = _status_day(rng, people, housebound, 2.5)
    deficit_day[:, DEFICIT["efi-housebound"]] = np.where(housebound, housebound_day, -1)
    care = DEFICIT["efi-care-requirement"]
    deficit_day[:, care] = np.where(
        care_home & (deficit_day[:, care] < 0), care_home_day, deficit_day[:, care]
    )
    finding = np.zeros(deficit_day.shape, dtype=bool)
    _add_findings(rng, people, target, deficit_day, finding, polypharmacy)

    count = (deficit_day >= 0).sum(axis=1) + polypharmacy
    carer = _carers(rng, people, care_home | housebound)
    return Frailty(
        deficit_day=deficit_day,
        finding=finding,
        polypharmacy=polypharmacy,
        count=count,
        care_home=care_home,
        care_home_day=care_home_day,
        housebound=housebound,
        housebound_day=housebound_day,
        carer=carer,
        carer_day=_status_day(rng, people, carer, 4.0, from_age=16),
    )


def _target_counts(
    rng: np.random.Generator, people: People, score: np.ndarray, forced: np.ndarray
) -> np.ndarray:
    age = people.age_at_end
    reference = people.current & (age >= 65)
    target = np.zeros(people.n, dtype=np.int64)
    if reference.any():
        order = np.argsort(score[reference], kind="stable")
        quantile = (np.arange(order.shape[0]) + 0.5) / order.shape[0]
        counts = np.searchsorted(
            np.cumsum(TARGET_COUNTS) / TARGET_COUNTS.sum(), quantile, side="right"
        )
        ranked = np.empty(order.shape[0], dtype=np.int64)
        ranked[order] = counts
        target[reference] = ranked
        # Everyone else aged 65+ sits on the same score-to-count scale.
        others = ~reference & (age >= 65)
        target[others] = np.rint(
            np.interp(score[others], np.sort(score[reference]), np.sort(ranked))
        )
    younger = age < 65
    rate = (
        0.04
        + 0.012 * np.maximum(age - 18, 0)
        + 0.3 * np.maximum(score, 0) * (age >= 18)
        + 0.8 * (people.status == DIED)
    )
    target[younger] = forced[younger] + rng.poisson(rate[younger])
    return np.maximum(target, forced)


def _care_home(
    rng: np.random.Generator, people: People, target: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    linear = np.where(eligible, 0.11 * (people.age_at_end - 85) + 0.35 * (target - 9), -np.inf)
    return _calibrated_flag(rng, people, linear, round(CARE_HOME_SHARE * people.current.sum()))


def _housebound(
    rng: np.random.Generator, people: People, target: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    linear = np.where(eligible, 0.07 * (people.age_at_end - 80) + 0.4 * (target - 8), -np.inf)
    wanted = round(HOUSEBOUND_SHARE_65 * (people.current & eligible).sum())
    return _calibrated_flag(rng, people, linear, wanted)


def _calibrated_flag(
    rng: np.random.Generator, people: People, linear: np.ndarray, wanted: int
) -> np.ndarray:
    """Exactly `wanted` of the registered people, by their probability; others by chance."""
    current = people.current
    p = sigmoid(calibrate_intercept(linear[current], wanted) + linear)
    flag = np.zeros(people.n, dtype=bool)
    flag[np.flatnonzero(current)[fixed_size_sample(rng, p[current], wanted)]] = True
    flag[~current] = rng.random((~current).sum()) < p[~current]
    return flag


def _status_day(
    rng: np.random.Generator,
    people: People,
    flag: np.ndarray,
    mean_years: float,
    from_age: float = 65,
) -> np.ndarray:
    """When a status began: a few years before the end of the record, not before `from_age`."""
    earliest = people.dob + int(from_age * DAYS_PER_YEAR)
    day = people.end - np.floor(rng.exponential(mean_years * DAYS_PER_YEAR, people.n))
    day = np.minimum(np.maximum(day, earliest), people.end)
    return np.where(flag, day, -1).astype(np.int32)


def _add_findings(
    rng: np.random.Generator,
    people: People,
    target: np.ndarray,
    deficit_day: np.ndarray,
    finding: np.ndarray,
    polypharmacy: np.ndarray,
) -> None:
    """Top each person up to their target count with findings, weighted by frailty (Gumbel
    top-k: a weighted sample without replacement of a different size for each person)."""
    have = (deficit_day >= 0).sum(axis=1) + polypharmacy
    extra = np.maximum(target - have, 0)
    who = np.flatnonzero(extra > 0)
    columns = np.array([DEFICIT[name] for name in FINDINGS])
    base = np.log(np.array([w for w, _ in FINDINGS.values()]))
    loading = np.array([b for _, b in FINDINGS.values()])
    frailty = (target[who, None] - 5) / 4.0
    keys = (
        base[None, :]
        + loading[None, :] * frailty
        - np.log(-np.log(rng.random((who.shape[0], len(columns)))))
    )
    keys[deficit_day[who][:, columns] >= 0] = -np.inf
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = (rank < extra[who, None]) & np.isfinite(keys)
    rows, cols = np.nonzero(chosen)
    person, column = who[rows], columns[cols]
    end = people.end[person]
    earliest = np.maximum(
        people.dob[person] + int(16 * DAYS_PER_YEAR), end - int(12 * DAYS_PER_YEAR)
    )
    day = end - np.floor(rng.random(person.shape[0]) ** 1.6 * np.maximum(end - earliest, 0))
    deficit_day[person, column] = day.astype(np.int32)
    finding[person, column] = True


def _carers(rng: np.random.Generator, people: People, cared_for: np.ndarray) -> np.ndarray:
    age = people.age_at_end
    base = np.select(
        [age < 18, age < 35, age < 50, age < 65, age < 80], [0.0, 0.06, 0.10, 0.16, 0.11], 0.05
    ) * np.where(people.female, 1.2, 0.85)
    base = np.where(cared_for, 0.0, base)
    adults = people.current & (age >= 18)
    scale = CARER_SHARE_ADULTS * adults.sum() / base[adults].sum()
    return rng.random(people.n) < base * scale
