"""The generator's packaged reference data: small, attributed, and true to ../shared/."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from joinedup.population.synthetic.conditions import CONDITIONS
from joinedup.population.synthetic.frailty import DEFICITS, condition_deficits
from joinedup.population.synthetic.reference import (
    code_set_members,
    concept_codes,
    generator_code_rows,
    medicines,
)
from joinedup.terminology.codelists import load_codelist

REPO = Path(__file__).resolve().parents[2]
POPULATION_DATA = REPO / "src" / "joinedup" / "population" / "data"
TERMINOLOGY_DATA = REPO / "src" / "joinedup" / "terminology" / "data"
GM_SDE_PREFIX = "shared/clinical-code-sets/"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_derived_files_are_small_and_have_their_sources_beside_them():
    files = [*POPULATION_DATA.glob("*.csv"), *TERMINOLOGY_DATA.glob("generator_*.csv")]
    assert len(files) == 6
    assert sum(f.stat().st_size for f in files) < 1_000_000
    for folder in (POPULATION_DATA, TERMINOLOGY_DATA):
        source = (folder / "SOURCE.md").read_text()
        assert "commit" in source.lower() and "licence" in source.lower()


def test_practice_profiles_match_a_rebuild_from_shared(shared_dir: Path):
    derive = script("derive_practice_profiles")
    profiles, lsoas = derive.build(shared_dir)
    assert (POPULATION_DATA / "practice_profiles.csv").read_text() == derive.render(profiles)
    assert (POPULATION_DATA / "lsoa_deciles.csv").read_text() == derive.render(lsoas)
    locations = derive.practice_locations(shared_dir, profiles)
    assert (POPULATION_DATA / "practice_locations.csv").read_text() == derive.render(locations)


def test_generator_codes_match_a_rebuild_from_shared(shared_dir: Path):
    derive = script("derive_generator_codes")
    assert (TERMINOLOGY_DATA / "generator_codes.csv").read_text() == derive.render(
        derive.build(shared_dir)
    )


def test_every_recorded_code_is_in_the_shared_code_set_it_cites(shared_dir: Path):
    gm_sde = shared_dir / "data" / "codelists_gm_sde"
    for row in generator_code_rows().to_pylist():
        if not row["source"].startswith(GM_SDE_PREFIX):
            assert row["code"] in {"78564009", "361137007"}  # marked as not in a shared set
            continue
        path = gm_sde / row["source"].removeprefix(GM_SDE_PREFIX)
        codes = {
            line.split("\t")[0].strip() for line in path.read_text(errors="replace").splitlines()
        }
        assert row["code"] in codes, row


def test_diagnoses_that_are_efi_deficits_fall_in_that_deficit_in_the_project_codelists():
    # The analytics eFI (joinedup.terminology codelists) must see exactly the deficits the
    # generator meant: each diagnosis code in its own deficit list and in no other.
    efi_lists = {name: load_codelist(name).codes.get("snomed", frozenset()) for name in DEFICITS}
    meant = condition_deficits(code_set_members())
    assert meant["hypertension"] == "efi-hypertension"
    assert meant["atrial-fibrillation"] == "efi-atrial-fibrillation"
    assert "depression" not in meant
    for condition in CONDITIONS:
        for code in concept_codes()[condition.name].codes:
            found = {name for name, codes in efi_lists.items() if code in codes}
            assert found == ({meant[condition.name]} if condition.name in meant else set()), code
    findings = [name for name in DEFICITS if name in concept_codes()]
    assert len(findings) >= 25
    for name in findings:
        for code in concept_codes()[name].codes:
            found = {other for other, codes in efi_lists.items() if code in codes}
            assert found == {name}, (name, code)


@pytest.mark.parametrize(
    "condition",
    [
        "hypertension",
        "diabetes",
        "asthma",
        "copd",
        "dementia",
        "coronary-heart-disease",
        "atrial-fibrillation",
        "heart-failure",
    ],
)
def test_calibrated_conditions_are_found_by_the_project_codelists(condition: str):
    codes = load_codelist(condition).codes["snomed"]
    assert set(concept_codes()[condition].codes) <= codes


def test_medicines_from_the_shared_lists_carry_their_published_codes(shared_dir: Path):
    folder = shared_dir / "data" / "codelists_opensafely" / "medication-reviews"
    published: dict[str, str] = {}
    for path in folder.glob("opensafely-*.csv"):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                kind = (row.get("dmd_type") or row.get("obj_type") or "").lower()
                code = row.get("dmd_id") or row.get("vpid")
                if kind == "vmp" and code and row.get("dmd_name"):
                    published[code] = row["dmd_name"]
    from_shared = [
        m for m in medicines().values() if "opensafely/medication-reviews" in _source(m.key)
    ]
    assert len(from_shared) >= 5
    for medicine in from_shared:
        assert published.get(medicine.code) == medicine.name, medicine


def _source(key: str) -> str:
    with (TERMINOLOGY_DATA / "generator_medicines.csv").open(newline="") as handle:
        return next(r["source"] for r in csv.DictReader(handle) if r["medicine"] == key)


def test_every_medicine_is_a_dmd_identifier_with_a_bnf_code():
    for medicine in medicines().values():
        assert medicine.code.isdigit() and 6 <= len(medicine.code) <= 18
        assert len(medicine.bnf_code) == 15 and medicine.bnf_chapter.isdigit()
        assert medicine.pence_per_28_days > 0
