"""Build joinedup's codelists (versioned CSV data with their sources) from ../shared/.

    uv run python scripts/build_codelists.py [--shared PATH] [--check]

Reads the Greater Manchester SDE clinical code sets (`codelists_gm_sde/`, SNOMED CT, CTV3 and
Read v2) and the OpenSAFELY / NHS Digital Primary Care Domain reference sets
(`codelists_opensafely/`), and writes one CSV per codelist (code_system, code, description) plus
`codelists.yaml`, the index: each list's id, version, name, code systems, sizes, checksum,
sources (repository, path, commit, licence) and every code added by hand with its reason.

A list's `version` is bumped by hand in SPECS whenever its content changes; the index records a
SHA-256 of each CSV so a test catches content that changed without a rebuild. `--check`
rebuilds in memory and fails if any committed CSV differs (the build is deterministic; only the
index's `built` date moves).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from joinedup.terminology.codelists import snomed_code_problem

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "joinedup" / "terminology" / "codelists"
DEFAULT_SHARED = ROOT.parent / "shared"

GM_SDE = {
    "repository": "https://github.com/UoM-Data-Science-Platforms/gm-sde",
    "commit": "6cf10afc0d745a557b2e8dd7e0b1d4b61ea40e42",
    "licence": (
        "none stated: the repository has no licence file. Cited as the source; the code sets "
        "reproduce public terminologies (SNOMED CT, CTV3, Read v2) and, for eFI, the published "
        "Clegg et al. (2016) electronic frailty index code lists."
    ),
    "root": "shared/clinical-code-sets",
    "local": "data/codelists_gm_sde",
}
OPENSAFELY_QOF = {
    "repository": "https://github.com/opensafely/qof-utilities",
    "commit": "eef207d16f38ebd862f7311f5b591150623b607e",
    "licence": "MIT (repository LICENSE); codes from the NHS Digital Primary Care Domain "
    "reference sets (SNOMED CT UK licence terms apply to the codes)",
    "root": "codelists",
    "local": "data/codelists_opensafely/qof-utilities",
}
HAND = {
    "repository": "joinedup (this repository)",
    "commit": None,
    "licence": "MIT (joinedup); SNOMED CT concept identifiers",
    "root": "scripts/build_codelists.py",
    "local": None,
}

GM_SYSTEMS = {"snomed": "snomed", "ctv3": "ctv3", "readv2": "read2"}
ALL = ("snomed", "ctv3", "read2")


@dataclass(frozen=True)
class Part:
    """Codes taken from one source code set."""

    source: str  # "gm-sde" | "opensafely-qof"
    path: str  # gm-sde: "conditions/copd/1"; opensafely: the CSV file name
    systems: tuple[str, ...] = ALL
    upstream_id: str | None = None  # e.g. the OpenCodelists id and version


@dataclass(frozen=True)
class Addition:
    """A concept added by hand, with the reason recorded in the index."""

    code: str
    description: str
    reason: str
    code_system: str = "snomed"


@dataclass(frozen=True)
class Spec:
    id: str
    version: int
    name: str
    uses: tuple[str, ...]
    parts: tuple[Part, ...]
    additions: tuple[Addition, ...] = field(default=())
    note: str = ""


def gm(path: str, systems: tuple[str, ...] = ALL) -> Part:
    return Part("gm-sde", path, systems)


def qof(refset: str, version: str) -> Part:
    return Part(
        "opensafely-qof",
        f"nhsd-primary-care-domain-refsets-{refset}.csv",
        ("snomed",),
        upstream_id=f"nhsd-primary-care-domain-refsets/{refset}/{version}",
    )


SYNTHEA = "used by Synthea (../shared/data/synthea_fhir_r4_smart_on_fhir Condition codes)"

# Synthea's chronic kidney disease module codes for stage 3 and worse (in both CKD lists).
SYNTHEA_CKD_STAGE_3_5 = (
    Addition(
        "433144002",
        "Chronic kidney disease stage 3 (disorder)",
        "used by Synthea's chronic kidney disease module (stage 3)",
    ),
    Addition(
        "431857002",
        "Chronic kidney disease stage 4 (disorder)",
        "used by Synthea's chronic kidney disease module (stage 4)",
    ),
    Addition(
        "46177005",
        "End-stage renal disease (disorder)",
        "used by Synthea's chronic kidney disease module (end stage)",
    ),
)

# --- the 35 coded eFI deficits: gm-sde `efi-*` code sets, unchanged ------------------------
EFI_FOLDERS = {
    # id: (area, name)
    "efi-activity-limitation": ("patient", "Activity limitation"),
    "efi-anaemia": ("patient", "Anaemia & haematinic deficiency"),
    "efi-arthritis": ("conditions", "Arthritis"),
    "efi-atrial-fibrillation": ("conditions", "Atrial fibrillation"),
    "efi-stroke-tia": ("conditions", "Cerebrovascular disease"),
    "efi-ckd": ("conditions", "Chronic kidney disease"),
    "efi-diabetes": ("conditions", "Diabetes"),
    "efi-dizziness": ("patient", "Dizziness"),
    "efi-dyspnoea": ("patient", "Dyspnoea"),
    "efi-falls": ("patient", "Falls"),
    "efi-foot-problems": ("conditions", "Foot problems"),
    "efi-fragility-fracture": ("conditions", "Fragility fracture"),
    "efi-hearing-loss": ("conditions", "Hearing impairment"),
    "efi-heart-failure": ("conditions", "Heart failure"),
    "efi-heart-valve-disease": ("conditions", "Heart valve disease"),
    "efi-housebound": ("patient", "Housebound"),
    "efi-hypertension": ("conditions", "Hypertension"),
    "efi-hypotension": ("conditions", "Hypotension / syncope"),
    "efi-chd": ("conditions", "Ischaemic heart disease"),
    "efi-cognitive-problems": ("patient", "Memory & cognitive problems"),
    "efi-mobility-problems": ("patient", "Mobility and transfer problems"),
    "efi-osteoporosis": ("conditions", "Osteoporosis"),
    "efi-parkinsons": ("conditions", "Parkinsonism & tremor"),
    "efi-peptic-ulcer": ("conditions", "Peptic ulcer"),
    "efi-pvd": ("conditions", "Peripheral vascular disease"),
    "efi-care-requirement": ("patient", "Requirement for care"),
    "efi-respiratory-disease": ("conditions", "Respiratory disease"),
    "efi-skin-ulcer": ("conditions", "Skin ulcer"),
    "efi-sleep-disturbance": ("patient", "Sleep disturbance"),
    "efi-social-vulnerability": ("patient", "Social vulnerability"),
    "efi-thyroid-disorders": ("conditions", "Thyroid disease"),
    "efi-urinary-incontinence": ("patient", "Urinary incontinence"),
    "efi-urinary-system-disease": ("conditions", "Urinary system disease"),
    "efi-vision-problems": ("conditions", "Visual impairment"),
    "efi-weight-loss": ("patient", "Weight loss & anorexia"),
}

# Synthea SNOMED CT concepts that are subtypes of an eFI deficit but absent from gm-sde's lists
# (found by ingesting ../shared/data/synthea_fhir_r4_smart_on_fhir; tests/unit/test_ingest_synthea).
EFI_SYNTHEA_ADDITIONS: dict[str, tuple[Addition, ...]] = {
    "efi-diabetes": (
        Addition(
            "368581000119106",
            "Neuropathy due to type 2 diabetes mellitus (disorder)",
            SYNTHEA + "; a complication of (so a subtype of) diabetes",
        ),
        Addition(
            "1551000119108",
            "Nonproliferative diabetic retinopathy due to type 2 diabetes mellitus (disorder)",
            SYNTHEA + "; a complication of (so a subtype of) diabetes",
        ),
        Addition(
            "90781000119102",
            "Microalbuminuria due to type 2 diabetes mellitus (disorder)",
            SYNTHEA + "; a complication of (so a subtype of) diabetes",
        ),
    ),
    "efi-cognitive-problems": (
        Addition(
            "230265002",
            "Familial Alzheimer's disease of early onset (disorder)",
            SYNTHEA + "; a subtype of Alzheimer's disease, already in the list",
        ),
    ),
    "efi-arthritis": (
        Addition(
            "201834006",
            "Localized, primary osteoarthritis of the hand (disorder)",
            SYNTHEA + "; osteoarthritis, as the list's other osteoarthritis concepts",
        ),
    ),
    "efi-fragility-fracture": (
        Addition(
            "359817006",
            "Closed fracture of hip (disorder)",
            SYNTHEA + "; hip fracture, as the list's other hip fracture concepts",
        ),
    ),
    "efi-thyroid-disorders": (
        Addition(
            "83664006",
            "Idiopathic atrophic hypothyroidism (disorder)",
            SYNTHEA + "; a subtype of hypothyroidism",
        ),
    ),
}

EFI_SPECS = [
    Spec(
        id=id_,
        version=2 if id_ in EFI_SYNTHEA_ADDITIONS else 1,
        name=f"{name} (electronic Frailty Index deficit)",
        uses=("efi",),
        parts=(gm(f"{area}/{id_}/1"),),
        additions=EFI_SYNTHEA_ADDITIONS.get(id_, ()),
        note="Codes of the original electronic frailty index (Clegg et al. 2016), as "
        "reproduced by gm-sde.",
    )
    for id_, (area, name) in EFI_FOLDERS.items()
]

# --- long-term conditions (LTC counts, Cambridge Multimorbidity Score) ---------------------
LTC_SPECS = [
    Spec(
        "hypertension",
        1,
        "Hypertension",
        ("ltc", "cms"),
        (gm("conditions/hypertension/1"),),
        (
            Addition(
                "38341003",
                "Hypertensive disorder, systemic arterial (disorder)",
                SYNTHEA + " as 'Hypertension'",
            ),
            Addition(
                "59621000",
                "Essential hypertension (disorder)",
                SYNTHEA + " and Synthea UK (synthea_uk_swpc_hypertension_csv)",
            ),
        ),
        note="Any diagnosis of hypertension; excludes hypertension in pregnancy (gm-sde, based "
        "on the QOF code sets).",
    ),
    Spec(
        "diabetes",
        1,
        "Diabetes mellitus (any type)",
        ("ltc", "cms"),
        (gm("conditions/diabetes/1"), qof("dm_cod", "20210127")),
        (
            Addition("44054006", "Diabetes mellitus type 2 (disorder)", SYNTHEA + " as 'Diabetes'"),
            Addition(
                "368581000119106",
                "Neuropathy due to type 2 diabetes mellitus (disorder)",
                SYNTHEA + "; a type 2 diabetes diagnosis (US extension concept)",
            ),
            Addition(
                "127013003",
                "Diabetic renal disease (disorder)",
                SYNTHEA + "; a diabetes diagnosis with renal complication",
            ),
            Addition(
                "90781000119102",
                "Microalbuminuria due to type 2 diabetes mellitus (disorder)",
                SYNTHEA + "; a type 2 diabetes diagnosis (US extension concept)",
            ),
            Addition(
                "422034002",
                "Retinopathy due to type 2 diabetes mellitus (disorder)",
                SYNTHEA + "; a type 2 diabetes diagnosis",
            ),
            Addition(
                "1551000119108",
                "Nonproliferative retinopathy due to type 2 diabetes mellitus (disorder)",
                SYNTHEA + "; a type 2 diabetes diagnosis (US extension concept)",
            ),
        ),
        note="Any diagnosis of diabetes mellitus. SNOMED: gm-sde set united with the QOF "
        "diabetes register refset (DM_COD). Prediabetes is not diabetes and is not included.",
    ),
    Spec(
        "asthma",
        1,
        "Asthma",
        ("ltc", "cms"),
        (gm("conditions/asthma/1"), qof("ast_cod", "4909d74a")),
        (
            Addition(
                "233678006",
                "Childhood asthma (disorder)",
                "used by Synthea (../shared/data/synthea_csv_v3_ohdsi_dbt conditions)",
            ),
            Addition("195967001", "Asthma (disorder)", SYNTHEA),
        ),
        note="SNOMED: gm-sde set united with the QOF asthma register refset (AST_COD).",
    ),
    Spec(
        "coronary-heart-disease",
        1,
        "Coronary heart disease",
        ("ltc", "cms"),
        (
            gm("conditions/coronary-heart-disease/1"),
            gm("conditions/coronary-heart-disease/2", ("snomed",)),
        ),
        (
            Addition(
                "53741008",
                "Coronary arteriosclerosis (disorder)",
                SYNTHEA + " as 'Coronary Heart Disease'",
            ),
            Addition("22298006", "Myocardial infarction (disorder)", SYNTHEA),
            Addition("399211009", "History of myocardial infarction (situation)", SYNTHEA),
        ),
        note="gm-sde version 1, developed from the Cambridge (CPRD@Cambridge v1.1) code list "
        "used by the Cambridge Multimorbidity Score; SNOMED united with gm-sde version 2 (NHS "
        "PCD refset). gm-sde v1's SNOMED file also holds Read v2 codes: those are dropped.",
    ),
    Spec(
        "atrial-fibrillation",
        1,
        "Atrial fibrillation",
        ("ltc", "cms"),
        (
            gm("conditions/atrial-fibrillation/1", ("ctv3", "read2")),
            gm("conditions/efi-atrial-fibrillation/1", ("snomed",)),
        ),
        (Addition("49436004", "Atrial fibrillation (disorder)", SYNTHEA),),
        note="gm-sde has no SNOMED set for AF; SNOMED codes come from its eFI AF set.",
    ),
    Spec(
        "copd",
        1,
        "Chronic obstructive pulmonary disease",
        ("ltc", "cms"),
        (gm("conditions/copd/1"),),
        (
            Addition("185086009", "Chronic obstructive bronchitis (disorder)", SYNTHEA),
            Addition("87433001", "Pulmonary emphysema (disorder)", SYNTHEA),
        ),
        note="gm-sde version 1 (includes emphysema and chronic bronchitis).",
    ),
    Spec(
        "heart-failure",
        1,
        "Heart failure",
        ("ltc", "cms"),
        (gm("conditions/heart-failure/1"),),
        (Addition("88805009", "Chronic congestive heart failure (disorder)", SYNTHEA),),
    ),
    Spec(
        "dementia",
        1,
        "Dementia",
        ("ltc", "cms"),
        (gm("conditions/dementia/1"),),
        (
            Addition("26929004", "Alzheimer's disease (disorder)", SYNTHEA),
            Addition(
                "230265002", "Familial Alzheimer's disease of early onset (disorder)", SYNTHEA
            ),
        ),
    ),
    Spec(
        "ckd",
        1,
        "Chronic kidney disease (any stage, diagnosis codes)",
        ("ltc",),
        (gm("conditions/chronic-kidney-disease/1"),),
        (
            Addition("431855005", "Chronic kidney disease stage 1 (disorder)", SYNTHEA),
            Addition("431856006", "Chronic kidney disease stage 2 (disorder)", SYNTHEA),
            *SYNTHEA_CKD_STAGE_3_5,
        ),
        note="CKD stages 1-5 diagnosis codes (gm-sde).",
    ),
    Spec(
        "ckd-stage-3-5",
        1,
        "Chronic kidney disease stages 3-5 (diagnosis codes)",
        ("cms",),
        (
            gm("conditions/ckd-stage-3/1"),
            gm("conditions/ckd-stage-4/1"),
            gm("conditions/ckd-stage-5/1"),
        ),
        SYNTHEA_CKD_STAGE_3_5,
        note="Code fallback for the Cambridge CKD condition (eGFR < 60 corresponds to stage 3+).",
    ),
    Spec(
        "egfr",
        1,
        "Estimated glomerular filtration rate (test result codes)",
        ("cms",),
        (gm("tests/egfr/1"),),
        note="eGFR results; the CMS CKD rule reads the value (mL/min/1.73 m2).",
    ),
    Spec(
        "stroke-tia",
        1,
        "Stroke or transient ischaemic attack",
        ("ltc", "cms"),
        (
            gm("conditions/stroke/1"),
            gm("conditions/tia/1"),
            qof("strk_cod", "20210127"),
            qof("tia_cod", "20201016"),
        ),
        (Addition("230690007", "Cerebrovascular accident (disorder)", SYNTHEA + " as 'Stroke'"),),
        note="SNOMED: gm-sde stroke and TIA sets united with the QOF STRK_COD and TIA_COD refsets.",
    ),
    Spec(
        "cancer",
        1,
        "Cancer (malignant neoplasm)",
        ("ltc", "cms"),
        (gm("conditions/cancer/1"),),
        (
            Addition("363406005", "Malignant neoplasm of colon (disorder)", SYNTHEA),
            Addition("254637007", "Non-small cell lung cancer (disorder)", SYNTHEA),
            Addition(
                "424132000", "Non-small cell carcinoma of lung, TNM stage 1 (disorder)", SYNTHEA
            ),
            Addition("94260004", "Secondary malignant neoplasm of colon (disorder)", SYNTHEA),
            Addition("109838007", "Overlapping malignant neoplasm of colon (disorder)", SYNTHEA),
        ),
        note="gm-sde version 1: the Barnett et al. (2012) long-term-condition definition as "
        "used by Zhu, Payne et al. (2020); CTV3 and SNOMED from OpenSAFELY.",
    ),
    Spec(
        "depression",
        1,
        "Depression",
        ("ltc", "cms"),
        (gm("conditions/depression/1"),),
    ),
    Spec(
        "anxiety",
        1,
        "Anxiety and other neurotic, stress-related and somatoform disorders",
        ("ltc", "cms"),
        (gm("conditions/anxiety/1"),),
    ),
    Spec(
        "severe-mental-illness",
        1,
        "Schizophrenia, bipolar disorder and other psychoses",
        ("ltc", "cms"),
        (gm("conditions/severe-mental-illness/1"),),
    ),
    Spec(
        "epilepsy",
        1,
        "Epilepsy",
        ("ltc", "cms"),
        (gm("conditions/epilepsy/1", ("ctv3", "read2")),),
        (
            Addition(
                "84757009",
                "Epilepsy (disorder)",
                SYNTHEA + "; gm-sde's epilepsy set has no SNOMED codes",
            ),
            Addition(
                "128613002",
                "Seizure disorder (disorder)",
                SYNTHEA + "; Synthea's epilepsy module records it; gm-sde's epilepsy set "
                "has no SNOMED codes",
            ),
        ),
        note="gm-sde has CTV3 and Read v2 only; SNOMED holds the hand-added concepts.",
    ),
    Spec(
        "osteoporosis",
        1,
        "Osteoporosis",
        ("ltc",),
        (
            gm("conditions/osteoporosis/1", ("ctv3", "read2")),
            gm("conditions/efi-osteoporosis/1", ("snomed",)),
        ),
        (
            Addition("64859006", "Osteoporosis (disorder)", SYNTHEA),
            Addition(
                "443165006",
                "Osteoporotic fracture of bone (disorder)",
                SYNTHEA + " as 'Pathological fracture due to osteoporosis'",
            ),
        ),
        note="gm-sde osteoporosis has CTV3 and Read v2 only; SNOMED from its eFI osteoporosis set.",
    ),
    Spec(
        "learning-disability",
        1,
        "Learning disability",
        ("ltc",),
        (gm("conditions/learning-disability/1"),),
    ),
    Spec(
        "connective-tissue-disorder",
        1,
        "Rheumatoid arthritis, other inflammatory polyarthropathies and connective tissue "
        "disorders",
        ("ltc", "cms"),
        (
            gm("conditions/rheumatoid-arthritis/1"),
            gm("conditions/psoriatic-arthritis/1"),
            gm("conditions/sle/1"),
        ),
        (Addition("69896004", "Rheumatoid arthritis (disorder)", SYNTHEA),),
        note="Union of gm-sde rheumatoid arthritis, psoriatic arthritis and SLE sets.",
    ),
    Spec(
        "alcohol-problems",
        1,
        "Alcohol problems",
        ("cms",),
        (gm("patient/alcohol-heavy-drinker/1"),),
        (Addition("7200002", "Alcoholism (disorder)", SYNTHEA),),
        note="gm-sde heavy-drinker set (alcohol abuse, alcoholism, harmful and hazardous use).",
    ),
    Spec(
        "hearing-loss",
        1,
        "Hearing loss",
        ("cms",),
        (gm("conditions/efi-hearing-loss/1"),),
        note="The eFI hearing-impairment codes; gm-sde has no separate hearing-loss set.",
    ),
    Spec(
        "irritable-bowel-syndrome",
        1,
        "Irritable bowel syndrome",
        ("cms",),
        (),
        (
            Addition(
                "10743008",
                "Irritable bowel syndrome (disorder)",
                "no IBS code set in ../shared/; the SNOMED CT concept added by hand",
            ),
        ),
        note="A one-concept stub until a reviewed IBS code set is available.",
    ),
]

# --- case finding (analytics/case_finding_lists.yaml): measurements and reviews ------------
CASE_FINDING_SPECS = [
    Spec(
        "systolic-blood-pressure",
        1,
        "Systolic blood pressure (reading codes)",
        ("case-finding",),
        (gm("tests/systolic-blood-pressure/1"),),
        note="Systolic readings; the value is in mm[Hg]. Includes home and ambulatory readings "
        "codes (gm-sde), which case finding reads against the clinic threshold.",
    ),
    Spec(
        "diastolic-blood-pressure",
        1,
        "Diastolic blood pressure (reading codes)",
        ("case-finding",),
        (gm("tests/diastolic-blood-pressure/1"),),
        note="Diastolic readings; the value is in mm[Hg].",
    ),
    Spec(
        "hba1c",
        1,
        "HbA1c (test result codes)",
        ("case-finding",),
        (gm("tests/hba1c/2"),),
        note="gm-sde version 2: the IFCC (mmol/mol) code and the DCCT-aligned (%) code; case "
        "finding reads only values in mmol/mol.",
    ),
    Spec(
        "irregular-pulse",
        1,
        "Irregular pulse (finding)",
        ("case-finding",),
        (),
        (
            Addition(
                "361137007",
                "Irregular heart beat (finding)",
                "no irregular-pulse code set in ../shared/; the SNOMED CT UK concept the "
                "synthetic area records (terminology/data/generator_codes.csv)",
            ),
        ),
        note="A one-concept list until a reviewed irregular-pulse / AF-indicator code set is "
        "available.",
    ),
    Spec(
        "care-plan-review",
        1,
        "Care plan or medication review",
        ("case-finding",),
        (gm("patient/medication-review-basic/1"),),
        (
            Addition(
                "1095111000000108",
                "Review of dementia advance care plan (procedure)",
                "a care plan review; from gm-sde patient/dementia-care-plan/1 (that set also "
                "holds plans agreed or declined, which are not reviews)",
            ),
            Addition(
                "956861000000107",
                "Review of dementia advance care plan",
                "a care plan review; from gm-sde patient/dementia-care-plan/1",
            ),
        ),
        note="Medication reviews (NHS Digital MEDRVW_COD refset as reproduced by gm-sde, "
        "including the structured medication review) and dementia care plan reviews. No "
        "reviewed code set for a general care-plan review or a frailty review exists in "
        "../shared/; add one here when it does.",
    ),
]

SPECS: list[Spec] = EFI_SPECS + LTC_SPECS + CASE_FINDING_SPECS


def _read_gm(shared: Path, path: str, system: str) -> list[tuple[str, str]]:
    folder = shared / GM_SDE["local"] / path
    name = path.split("/")[-2]
    upstream = {v: k for k, v in GM_SYSTEMS.items()}[system]
    file = folder / f"{name}.{upstream}.txt"
    if not file.exists():
        raise SystemExit(f"missing code set file: {file}")
    rows = []
    for line in file.read_text(encoding="utf-8-sig").splitlines():
        if not line.strip():
            continue
        code, _, description = line.partition("\t")
        rows.append((code.strip(), description.strip()))
    return rows


def _read_opensafely(shared: Path, file_name: str) -> list[tuple[str, str]]:
    file = shared / OPENSAFELY_QOF["local"] / file_name  # type: ignore[operator]
    with file.open(encoding="utf-8-sig", newline="") as handle:
        return [(r["code"].strip(), r["term"].strip()) for r in csv.DictReader(handle)]


def _source_entry(part: Part) -> dict[str, object]:
    version: str | None
    if part.source == "gm-sde":
        base, path = GM_SDE, f"{GM_SDE['root']}/{part.path}"
        version = part.path.rsplit("/", 1)[-1]
    else:
        base, path = OPENSAFELY_QOF, f"{OPENSAFELY_QOF['root']}/{part.path}"
        version = part.upstream_id.rsplit("/", 1)[-1] if part.upstream_id else None
    entry: dict[str, object] = {
        "repository": base["repository"],
        "path": path,
        "commit": base["commit"],
        "upstream_version": version,
        "code_systems": list(part.systems),
        "licence": base["licence"],
    }
    if part.upstream_id:
        entry["opencodelists_id"] = part.upstream_id
    return entry


SYSTEM_ORDER = {s: i for i, s in enumerate(ALL)}


def build_one(spec: Spec, shared: Path) -> tuple[str, dict[str, object]]:
    """The CSV text and index entry of one codelist."""
    codes: dict[tuple[str, str], str] = {}
    dropped: list[dict[str, str]] = []
    for part in spec.parts:
        for system in part.systems:
            rows = (
                _read_gm(shared, part.path, system)
                if part.source == "gm-sde"
                else _read_opensafely(shared, part.path)
            )
            for code, description in rows:
                problem = snomed_code_problem(code) if system == "snomed" else None
                if problem:
                    dropped.append(
                        {
                            "source": part.path,
                            "code_system": system,
                            "code": code,
                            "reason": problem,
                        }
                    )
                    continue
                codes.setdefault((system, code), description)
    additions: list[dict[str, str]] = []
    required: list[dict[str, str]] = []
    for add in spec.additions:
        record = {
            "code_system": add.code_system,
            "code": add.code,
            "description": add.description,
            "reason": add.reason,
        }
        # A concept we need that the sources already hold is recorded as required (a test
        # keeps it there); one they lack is added, with its reason.
        (required if (add.code_system, add.code) in codes else additions).append(record)
        codes.setdefault((add.code_system, add.code), add.description)
    ordered = sorted(codes.items(), key=lambda kv: (SYSTEM_ORDER[kv[0][0]], kv[0][1]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code_system", "code", "description"])
    for (system, code), description in ordered:
        writer.writerow([system, code, description])
    text = buffer.getvalue()
    sizes = {s: sum(1 for (system, _) in codes if system == s) for s in ALL}
    sources = [_source_entry(p) for p in spec.parts]
    if additions:
        sources.append(
            {
                "repository": HAND["repository"],
                "path": f"{HAND['root']} (SPECS: the additions below)",
                "commit": HAND["commit"],
                "licence": HAND["licence"],
            }
        )
    entry: dict[str, object] = {
        "id": spec.id,
        "version": spec.version,
        "name": spec.name,
        "uses": list(spec.uses),
        "file": f"{spec.id}.csv",
        "code_systems": [s for s in ALL if sizes[s]],
        "codes": {s: n for s, n in sizes.items() if n},
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "sources": sources,
        "additions": additions,
        "required_concepts": required,
        "dropped": dropped,
    }
    if spec.note:
        entry["note"] = spec.note
    return text, entry


def build(shared: Path) -> tuple[dict[str, str], dict[str, object]]:
    files: dict[str, str] = {}
    entries = []
    ids = [s.id for s in SPECS]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate codelist ids")
    for spec in SPECS:
        text, entry = build_one(spec, shared)
        files[f"{spec.id}.csv"] = text
        entries.append(entry)
    index: dict[str, object] = {
        "built": dt.date.today().isoformat(),
        "builder": "scripts/build_codelists.py",
        "attribution": (
            "Code sets from UoM-Data-Science-Platforms/gm-sde (commit "
            f"{GM_SDE['commit']}; no licence file in that repository, cited as the source) "
            "and opensafely/qof-utilities (MIT; NHS Digital Primary Care Domain refsets). "
            "SNOMED CT content is used under the SNOMED CT UK licence terms."
        ),
        "codelists": entries,
    }
    return files, index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed CSVs differ from a fresh build"
    )
    args = parser.parse_args(argv)
    files, index = build(args.shared)
    if args.check:
        stale = [
            name
            for name, text in files.items()
            if not (args.out / name).exists()
            or (args.out / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            print("out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print(f"{len(files)} codelists up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.csv"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    (args.out / "codelists.yaml").write_text(
        "# Generated by scripts/build_codelists.py; edit SPECS there, not this file.\n"
        + yaml.safe_dump(index, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )
    total = sum(len(t.encode()) for t in files.values())
    print(f"wrote {len(files)} codelists ({total / 1024:.0f} KiB) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
