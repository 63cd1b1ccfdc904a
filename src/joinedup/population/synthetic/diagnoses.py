"""ICD-10 diagnoses of hospital spells, as HES records them.

A spell's primary diagnosis follows the person's conditions and findings (heart failure admits
with heart failure, COPD with exacerbations, falls with hip fractures, dementia with delirium;
children with bronchiolitis and fevers); elective spells are the common operations and day
cases. Secondary diagnoses are the conditions and eFI findings recorded in the GP record before
admission, coded as the Hospital Frailty Risk Score and Charlson/Elixhauser indices read them
(dementia F00–F03, falls R29.6, incontinence R32, pressure ulcer L89, heart failure I50…), then
external causes (W19 after a fall injury) and the outcome of delivery.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.population.synthetic.conditions import CONDITIONS, INDEX, Conditions
from joinedup.population.synthetic.frailty import DEFICIT, DEFICITS, Frailty
from joinedup.population.synthetic.people import People
from joinedup.population.synthetic.randomness import cumulative
from joinedup.population.synthetic.reference import ConceptCodes

# Admission methods, in the order of hospital_spells.admission_method's allowed values.
ELECTIVE, EMERGENCY, MATERNITY = 0, 1, 2
METHODS = ("elective", "emergency", "maternity", "other")
# Kinds of spell that need handling of their own.
ORDINARY, DIES_IN_SPELL, CHEMOTHERAPY = 0, 1, 2
MAX_SECONDARY = 12

# Secondary-diagnosis codes for eFI findings (ICD-10, no dot).
DEFICIT_ICD10 = {
    "efi-falls": "R296",
    "efi-mobility-problems": "R268",
    "efi-urinary-incontinence": "R32X",
    "efi-cognitive-problems": "R410",
    "efi-skin-ulcer": "L899",
    "efi-care-requirement": "Z741",
    "efi-housebound": "Z742",
    "efi-social-vulnerability": "Z602",
    "efi-weight-loss": "R634",
    "efi-anaemia": "D649",
    "efi-dizziness": "R42X",
    "efi-dyspnoea": "R060",
    "efi-hypotension": "I959",
    "efi-fragility-fracture": "M809",
    "efi-sleep-disturbance": "G479",
    "efi-vision-problems": "H269",
    "efi-hearing-loss": "H919",
    "efi-pvd": "I739",
    "efi-peptic-ulcer": "K279",
    "efi-thyroid-disorders": "E049",
    "efi-urinary-system-disease": "N399",
    "efi-heart-valve-disease": "I359",
    "efi-foot-problems": "L84X",
    "efi-activity-limitation": "Z993",
    "efi-arthritis": "M139",
    "efi-osteoporosis": "M858",
    "efi-parkinsons": "R251",
}
# HRG4+ subchapter roots for the commonest emergency reasons (indicative, not grouper output).
HRG = {
    "I509": "EB03",
    "J441": "DZ65",
    "J459": "DZ15",
    "I489": "EB07",
    "I214": "EB10",
    "I639": "AA35",
    "G459": "AA29",
    "J189": "DZ11",
    "J22X": "DZ22",
    "N390": "LA04",
    "A419": "WJ06",
}
FALL_INJURIES = ("S7200", "S099")


class IcdCodes:
    """A growing vocabulary of ICD-10 codes, as integer ids."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.ids: dict[str, int] = {}

    def id(self, code: str) -> int:
        if code not in self.ids:
            self.ids[code] = len(self.words)
            self.words.append(code)
        return self.ids[code]


def deficits_before(frailty: Frailty, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    days = frailty.deficit_day[person]
    return ((days >= 0) & (days < day[:, None])).sum(axis=1)


# Emergency reasons: (ICD-10, base weight, {feature: weight added}) — see _features.
EMERGENCY_REASONS: tuple[tuple[str, float, dict[str, float]], ...] = (
    ("I509", 0.0, {"heart-failure": 6.0}),
    ("J441", 0.0, {"copd": 6.0}),
    ("J459", 0.0, {"asthma": 2.0}),
    ("I489", 0.1, {"atrial-fibrillation": 3.0}),
    ("I214", 0.05, {"coronary-heart-disease": 1.5, "adult": 0.2}),
    ("R074", 0.0, {"adult": 1.5}),
    ("I639", 0.0, {"older": 0.15, "atrial-fibrillation": 1.0, "hypertension": 0.3}),
    ("G459", 0.0, {"older": 0.4}),
    ("J189", 0.3, {"older": 1.0, "frail": 0.8}),
    ("J22X", 0.3, {"older": 0.8}),
    ("N390", 0.3, {"older": 0.8, "female": 0.3, "frail": 0.5}),
    ("S7200", 0.0, {"very-old": 0.3, "efi-falls": 2.0}),
    ("F059", 0.0, {"dementia": 2.0, "very-old": 0.3}),
    ("A419", 0.2, {"older": 0.4, "frail": 0.4}),
    ("L039", 0.6, {}),
    ("A099", 0.6, {"child": 1.2}),
    ("R104", 0.6, {"young-adult": 1.2}),
    ("R55X", 0.2, {"older": 0.3, "efi-hypotension": 1.5}),
    ("E86X", 0.0, {"very-old": 0.4}),
    ("N179", 0.0, {"older": 0.2, "chronic-kidney-disease": 1.0}),
    ("E162", 0.0, {"diabetes": 0.8}),
    ("J219", 0.0, {"infant": 4.0}),
    ("J069", 0.0, {"child": 1.5}),
    ("R509", 0.0, {"child": 1.5}),
    ("S099", 0.3, {"young-adult": 0.5, "child": 0.5}),
)
ELECTIVE_REASONS: tuple[tuple[str, float, dict[str, float]], ...] = (
    ("H251", 0.0, {"older": 0.5, "efi-vision-problems": 4.0}),
    ("M171", 0.0, {"osteoarthritis": 2.0}),
    ("M161", 0.0, {"osteoarthritis": 1.5}),
    ("K219", 0.0, {"adult": 0.8}),
    ("K573", 0.0, {"older": 0.6, "fifty": 0.3}),
    ("D126", 0.0, {"fifty": 0.6}),
    ("N40X", 0.0, {"older-man": 1.2}),
    ("K409", 0.2, {"man": 0.5}),
    ("K802", 0.0, {"adult-woman": 0.6}),
    ("N393", 0.0, {"adult-woman": 0.2, "efi-urinary-incontinence": 1.0}),
    ("N920", 0.0, {"woman-30-55": 0.6}),
    ("J352", 0.0, {"child": 0.8}),
    ("H659", 0.0, {"child": 0.5}),
    ("L989", 0.5, {}),
)
BIRTH_REASONS = (("O800", 0.7), ("O700", 0.2), ("O342", 0.1))


def _features(
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    person: np.ndarray,
    admitted: np.ndarray,
    age: np.ndarray,
) -> dict[str, np.ndarray]:
    female = people.female[person]
    f = {
        "adult": age >= 25,
        "older": age >= 65,
        "very-old": age >= 80,
        "child": age < 16,
        "infant": age < 2,
        "young-adult": (age >= 16) & (age < 65),
        "fifty": age >= 50,
        "female": female,
        "man": ~female & (age >= 18),
        "older-man": ~female & (age >= 60),
        "adult-woman": female & (age >= 30),
        "woman-30-55": female & (age >= 30) & (age < 55),
        "frail": deficits_before(frailty, person, admitted) >= 9,
    }
    for name, i in INDEX.items():
        day = conditions.diagnosed[person, i]
        f[name] = (day >= 0) & (day <= admitted)
    for name in ("efi-falls", "efi-hypotension", "efi-vision-problems", "efi-urinary-incontinence"):
        day = frailty.deficit_day[person, DEFICIT[name]]
        f[name] = (day >= 0) & (day <= admitted)
    return {k: v.astype(np.float64) for k, v in f.items()}


def _choose_reason(
    rng: np.random.Generator,
    reasons: tuple[tuple[str, float, dict[str, float]], ...],
    features: dict[str, np.ndarray],
    rows: np.ndarray,
) -> np.ndarray:
    weights = np.empty((rows.shape[0], len(reasons)))
    for j, (_, base, add) in enumerate(reasons):
        w = np.full(rows.shape[0], base)
        for feature, extra in add.items():
            w = w + extra * features[feature][rows]
        weights[:, j] = w
    weights[weights.sum(axis=1) == 0, -1] = 1.0
    u = rng.random(int(rows.shape[0]))[:, None]
    return np.minimum((cumulative(weights) <= u).sum(axis=1), len(reasons) - 1)


def primary_diagnoses(
    rng: np.random.Generator,
    vocabulary: IcdCodes,
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    person: np.ndarray,
    admitted: np.ndarray,
    method: np.ndarray,
    kind: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    features = _features(people, conditions, frailty, person, admitted, age)
    primary = np.empty(person.shape[0], dtype=np.int64)
    for reasons, rows in (
        (EMERGENCY_REASONS, np.flatnonzero(method == EMERGENCY)),
        (ELECTIVE_REASONS, np.flatnonzero((method == ELECTIVE) & (kind != CHEMOTHERAPY))),
    ):
        ids = np.array([vocabulary.id(code) for code, _, _ in reasons])
        primary[rows] = ids[_choose_reason(rng, reasons, features, rows)]
    births = np.flatnonzero(method == MATERNITY)
    ids = np.array([vocabulary.id(code) for code, _ in BIRTH_REASONS])
    pick = np.searchsorted(
        np.cumsum([w for _, w in BIRTH_REASONS]), rng.random(births.shape[0]), side="right"
    ).clip(0, len(ids) - 1)
    primary[births] = ids[pick]
    primary[kind == CHEMOTHERAPY] = vocabulary.id("Z511")  # chemotherapy session
    return primary


def diagnosis_table(
    rng: np.random.Generator,
    vocabulary: IcdCodes,
    people: People,
    conditions: Conditions,
    frailty: Frailty,
    codes: dict[str, ConceptCodes],
    spell_id: np.ndarray,
    person: np.ndarray,
    admitted: np.ndarray,
    primary: np.ndarray,
    method: np.ndarray,
    age: np.ndarray,
) -> pa.Table:
    """Primary diagnosis at position 1, then conditions and frailty findings known before
    admission (up to MAX_SECONDARY), then external causes and outcome of delivery."""
    # Columns: each condition (its code may depend on the SNOMED code recorded), each finding.
    condition_ids = np.empty((people.n, len(CONDITIONS)), dtype=np.int64)
    for i, c in enumerate(CONDITIONS):
        per_code = np.array(
            [vocabulary.id(c.icd10_by_code.get(code, c.icd10)) for code in codes[c.name].codes]
        )
        condition_ids[:, i] = per_code[conditions.code[:, i]]
    deficit_columns = [DEFICIT[name] for name in DEFICIT_ICD10]
    deficit_ids = np.array([vocabulary.id(DEFICIT_ICD10[DEFICITS[j]]) for j in deficit_columns])

    days = np.concatenate(
        [conditions.diagnosed[person], frailty.deficit_day[person][:, deficit_columns]], axis=1
    )
    ids = np.concatenate(
        [condition_ids[person], np.broadcast_to(deficit_ids, (person.shape[0], len(deficit_ids)))],
        axis=1,
    )
    present = (days >= 0) & (days <= admitted[:, None]) & (ids != primary[:, None])
    present &= (method != MATERNITY)[:, None]
    rank = np.cumsum(present, axis=1)
    present &= rank <= MAX_SECONDARY
    rows, cols = np.nonzero(present)
    secondary_spell, secondary_code = rows, ids[rows, cols]
    secondary_position = rank[rows, cols] + 1

    n_secondary = present.sum(axis=1)
    frail = deficits_before(frailty, person, admitted) >= 9
    extra_spell, extra_code = [], []
    senile = np.flatnonzero(frail & (age >= 75) & (method == EMERGENCY))
    extra_spell.append(senile)
    extra_code.append(np.full(senile.shape[0], vocabulary.id("R54X")))
    injured = np.flatnonzero(np.isin(primary, [vocabulary.ids.get(c, -1) for c in FALL_INJURIES]))
    extra_spell.append(injured)
    extra_code.append(np.full(injured.shape[0], vocabulary.id("W199")))
    births = np.flatnonzero(method == MATERNITY)
    extra_spell.append(births)
    extra_code.append(np.full(births.shape[0], vocabulary.id("Z370")))
    extra_spell_all = np.concatenate(extra_spell)
    extra_code_all = np.concatenate(extra_code)
    order = np.argsort(extra_spell_all, kind="stable")
    extra_spell_all, extra_code_all = extra_spell_all[order], extra_code_all[order]
    same = np.zeros(extra_spell_all.shape[0], dtype=np.int64)
    if extra_spell_all.shape[0]:
        first = np.r_[True, extra_spell_all[1:] != extra_spell_all[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(first.shape[0]), 0))
        same = np.arange(first.shape[0]) - group_start
    extra_position = n_secondary[extra_spell_all] + 2 + same

    spell = np.concatenate([np.arange(person.shape[0]), secondary_spell, extra_spell_all])
    position = np.concatenate(
        [np.ones(person.shape[0], dtype=np.int64), secondary_position, extra_position]
    )
    code = np.concatenate([primary, secondary_code, extra_code_all])
    order = np.lexsort((position, spell))
    spell, position, code = spell[order], position[order], code[order]
    return pa.table(
        {
            "spell_id": pa.array(spell_id[spell]),
            "person_id": pa.array(person[spell] + 1),
            "position": pa.array(position.astype(np.int64)),
            "icd10_code": pa.array(vocabulary.words, pa.string()).take(pa.array(code)),
        }
    )
