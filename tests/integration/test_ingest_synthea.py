"""The whole Synthea sample end to end: ingest every bundle, then stratify.

Every Patient is loaded or rejected with a reason; each table's rows are counted against the
bundles independently (`tests.ingest_support.bundle_counts`, plain JSON); a second ingest of
the same folder changes nothing; the stratification run scores the ingested people (eFI)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from joinedup.analytics.stratify import stratify
from joinedup.population.ingest.batch import read_rejects, run_batch, store_checksums
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.ingest_support import bundle_counts

pytestmark = pytest.mark.slow


def manifest_patients(manifest: Path) -> int:
    """Patient bundles as the sample's manifest lists them (one Patient each)."""
    with manifest.open(encoding="utf-8", newline="") as handle:
        return sum(1 for row in csv.DictReader(handle) if row["patient_id"])


def test_whole_synthea_folder_ingests_and_stratifies(shared_dir: Path, tmp_path: Path) -> None:
    folder = shared_dir / "data" / "synthea_fhir_r4_smart_on_fhir" / "bundles"
    if not folder.is_dir():
        pytest.skip("Synthea sample not present")
    settings = Settings.from_env(tmp_path / "home")
    result = run_batch(settings, read_fhir([folder]), source="synthea")
    expected = bundle_counts(sorted(folder.glob("*.json")))
    t = result.tables

    rejected_patients = [r for r in read_rejects(result) if r["table"] == "patients"]
    assert all(r["reason"] and r["location"] for r in rejected_patients)
    assert (
        t["patients"].loaded + len(rejected_patients)
        == expected["Patient"]
        == manifest_patients(folder.parent / "manifest.csv")
    )
    assert t["clinical_events"].loaded + t["clinical_events"].rejected == (
        expected["Condition"]
        + expected["Observation"]
        + expected["Observation:snomed"]
        + expected["Procedure"]
        + expected["CarePlan:category"]
    )
    assert t["medications"].loaded + t["medications"].rejected == expected["MedicationRequest"]
    assert t["gp_appointments"].loaded == expected["Encounter:AMB"]
    assert t["ae_attendances"].loaded == expected["Encounter:EMER"]
    assert t["hospital_spells"].loaded == expected["Encounter:IMP"]
    assert result.costed_at_reference == (
        expected["Encounter:AMB"] + expected["Encounter:EMER"] + expected["Encounter:IMP"]
    )
    unsupported = {u["detail"] for u in result.unsupported if u["kind"] == "resource type"}
    assert {"Claim", "ExplanationOfBenefit", "Immunization"} <= unsupported

    store = PopulationStore(settings.population_dir)
    before = store_checksums(store)
    again = run_batch(settings, read_fhir([folder]), source="synthea again")
    assert again.status == "no changes"
    assert sum(c.loaded + c.updated for c in again.tables.values()) == 0
    assert store_checksums(store) == before

    run = stratify(settings)
    people = run.person_results(["person_id", "efi_deficits"])
    assert 0 < people.num_rows <= t["patients"].loaded
    assert pc.max(people["efi_deficits"]).as_py() > 0  # Synthea's SNOMED codes find eFI deficits
    assert json.loads((run.path / "run.json").read_text())["run_id"] == run.run_id
