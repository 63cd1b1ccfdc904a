"""LOINC measurements (as Synthea and US-built systems send them) also land as the SNOMED CT
concepts the codelists use, the LOINC event kept, so raised-BP and HbA1c case finding work on
ingested FHIR data."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc

from joinedup.analytics import case_finding as cf
from joinedup.population.ingest.batch import run_batch
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.ingest.records import SourceRow, Unsupported
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.ingest_support import observation, organisation, patient, write_bundle

LOINC = "http://loinc.org"


def bp_panel(oid: str, when: str, systolic: float, diastolic: float) -> dict:
    def part(code: str, value: float) -> dict:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "code": "mm[Hg]"},
        }

    return observation(
        oid,
        when=when,
        code={"coding": [{"system": LOINC, "code": "85354-9"}]},
        valueQuantity=None,
        component=[part("8480-6", systolic), part("8462-4", diastolic)],
    )


def hba1c_percent(oid: str, when: str, value: float) -> dict:
    return observation(
        oid, when=when, valueQuantity={"value": value, "unit": "%", "code": "%"}
    )  # 4548-4: HbA1c in % (DCCT/NGSP)


def test_loinc_readings_gain_their_snomed_concept_and_keep_the_source(tmp_path):
    path = write_bundle(
        tmp_path / "b.json",
        bp_panel("bp1", "2024-03-01", 152, 96),
        hba1c_percent("h1", "2024-03-01", 7.0),
        observation("h2", value=53.0),  # 4548-4 in mmol/mol: the wrong unit for that code
    )
    items = list(read_fhir([path]))
    rows = [
        (i.values["code_system"], i.values["code"], i.values["value"], i.values["unit"])
        for i in items
        if isinstance(i, SourceRow)
    ]
    assert rows == [
        ("loinc", "8480-6", 152.0, "mm[Hg]"),
        ("snomed", "72313002", 152.0, "mm[Hg]"),
        ("loinc", "8462-4", 96.0, "mm[Hg]"),
        ("snomed", "1091811000000102", 96.0, "mm[Hg]"),
        ("loinc", "4548-4", 7.0, "%"),
        ("snomed", "999791000000106", 53.0, "mmol/mol"),  # 10.929 × (7.0 − 2.15) = 53.0
        ("loinc", "4548-4", 53.0, "mmol/mol"),
    ]
    (odd,) = [i for i in items if isinstance(i, Unsupported) and i.kind == "measurement unit"]
    assert "4548-4" in odd.detail and "'%'" in odd.detail


def test_raised_bp_and_hba1c_case_finding_find_an_ingested_patient(tmp_path: Path):
    settings = Settings.from_env(tmp_path / "home")
    path = write_bundle(
        tmp_path / "b.json",
        organisation(),
        patient(),
        bp_panel("bp1", "2024-01-10", 150, 92),
        bp_panel("bp2", "2024-02-14", 148, 95),
        hba1c_percent("h1", "2024-02-14", 7.2),
    )
    result = run_batch(settings, read_fhir([path]), source="loinc")
    assert result.rejects == 0
    store = PopulationStore(settings.population_dir)
    events = store.read("clinical_events", ["code_system"])
    assert pc.sum(pc.equal(events["code_system"], "loinc")).as_py() == 5
    person = store.read("patients", ["person_id"])["person_id"][0].as_py()
    for list_id in ("raised-bp-no-hypertension", "raised-hba1c-no-diabetes"):
        found = cf.run_list(store, list_id)
        assert [r["person_id"] for r in found.people()] == [person], list_id
