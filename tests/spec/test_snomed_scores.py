"""eFI, Cambridge Multimorbidity Score and long-term-condition counts on every engine.

Readable input → expected output. Each case is one person, so one query per score and engine
checks them all. Index date 2024-06-30 throughout.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from joinedup.analytics.engine import put_table
from joinedup.analytics.scores import cms, conditions, efi
from joinedup.terminology.codelists import load_codelist
from tests.spec.conftest import run

INDEX = dt.date(2024, 6, 30)
BEFORE = dt.date(2020, 5, 1)  # "ever before" the index date
LAST_MONTH = dt.date(2024, 6, 1)  # inside every look-back window
AFTER = dt.date(2024, 7, 1)  # after the index date: ignored


def snomed(codelist_id: str) -> str:
    """A SNOMED code of the list (the smallest, so cases are stable)."""
    return min(load_codelist(codelist_id).codes["snomed"], key=lambda c: (len(c), c))


def deficit_code(number: int) -> str:
    deficit = efi.DEFICITS[number - 1]
    assert deficit.codelist_id, deficit
    return snomed(deficit.codelist_id)


CODED = [d.number for d in efi.CODED_DEFICITS]  # 35 deficit numbers, polypharmacy excluded


def events_table(rows: list[tuple]) -> pa.Table:
    """Rows of (person_id, code, event_date[, value, code_system])."""
    people, systems, codes, dates, values = [], [], [], [], []
    for row in rows:
        person, code, date, *rest = row
        value = rest[0] if rest else None
        system = rest[1] if len(rest) > 1 else "snomed"
        people.append(person)
        systems.append(system)
        codes.append(code)
        dates.append(date)
        values.append(value)
    return pa.table(
        {
            "person_id": pa.array(people, pa.int64()),
            "code_system": systems,
            "code": codes,
            "event_date": pa.array(dates, pa.date32()),
            "value": pa.array(values, pa.float64()),
        }
    )


def medications_table(rows: list[tuple]) -> pa.Table:
    """Rows of (person_id, code, name, issue_date); issue ids are assigned in order."""
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.int64()),
            "issue_id": pa.array(range(1, len(rows) + 1), pa.int64()),
            "code": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "issue_date": pa.array([r[3] for r in rows], pa.date32()),
        }
    )


def deficits(person: int, n: int, date: dt.date = BEFORE) -> list[tuple]:
    return [(person, deficit_code(number), date) for number in CODED[:n]]


# --- eFI -----------------------------------------------------------------------------------

EFI_EVENTS = (
    deficits(1, 4)
    + deficits(2, 5)
    + deficits(3, 8)
    + deficits(4, 9)
    + deficits(5, 12)
    + deficits(6, 13)
    # 9: one deficit on the index date counts; another the day after does not
    + [(9, deficit_code(1), INDEX), (9, deficit_code(2), AFTER)]
    # 10: the same deficit (falls) twice, by two codes in two code systems: counted once
    + [
        (10, deficit_code(10), BEFORE),
        (10, min(load_codelist("efi-falls").codes["ctv3"]), LAST_MONTH, None, "ctv3"),
    ]
    # 11: a code in no codelist
    + [(11, "NOTACODE", BEFORE)]
    # 12: all 35 coded deficits (with polypharmacy below: 36)
    + deficits(12, 35)
)
EFI_MEDICATIONS = (
    # 7: four distinct medicines in the last 12 months (one issued twice) → no polypharmacy
    [(7, f"med{i}", f"Medicine {i}", LAST_MONTH) for i in range(4)]
    + [(7, "med0", "Medicine 0", dt.date(2024, 1, 1))]
    # 7 also had a fifth medicine, but 366 days before the index date: outside the look-back
    + [(7, "med9", "Medicine 9", INDEX - dt.timedelta(days=365))]
    # 8: five distinct medicines → polypharmacy (the fifth on the index date itself)
    + [(8, f"med{i}", f"Medicine {i}", LAST_MONTH) for i in range(4)]
    + [(8, "med4", "Medicine 4", INDEX)]
    + [(12, f"med{i}", f"Medicine {i}", LAST_MONTH) for i in range(5)]
)
EFI_EXPECTED = {
    1: (4, "fit"),
    2: (5, "mild"),
    3: (8, "mild"),
    4: (9, "moderate"),
    5: (12, "moderate"),
    6: (13, "severe"),  # 13/36 = 0.3611 shows as "0.36" but is severe
    7: (0, "fit"),
    8: (1, "fit"),
    9: (1, "fit"),
    10: (1, "fit"),
    11: (0, "fit"),
    12: (36, "severe"),
}


@pytest.fixture
def efi_inputs(con):
    events = put_table(con, "spec_efi_events", events_table(EFI_EVENTS))
    medications = put_table(con, "spec_efi_meds", medications_table(EFI_MEDICATIONS))
    codelists = put_table(con, "spec_efi_codelists", efi.efi_codelists())
    return events, medications, codelists


def test_efi_categories_boundaries_and_polypharmacy(con, efi_inputs):
    events, medications, codelists = efi_inputs
    result = run(con, efi.efi_scores(events, medications, index_date=INDEX, codelists=codelists))
    got = {r["person_id"]: r for r in result.to_pylist()}
    assert {p: (r["deficits"], r["category"]) for p, r in got.items()} == EFI_EXPECTED
    for person, (count, _) in EFI_EXPECTED.items():
        assert got[person]["efi"] == count / 36
    assert got[12]["efi"] == 1.0


def test_efi_contributions_name_the_first_code(con, efi_inputs):
    events, medications, codelists = efi_inputs
    expr = efi.efi_contributions(events, medications, index_date=INDEX, codelists=codelists)
    rows = [r for r in run(con, expr).to_pylist() if r["person_id"] in (8, 10)]
    assert rows == [
        {
            "person_id": 8,
            "deficit_no": 26,
            "deficit": "Polypharmacy",
            "code_system": "medication",
            "code": "med4",
            "event_date": INDEX,
        },
        {
            "person_id": 10,
            "deficit_no": 10,
            "deficit": "Falls",
            "code_system": "snomed",
            "code": deficit_code(10),
            "event_date": BEFORE,
        },
    ]


def test_efi_category_function():
    counts = [0, 4, 5, 8, 9, 12, 13, 36]
    assert [efi.category(n) for n in counts] == [
        "fit",
        "fit",
        "mild",
        "mild",
        "moderate",
        "moderate",
        "severe",
        "severe",
    ]


# --- Cambridge Multimorbidity Score -------------------------------------------------------

EGFR = snomed("egfr")


def all_twenty(person: int) -> tuple[list[tuple], list[tuple]]:
    events = [
        (person, snomed(cms.CODELIST_IDS[key]), BEFORE)
        for key in (
            "hypertension",
            "hearing",
            "ibs",
            "asthma",
            "diabetes",
            "chd",
            "af",
            "stroke",
            "copd",
            "tissue",
            "alcohol",
            "hf",
            "dementia",
            "psychosis",
            "epilepsy",
        )
    ] + [
        (person, snomed("anxiety"), LAST_MONTH),
        (person, snomed("cancer"), dt.date(2022, 1, 1)),
        (person, EGFR, dt.date(2024, 1, 10), 45.0),
        (person, EGFR, dt.date(2024, 5, 10), 52.0),
    ]
    meds = (
        [(person, "cod", "Codeine phosphate 30mg tablets", LAST_MONTH)] * 4  # painful condition
        + [(person, "sen", "Senna 7.5mg tablets", LAST_MONTH)] * 4  # constipation
        + [(person, "sal", "Salbutamol 100micrograms/dose inhaler", LAST_MONTH)]  # asthma
        + [(person, "lam", "Lamotrigine 100mg tablets", LAST_MONTH)]  # epilepsy
    )
    return events, meds


EVERYTHING_EVENTS, EVERYTHING_MEDICATIONS = all_twenty(4)
CMS_EVENTS = [
    *EVERYTHING_EVENTS,
    (1, "NOTACODE", BEFORE),  # none → 0
    (2, "26929004", BEFORE),  # dementia only (Alzheimer's disease, a Synthea concept) → 2.50
    (3, snomed("anxiety"), LAST_MONTH),  # anxiety AND depression → 0.50 (one item)
    (3, snomed("depression"), LAST_MONTH),
    (5, snomed("cancer"), dt.date(2018, 1, 1)),  # cancer first recorded > 5 years ago → 0
    (5, snomed("cancer"), LAST_MONTH),
    (6, snomed("ckd-stage-3-5"), BEFORE),  # CKD code but last two eGFRs best ≥ 60 → 0
    (6, EGFR, dt.date(2023, 1, 1), 40.0),
    (6, EGFR, dt.date(2024, 1, 1), 55.0),
    (6, EGFR, dt.date(2024, 2, 1), 61.0),
    (7, snomed("ckd-stage-3-5"), BEFORE),  # CKD code and no eGFR → 0.53
    (8, snomed("anxiety"), dt.date(2022, 1, 1)),  # anxiety code over 12 months ago → 0
    (9, "38341003", AFTER),  # hypertension after the index date → 0
    (10, snomed("asthma"), BEFORE),  # asthma code, no asthma treatment in the year → 0
    (10, snomed("epilepsy"), BEFORE),  # epilepsy: code and gabapentin → 0.92 (EPI, not PNC)
]
CMS_MEDICATIONS = EVERYTHING_MEDICATIONS + (
    [(10, "gab", "Gabapentin 300mg capsules", LAST_MONTH)] * 4
    + [(11, "lit", "Lithium carbonate 400mg modified-release tablets", dt.date(2010, 1, 1))]
    + [(12, "lax", "Lactulose 3.3g/5ml oral solution", LAST_MONTH)] * 3  # 3 laxatives → 0
)
CMS_EXPECTED = {
    1: 0.0,
    2: 2.5,
    3: 0.5,
    4: 16.33,
    5: 0.0,
    6: 0.0,
    7: 0.53,
    8: 0.0,
    9: 0.0,
    10: 0.92,
    11: 0.64,  # lithium ever → psychosis
    12: 0.0,
}


@pytest.fixture
def cms_inputs(con):
    events = put_table(con, "spec_cms_events", events_table(CMS_EVENTS))
    medications = put_table(con, "spec_cms_meds", medications_table(CMS_MEDICATIONS))
    codelists = put_table(con, "spec_cms_codelists", cms.cms_codelists())
    return events, medications, codelists


def test_cms_reference_vectors(con, cms_inputs):
    events, medications, codelists = cms_inputs
    result = run(con, cms.cms_scores(events, medications, index_date=INDEX, codelists=codelists))
    got = {r["person_id"]: r for r in result.to_pylist()}
    assert {p: r["cms"] for p, r in got.items()} == CMS_EXPECTED
    assert got[4]["conditions"] == 20


def test_cms_contributions_list_each_condition(con, cms_inputs):
    events, medications, codelists = cms_inputs
    expr = cms.cms_contributions(events, medications, index_date=INDEX, codelists=codelists)
    rows = run(con, expr).to_pylist()
    everyone = {r["condition_code"] for r in rows if r["person_id"] == 4}
    assert everyone == {c.code for c in cms.CONDITIONS}
    assert [(r["condition_code"], r["weight"]) for r in rows if r["person_id"] in (2, 3)] == [
        ("DEM", 2.5),
        ("ANX_DEP", 0.5),
    ]


def test_cms_without_medication_data_uses_codes_alone(con, cms_inputs):
    events, _, codelists = cms_inputs
    result = run(con, cms.cms_scores(events, None, index_date=INDEX, codelists=codelists))
    got = {r["person_id"]: r["cms"] for r in result.to_pylist()}
    # 20 conditions less painful condition (0.92) and constipation (1.12): 14.29
    assert got[4] == 14.29
    assert got[10] == 1.11  # asthma (0.19) and epilepsy (0.92) fall back to "code ever"


# --- long-term conditions and polypharmacy -----------------------------------------------

LTC_EVENTS = [
    (1, "38341003", BEFORE),  # hypertension (Synthea concept)
    (1, "44054006", BEFORE),  # type 2 diabetes (Synthea concept)
    (1, "49436004", LAST_MONTH),  # atrial fibrillation
    (1, "49436004", BEFORE),  # the same condition again: counted once
    (2, "88805009", AFTER),  # heart failure after the index date: ignored
    (3, "NOTACODE", BEFORE),
]
LTC_MEDICATIONS = (
    [(2, f"m{i}", f"Medicine {i}", LAST_MONTH) for i in range(10)]
    + [(3, f"m{i}", f"Medicine {i}", LAST_MONTH) for i in range(5)]
    + [(3, "m9", "Medicine 9", dt.date(2023, 1, 1))]  # outside the 12 months
)


def test_ltc_counts_and_polypharmacy(con):
    events = put_table(con, "spec_ltc_events", events_table(LTC_EVENTS))
    medications = put_table(con, "spec_ltc_meds", medications_table(LTC_MEDICATIONS))
    codelists = put_table(con, "spec_ltc_codelists", conditions.ltc_codelists())
    expr = conditions.ltc_counts(events, medications, index_date=INDEX, codelists=codelists)
    expr = expr.select(
        "person_id",
        "hypertension",
        "diabetes",
        "atrial_fibrillation",
        "heart_failure",
        "ltc_count",
        "medicines",
        "polypharmacy_5",
        "polypharmacy_10",
    )
    assert run(con, expr).to_pylist() == [
        {
            "person_id": 1,
            "hypertension": True,
            "diabetes": True,
            "atrial_fibrillation": True,
            "heart_failure": False,
            "ltc_count": 3,
            "medicines": 0,
            "polypharmacy_5": False,
            "polypharmacy_10": False,
        },
        {
            "person_id": 2,
            "hypertension": False,
            "diabetes": False,
            "atrial_fibrillation": False,
            "heart_failure": False,
            "ltc_count": 0,
            "medicines": 10,
            "polypharmacy_5": True,
            "polypharmacy_10": True,
        },
        {
            "person_id": 3,
            "hypertension": False,
            "diabetes": False,
            "atrial_fibrillation": False,
            "heart_failure": False,
            "ltc_count": 0,
            "medicines": 5,
            "polypharmacy_5": True,
            "polypharmacy_10": False,
        },
    ]


def test_scores_over_a_bare_snomed_extract(con):
    codes = put_table(
        con,
        "spec_extract",
        pa.table(
            {
                "person_id": pa.array([1, 1, 2], pa.int64()),
                "code": ["26929004", "38341003", "49436004"],
            }
        ),
    )
    got_cms = {
        r["person_id"]: r["cms"]
        for r in run(con, cms.score_codes(codes, index_date=INDEX)).to_pylist()
    }
    got_efi = {
        r["person_id"]: r["deficits"]
        for r in run(con, efi.score_codes(codes, index_date=INDEX)).to_pylist()
    }
    assert got_cms == {1: 2.58, 2: 1.34}
    assert got_efi == {1: 2, 2: 1}
