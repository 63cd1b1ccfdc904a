"""Reference tables behind eFI, the Cambridge Multimorbidity Score and the codelists."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from joinedup.analytics.scores import cms, conditions, efi
from joinedup.terminology.codelists import (
    CODELIST_DIR,
    UnknownCodelistError,
    codelist_index,
    codelist_table,
    list_codelists,
    load_codelist,
    snomed_code_problem,
)

ROOT = Path(__file__).resolve().parents[2]
GM_SDE_COMMIT = "6cf10afc0d745a557b2e8dd7e0b1d4b61ea40e42"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# --- eFI ------------------------------------------------------------------------------------


def test_36_deficits_match_the_reference_names(shared_dir):
    reference = _csv(shared_dir / "reference" / "efi" / "efi_deficits.csv")
    assert [(d.number, d.name) for d in efi.DEFICITS] == [
        (int(r["deficit_no"]), r["deficit_clegg2016"]) for r in reference
    ]
    assert len(efi.DEFICITS) == efi.TOTAL_DEFICITS == 36
    assert [d.number for d in efi.DEFICITS if d.codelist_id is None] == [26]
    assert efi.DEFICITS[25].name == "Polypharmacy"


def test_every_gm_sde_efi_code_set_is_represented_unchanged_but_for_declared_additions(
    shared_dir,
):
    gm = shared_dir / "data" / "codelists_gm_sde"
    folders = sorted(p for area in ("conditions", "patient") for p in (gm / area).glob("efi-*"))
    assert len(folders) == 35
    assert {p.name for p in folders} == set(efi.efi_codelist_ids())
    suffix = {"snomed": "snomed", "ctv3": "ctv3", "read2": "readv2"}
    for folder in folders:
        codelist = load_codelist(folder.name)
        assert codelist.info.uses == ("efi",)
        for system, name in suffix.items():
            text = (folder / "1" / f"{folder.name}.{name}.txt").read_text(encoding="utf-8-sig")
            upstream = {line.split("\t")[0].strip() for line in text.splitlines() if line.strip()}
            added = {a["code"] for a in codelist.info.additions if a["code_system"] == system}
            assert all(a["reason"] for a in codelist.info.additions), folder.name
            assert codelist.codes[system] == upstream | added, (folder.name, system)
            assert not (added & upstream), "an addition that upstream already holds"


def test_reference_deficit_crosswalk_names_our_codelists(shared_dir):
    reference = _csv(shared_dir / "reference" / "efi" / "efi_deficits.csv")
    for row, deficit in zip(reference, efi.DEFICITS, strict=True):
        if row["gm_sde_codeset"].startswith("efi-"):
            assert deficit.codelist_id == row["gm_sde_codeset"]


# --- Cambridge Multimorbidity Score --------------------------------------------------------


def test_cms_weights_match_the_reference_and_sum_to_16_33(shared_dir):
    reference = _csv(shared_dir / "reference" / "cambridge_multimorbidity" / "cms_weights.csv")
    assert [(c.code, c.weight) for c in cms.CONDITIONS] == [
        (r["condition_code"], Decimal(r["general_outcome_weight"])) for r in reference
    ]
    assert len(cms.CONDITIONS) == 20
    assert sum(c.weight for c in cms.CONDITIONS) == Decimal("16.33")
    assert sum(c.hundredths for c in cms.CONDITIONS) == 1633


def test_cms_medication_groups_are_all_used():
    groups = set(cms.medication_groups().column("medication_group").to_pylist())
    assert groups == set(cms.MEDICATION_GROUPS)


# --- codelists -------------------------------------------------------------------------------


def test_codelist_index_is_complete_with_sources():
    index = codelist_index()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(index["built"]))
    entries = index["codelists"]
    files = {p.name for p in CODELIST_DIR.glob("*.csv")}
    assert files == {e["file"] for e in entries}
    assert len({e["id"] for e in entries}) == len(entries)
    for entry in entries:
        data = (CODELIST_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], (
            f"{entry['file']} changed without a rebuild: run scripts/build_codelists.py"
        )
        assert isinstance(entry["version"], int) and entry["version"] >= 1
        assert entry["name"] and entry["uses"] and entry["code_systems"]
        assert entry["sources"], entry["id"]
        for source in entry["sources"]:
            assert {"repository", "path", "commit", "licence"} <= set(source), entry["id"]
            if "gm-sde" in source["repository"]:
                assert source["commit"] == GM_SDE_COMMIT
                assert "no licence file" in source["licence"]
        for added in entry["additions"]:
            assert added["reason"], (entry["id"], added["code"])
        codelist = load_codelist(entry["id"])
        assert {s: len(c) for s, c in codelist.codes.items()} == entry["codes"]
        header = data.decode().splitlines()[0]
        assert header == "code_system,code,description"


def test_every_score_names_codelists_that_exist():
    known = {i.id for i in list_codelists()}
    assert set(efi.efi_codelist_ids()) <= known
    assert set(cms.CODELIST_IDS.values()) <= known
    assert {c.codelist_id for c in conditions.LONG_TERM_CONDITIONS} <= known
    with pytest.raises(UnknownCodelistError):
        load_codelist("no-such-list")


def test_snomed_codes_are_concept_ids():
    for info in list_codelists():
        for code in load_codelist(info.id).codes.get("snomed", ()):
            assert snomed_code_problem(code) is None, (info.id, code)
    assert snomed_code_problem("38341003") is None
    assert "check digit" in str(snomed_code_problem("38341004"))
    assert snomed_code_problem("G311.00") is not None


def test_codelist_table_is_long_and_unique():
    table = codelist_table(["efi-falls", "copd", "efi-falls"], systems=["snomed"])
    assert table.column_names == ["codelist_id", "code_system", "code"]
    rows = table.to_pylist()
    assert len(rows) == len({tuple(r.values()) for r in rows})
    assert {r["codelist_id"] for r in rows} == {"efi-falls", "copd"}
    assert {r["code_system"] for r in rows} == {"snomed"}


def test_committed_codelists_match_a_fresh_build(shared_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import build_codelists

    try:
        files, index = build_codelists.build(shared_dir)
    finally:
        sys.modules.pop("build_codelists", None)
    for name, text in files.items():
        assert (CODELIST_DIR / name).read_text(encoding="utf-8") == text, name
    built = [{k: v for k, v in e.items()} for e in index["codelists"]]  # type: ignore[union-attr]
    assert built == codelist_index()["codelists"]


# --- Synthea coverage: the concepts Synthea records for these conditions are in our lists ----

SYNTHEA_CONDITIONS = {
    # codelist id: pattern on the Synthea Condition display (case-insensitive)
    "hypertension": r"^(essential )?hypertension",
    "diabetes": r"^diabetes$|type 2 diabetes|type ii diabetes|diabetic renal",
    "heart-failure": r"heart failure",
    "atrial-fibrillation": r"atrial fibrillation",
    "ckd": r"chronic kidney disease",
    "copd": r"chronic obstructive|emphysema",
    "dementia": r"alzheimer|dementia",
    "osteoporosis": r"osteoporosis",
    "stroke-tia": r"^stroke$|cerebrovascular|transient ischemic",
}


def _synthea_conditions(shared_dir: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for bundle in (shared_dir / "data" / "synthea_fhir_r4_smart_on_fhir" / "bundles").glob(
        "*.json"
    ):
        text = bundle.read_text(encoding="utf-8")
        if '"Condition"' not in text:
            continue
        for entry in json.loads(text).get("entry", []):
            resource = entry["resource"]
            if resource["resourceType"] != "Condition":
                continue
            for coding in resource["code"]["coding"]:
                if coding["system"] == "http://snomed.info/sct":
                    found[coding["code"]] = coding.get("display", "")
    for name in ("synthea_csv_v3_ohdsi_dbt", "synthea_uk_swpc_hypertension_csv"):
        for row in _csv(shared_dir / "data" / name / "conditions.csv"):
            found[row["CODE"]] = row["DESCRIPTION"]
    return found


def test_synthea_concepts_for_the_listed_conditions_are_covered(shared_dir):
    synthea = _synthea_conditions(shared_dir)
    assert len(synthea) > 50
    for codelist_id, pattern in SYNTHEA_CONDITIONS.items():
        codelist = load_codelist(codelist_id)
        matching = {c: d for c, d in synthea.items() if re.search(pattern, d, re.IGNORECASE)}
        assert matching, codelist_id
        missing = {c: d for c, d in matching.items() if ("snomed", c) not in codelist}
        assert not missing, f"{codelist_id} lacks Synthea concepts {missing}"


def test_hand_added_concepts_are_recorded_with_reasons():
    for info in list_codelists():
        codelist = load_codelist(info.id)
        for added in (*info.additions, *info.required_concepts):
            assert (added["code_system"], added["code"]) in codelist
            assert added["reason"]


# --- from_store: the scores over population-store Parquet tables (DuckDB) ------------------


def test_scores_from_the_population_store(tmp_path):
    import datetime as dt

    import pyarrow as pa

    from joinedup.analytics.engine import connect, read_store
    from joinedup.population.contracts import contract
    from joinedup.population.store import PopulationStore

    store = PopulationStore(tmp_path)
    day = dt.date(2024, 1, 1)
    store.write(
        "clinical_events",
        pa.table(
            {
                "event_id": [1, 2, 3],
                "person_id": [1, 1, 2],
                "event_date": [day, day, day],
                "code_system": ["snomed", "snomed", "ctv3"],
                "code": ["26929004", "49436004", "G5730"],
                "value": [None, None, None],
                "unit": [None, None, None],
            },
            schema=contract("clinical_events").arrow_schema(),
        ),
    )
    store.write(
        "medications",
        pa.table(
            {
                "issue_id": [1, 2, 3, 4, 5],
                "person_id": [2, 2, 2, 2, 2],
                "issue_date": [day] * 5,
                "code_system": ["dmd"] * 5,
                "code": ["a", "b", "c", "d", "e"],
                "name": ["Senna 7.5mg tablets"] * 5,
                "bnf_chapter": [None] * 5,
                "cost": [1.0] * 5,
            },
            schema=contract("medications").arrow_schema(),
        ),
    )
    con = connect("duckdb")
    try:
        tables = read_store(con, store, ["clinical_events", "medications"])
        index = dt.date(2024, 6, 30)
        got_efi = con.to_pyarrow(efi.from_store(tables, index)).sort_by("person_id").to_pylist()
        got_cms = con.to_pyarrow(cms.from_store(tables, index)).sort_by("person_id").to_pylist()
        got_ltc = con.to_pyarrow(conditions.from_store(tables, index)).sort_by("person_id")
    finally:
        con.disconnect()
    # 1: memory & cognitive problems (Alzheimer's) and AF; 2: AF (CTV3) and polypharmacy.
    assert [(r["person_id"], r["deficits"]) for r in got_efi] == [(1, 2), (2, 2)]
    # 1: dementia + AF; 2: AF + constipation (five laxative issues).
    assert [(r["person_id"], r["cms"]) for r in got_cms] == [(1, 3.84), (2, 2.46)]
    assert got_ltc.column("ltc_count").to_pylist() == [2, 1]
    assert got_ltc.column("polypharmacy_5").to_pylist() == [False, True]
