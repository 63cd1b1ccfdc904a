"""Synthea FHIR R4 bundles end to end: every Patient loaded or rejected, records counted
against the bundles independently, eFI deficits found for Synthea's SNOMED CT codes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from joinedup.population.ingest.batch import run_batch
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.terminology.codelists import list_codelists, load_codelist
from tests.ingest_support import bundle_counts

SUBSET = 12  # bundles (the whole folder runs in the integration test)


@pytest.fixture(scope="module")
def bundles(shared_dir: Path) -> list[Path]:
    folder = shared_dir / "data" / "synthea_fhir_r4_smart_on_fhir" / "bundles"
    if not folder.is_dir():
        pytest.skip("Synthea sample not present")
    return sorted(p for p in folder.glob("*.json") if "Information" not in p.name)[:SUBSET]


def test_synthea_subset_counts_and_efi(tmp_path, bundles):
    settings = Settings.from_env(tmp_path)
    result = run_batch(settings, read_fhir(bundles), source="synthea subset")
    expected = bundle_counts(bundles)
    t = result.tables
    assert result.rejects == 0
    assert t["patients"].loaded == expected["Patient"] == SUBSET
    assert t["clinical_events"].loaded == (
        expected["Condition"]
        + expected["Observation"]
        + expected["Observation:snomed"]  # SNOMED CT equivalents of LOINC measurements
        + expected["Procedure"]
        + expected["CarePlan:category"]
    )
    assert expected["Observation:snomed"] > 0
    assert t["medications"].loaded == expected["MedicationRequest"]
    assert t["gp_appointments"].loaded == expected["Encounter:AMB"]
    assert t["ae_attendances"].loaded == expected["Encounter:EMER"]
    assert t["hospital_spells"].loaded == expected["Encounter:IMP"]
    assert t["registrations"].loaded == SUBSET

    store = PopulationStore(settings.population_dir)
    events = store.read("clinical_events", ["code_system", "code"])
    snomed = set(pc.filter(events["code"], pc.equal(events["code_system"], "snomed")).to_pylist())
    found = {c.id for c in list_codelists("efi") if snomed & load_codelist(c.id).codes["snomed"]}
    assert {"efi-hypertension", "efi-anaemia"} <= found


SYNTHEA_EFI = {
    # Synthea SNOMED CT concept → the eFI deficit it must count towards
    "38341003": "efi-hypertension",
    "44054006": "efi-diabetes",
    "368581000119106": "efi-diabetes",
    "88805009": "efi-heart-failure",
    "49436004": "efi-atrial-fibrillation",
    "433144002": "efi-ckd",
    "87433001": "efi-respiratory-disease",
    "185086009": "efi-respiratory-disease",
    "26929004": "efi-cognitive-problems",
    "230265002": "efi-cognitive-problems",
    "64859006": "efi-osteoporosis",
    "230690007": "efi-stroke-tia",
    "359817006": "efi-fragility-fracture",
    "83664006": "efi-thyroid-disorders",
    "201834006": "efi-arthritis",
}


@pytest.mark.parametrize(("code", "deficit"), sorted(SYNTHEA_EFI.items()))
def test_efi_codelists_cover_synthea_concepts(code, deficit):
    assert ("snomed", code) in load_codelist(deficit)


def test_synthea_names_addresses_and_phones_come_through(tmp_path, bundles):
    """Each Patient's official name (exactly as the source gives it), home address and
    phone reach the patients table, read straight from the bundles for comparison."""
    settings = Settings.from_env(tmp_path)
    run_batch(settings, read_fhir(bundles), source="synthea subset")
    columns = ["nhs_number", "given_name", "family_name", "address_line", "postcode", "phone"]
    stored = {
        (r["given_name"], r["family_name"]): r
        for r in PopulationStore(settings.population_dir).read("patients", columns).to_pylist()
    }
    expected = []
    for path in bundles:
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            patient = entry["resource"]
            if patient["resourceType"] == "Patient":
                expected.append(patient)
    assert len(stored) == len(expected) == SUBSET
    for patient in expected:
        official = next(n for n in patient["name"] if n.get("use") == "official")
        row = stored[(" ".join(official["given"]), official["family"])]
        home = patient["address"][0]
        assert row["address_line"].startswith(f"{home['line'][0]}, {home['city']}")
        assert row["address_line"].endswith(home["postalCode"])  # a US ZIP is no UK postcode
        assert row["postcode"] is None
        phone = next(t["value"] for t in patient["telecom"] if t["system"] == "phone")
        assert row["phone"] == phone
