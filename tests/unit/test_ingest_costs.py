"""Activity a source gives no cost for is priced at the reference unit cost (one definition,
shared with the synthetic generator), never 0, and the batch says how many rows it priced."""

from __future__ import annotations

from joinedup.population.ingest.batch import run_batch
from joinedup.population.ingest.fhir import read_fhir
from joinedup.population.store import PopulationStore
from joinedup.population.synthetic import hospital, outpatients, primary_care
from joinedup.population.unit_costs import GP_APPOINTMENT_PENCE, reference_cost
from joinedup.settings import Settings
from tests.ingest_support import good_resources, write_bundle


def encounter(eid: str, klass: str, start: str, end: str, **extra):
    resource = {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": start, "end": end},
        "serviceProvider": {"reference": "Organization/org1"},
    }
    resource.update(extra)
    return resource


def test_reference_costs_are_the_published_unit_costs_the_generator_uses():
    assert primary_care.PENCE is GP_APPOINTMENT_PENCE
    assert (outpatients.FIRST, outpatients.FOLLOW_UP) == (19_000, 11_000)
    assert reference_cost("gp_appointments", {"clinician_role": "gp", "mode": "telephone"}) == 33.0
    assert reference_cost("gp_appointments", {"clinician_role": "gp", "attended": False}) == 0.0
    assert reference_cost("outpatient_appointments", {"first_attendance": False}) == 110.0
    assert reference_cost("ae_attendances", {"disposal": "left"}) == 90.0
    spell = {"admission_method": "emergency", "length_of_stay": 7}
    assert reference_cost("hospital_spells", spell) == (190_000 + 2 * 33_000) / 100
    assert reference_cost("community_contacts", {"service": "district_nursing"}) == 30 * 0.95
    assert reference_cost("medications", {}) is None
    assert hospital.AE_ATTENDANCE_PENCE[0] == 26_000


def test_fhir_activity_is_costed_at_the_reference_unit_cost(tmp_path):
    settings = Settings.from_env(tmp_path / "home")
    path = write_bundle(
        tmp_path / "b.json",
        *good_resources(),
        encounter("e1", "AMB", "2021-03-01T09:00:00Z", "2021-03-01T09:15:00Z"),
        encounter(
            "e2",
            "IMP",
            "2021-04-01T09:00:00Z",
            "2021-04-08T10:00:00Z",
            priority={"coding": [{"code": "EM"}]},
        ),
    )
    result = run_batch(settings, read_fhir([path]), source="costs")
    store = PopulationStore(settings.population_dir)
    # no participant: clinician role "other", face to face
    assert store.read("gp_appointments")["cost"].to_pylist() == [28.0]
    assert store.read("hospital_spells")["cost"].to_pylist() == [(190_000 + 2 * 33_000) / 100]
    assert result.tables["gp_appointments"].costed_at_reference == 1
    assert result.costed_at_reference == 2


def test_a_gp_appointment_not_attended_is_stored_so_and_costs_nothing(tmp_path):
    # Encounter.status "noshow" (the patient did not come): kept as a GP appointment, not
    # attended, so it counts towards did-not-attend figures and no cost is attached to it.
    settings = Settings.from_env(tmp_path / "home")
    path = write_bundle(
        tmp_path / "b.json",
        *good_resources(),
        encounter("e1", "AMB", "2021-03-01T09:00:00Z", "2021-03-01T09:15:00Z"),
        encounter("e2", "AMB", "2021-03-02T09:00:00Z", "2021-03-02T09:15:00Z", status="noshow"),
    )
    run_batch(settings, read_fhir([path]), source="did not attend")
    rows = PopulationStore(settings.population_dir).read("gp_appointments").to_pylist()
    by_day = {row["appointment_date"].day: row for row in rows}
    assert (by_day[1]["attended"], by_day[1]["cost"]) == (True, 28.0)
    assert (by_day[2]["attended"], by_day[2]["cost"]) == (False, 0.0)
