"""Ingest batches: identity, idempotence, versions, all-or-nothing, rejects with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from joinedup.population.ingest.batch import (
    IngestAborted,
    list_batches,
    read_rejects,
    run_batch,
    store_checksums,
)
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.ingest.identity import PersonMap, PersonRef, stable_key
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.ingest_support import (
    VALID_NHS,
    condition,
    good_resources,
    observation,
    organisation,
    patient,
    write_bundle,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(tmp_path / "home")


def ingest(settings: Settings, *paths: Path, strict: bool = False):
    return run_batch(settings, read_fhir(list(paths)), source="test", strict=strict)


def store_of(settings: Settings) -> PopulationStore:
    return PopulationStore(settings.population_dir)


def test_loads_a_bundle_and_reingest_changes_nothing(settings, tmp_path):
    path = write_bundle(tmp_path / "b.json", *good_resources())
    first = ingest(settings, path)
    assert first.status == "committed"
    assert first.tables["patients"].loaded == 1
    assert first.tables["clinical_events"].loaded == 2
    assert first.tables["registrations"].loaded == 1
    before = store_checksums(store_of(settings))
    second = ingest(settings, path)
    assert second.status == "no changes"
    assert second.tables["clinical_events"].unchanged == 2
    assert store_checksums(store_of(settings)) == before
    assert [b.batch_id for b in list_batches(settings)] == [second.batch_id, first.batch_id]
    events = store_of(settings).read("clinical_events")
    assert sorted(events["code"].to_pylist()) == ["38341003", "4548-4"]
    assert events["event_id"][0].as_py() in {
        stable_key("clinical_events", "Condition/c1"),
        stable_key("clinical_events", "Observation/o1"),
    }


def test_newer_version_updates_and_older_does_not(settings, tmp_path):
    def version(value: float, updated: str) -> Path:
        obs = observation(value=value, meta={"lastUpdated": updated})
        return write_bundle(tmp_path / f"b{value}.json", organisation(), patient(), obs)

    ingest(settings, version(52.0, "2021-02-03T10:00:00Z"))
    newer = ingest(settings, version(60.0, "2021-02-04T10:00:00Z"))
    assert newer.tables["clinical_events"].updated == 1
    older = ingest(settings, version(40.0, "2021-02-01T10:00:00Z"))
    assert older.tables["clinical_events"].older_than_stored == 1
    assert older.status == "no changes"
    values = store_of(settings).read("clinical_events")["value"].to_pylist()
    assert values == [60.0]


def test_people_link_by_nhs_number_across_sources(settings, tmp_path):
    a = write_bundle(tmp_path / "a.json", organisation(), patient("p1"), condition())
    other = condition("c2", subject={"reference": "Patient/x9"})
    b = write_bundle(tmp_path / "b.json", organisation(), patient("x9"), other)
    ingest(settings, a)
    ingest(settings, b)
    patients = store_of(settings).read("patients")
    assert patients.num_rows == 1  # same NHS number → same person
    events = store_of(settings).read("clinical_events")
    assert set(events["person_id"].to_pylist()) == {patients["person_id"][0].as_py()}


def test_person_map_prefers_nhs_number_then_source_id():
    persons = PersonMap()
    first = persons.resolve(PersonRef(source_id="Patient/a"))
    assert persons.resolve(PersonRef(nhs_number=VALID_NHS, source_id="Patient/a")) == first
    assert persons.resolve(PersonRef(nhs_number=VALID_NHS, source_id="HES:1")) == first
    assert persons.resolve(PersonRef(source_id="Patient/b")) != first


def test_rejects_say_where_and_why_and_good_records_load(settings, tmp_path):
    bad_date = observation("o2", when="2021-02-30")
    bad_value = observation("o3", value="high")
    bad_nhs = patient("p2", nhs="9434765918")
    orphan = condition("c9", subject={"reference": "Patient/nobody"})
    unknown = {"resourceType": "Immunization", "id": "i1"}
    path = write_bundle(
        tmp_path / "mixed.json", *good_resources(), bad_date, bad_value, bad_nhs, orphan, unknown
    )
    result = ingest(settings, path)
    reasons = {r["reason"] for r in read_rejects(result)}
    assert (
        "Observation/o2: effectiveDateTime '2021-02-30' is not a date "
        "(day value is outside expected range)" in reasons
    )
    assert "Observation/o3: valueQuantity.value 'high' is not a valid FHIR decimal" in reasons
    assert any(r.startswith("Patient/p2: identifier NHS number is not valid") for r in reasons)
    assert any(
        r.startswith("Condition/c9: is about a person with no patient record") for r in reasons
    )
    assert result.rejects == 4
    met = {(u["kind"], u["detail"]) for u in result.unsupported}
    assert ("resource type", "Immunization") in met
    assert store_of(settings).read("clinical_events").num_rows == 2
    summary = json.loads((Path(result.record_dir) / "summary.json").read_text())
    assert summary["tables"]["clinical_events"]["rejected"] == 3


def test_strict_aborts_with_nothing_committed(settings, tmp_path):
    ingest(settings, write_bundle(tmp_path / "good.json", *good_resources()))
    before = store_checksums(store_of(settings))
    bad = write_bundle(
        tmp_path / "bad.json", *good_resources(), condition("c5"), observation("o5", when="x")
    )
    with pytest.raises(IngestAborted, match="nothing was loaded"):
        ingest(settings, bad, strict=True)
    assert store_checksums(store_of(settings)) == before
    assert list_batches(settings)[0].status == "aborted"


def test_a_crash_mid_batch_leaves_the_store_as_it_was(settings, tmp_path):
    ingest(settings, write_bundle(tmp_path / "good.json", *good_resources()))
    before = store_checksums(store_of(settings))
    more = write_bundle(tmp_path / "more.json", organisation(), patient(), condition("c7"))

    def crashing():
        yield from read_fhir([more])
        raise KeyboardInterrupt  # as a kill would, after rows were read and spilled

    with pytest.raises(KeyboardInterrupt):
        run_batch(settings, crashing(), source="test")
    assert store_checksums(store_of(settings)) == before
    assert not list((settings.home / "ingest").glob("spill-*"))


def test_duplicate_ids_in_one_batch_keep_one_and_report_the_other(settings, tmp_path):
    path = write_bundle(tmp_path / "dup.json", *good_resources(), observation("o1", value=99.0))
    result = ingest(settings, path)
    reasons = [r["reason"] for r in read_rejects(result)]
    assert len(reasons) == 1 and "the same clinical_events record is also at" in reasons[0]
    values = (
        store_of(settings)
        .read("clinical_events")
        .filter(pc.equal(store_of(settings).read("clinical_events")["code"], "4548-4"))
    )
    assert values["value"].to_pylist() == [52.0]  # the first given is kept
