"""Device readings in as FHIR R4 Observations (single, Bundle, NDJSON) and out again, with the
NEWS2 total and sub-scores, validated by the R4B models."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation

from joinedup.interop.fhir_readings import news2_observation, reading_observation
from joinedup.neighbourhood.news2 import Observations, Scale2Decision, score
from joinedup.neighbourhood.readings import (
    Reading,
    Rejected,
    Skipped,
    observation_sets,
    read_document,
    read_ndjson,
    read_paths,
)

WHEN = "2026-11-02T09:30:00+00:00"
LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"


def quantity_obs(code: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{code}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/pt-1"},
        "effectiveDateTime": WHEN,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }


def coded_obs(code: str, value: str | None = None, obs_id: str = "obs-coded") -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "subject": {"reference": "Patient/pt-1"},
        "effectiveDateTime": WHEN,
    }
    if value:
        body["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": value}]}
    return body


def bp_panel(systolic: float, diastolic: float, unit: str = "mm[Hg]") -> dict[str, Any]:
    component = [
        {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        }
        for code, value in (("8480-6", systolic), ("8462-4", diastolic))
    ]
    return {
        "resourceType": "Observation",
        "id": "obs-bp",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": "Patient/pt-1"},
        "effectiveDateTime": WHEN,
        "component": component,
    }


def full_set() -> list[dict[str, Any]]:
    """A whole set as a device bundle sends it: 24/min, 93% on oxygen, 98/60, 115/min, new
    confusion, 38.6 °C — NEWS2 by hand from the chart: 2+2+2+2+2+3+1 = 14."""
    return [
        quantity_obs("9279-1", 24, "/min"),
        quantity_obs("59408-5", 93, "%"),
        coded_obs("371825009", obs_id="obs-o2"),
        bp_panel(98, 60),
        quantity_obs("8867-4", 115, "/min"),
        coded_obs("1104441000000107", "130987000", obs_id="obs-acvpu"),
        quantity_obs("8310-5", 38.6, "Cel"),
    ]


def read_one(resource: dict[str, Any]) -> list[Any]:
    return list(read_document(json.dumps(resource), "test.json"))


def only_reject(resource: dict[str, Any]) -> str:
    items = read_one(resource)
    assert len(items) == 1 and isinstance(items[0], Rejected), items
    return items[0].reason


# --- in ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "unit", "parameter"),
    [
        ("9279-1", 18, "/min", "resp_rate"),
        ("59408-5", 95, "%", "spo2"),
        ("2708-6", 95, "%", "spo2"),
        ("8867-4", 72, "/min", "pulse"),
        ("8867-4", 72, "{beats}/min", "pulse"),
        ("8310-5", 37.2, "Cel", "temperature"),
        ("8480-6", 131, "mm[Hg]", "systolic_bp"),
    ],
)
def test_each_raw_observation_becomes_a_typed_reading(code, value, unit, parameter):
    resource = quantity_obs(
        code,
        value,
        unit,
        device={"reference": "Device/kit-7"},
        performer=[{"reference": "Patient/pt-1"}],
    )
    [reading] = read_one(resource)
    assert isinstance(reading, Reading)
    assert (reading.parameter, reading.value, reading.unit) == (parameter, value, unit)
    assert reading.subject == "Patient/pt-1" and reading.device == "Device/kit-7"
    assert reading.performer == "Patient/pt-1"  # sent by the person themselves
    assert reading.effective == dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def test_a_blood_pressure_panel_gives_systolic_and_diastolic():
    readings = read_one(bp_panel(128, 79))
    assert {(r.parameter, r.value) for r in readings} == {
        ("systolic_bp", 128),
        ("diastolic_bp", 79),
    }


def test_consciousness_and_oxygen_are_coded_findings():
    [level] = read_one(coded_obs("1104441000000107", "300202002"))
    assert (level.parameter, level.value) == ("consciousness", "V")
    [air] = read_one(coded_obs("722742002"))
    assert (air.parameter, air.value) == ("on_oxygen", False)
    flow = quantity_obs("59408-5", 94, "%")
    flow["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "3151-8"}]},
            "valueQuantity": {"value": 2, "unit": "L/min", "system": UCUM, "code": "L/min"},
        }
    ]
    assert {(r.parameter, r.value) for r in read_one(flow)} == {
        ("spo2", 94),
        ("on_oxygen", True),
    }


def test_fahrenheit_is_converted_to_celsius():
    [reading] = read_one(quantity_obs("8310-5", 100.4, "[degF]"))
    assert reading.unit == "Cel" and reading.value == pytest.approx(38.0)


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        (quantity_obs("8310-5", 37, "mmol/L"), "unit 'mmol/L' is not a unit of temperature"),
        (quantity_obs("8867-4", 72, "%"), "is not a unit of pulse"),
        (bp_panel(120, 80, unit="kPa"), "is not a unit of systolic blood pressure"),
        (quantity_obs("59408-5", 101, "%"), "101 is not a possible SpO2"),
        (quantity_obs("8867-4", 400, "/min"), "400 is not a possible pulse"),
        (quantity_obs("8867-4", 0, "/min"), "0 is not a possible pulse"),
        (quantity_obs("8310-5", 50, "Cel"), "50 is not a possible temperature"),
        (quantity_obs("9279-1", 0, "/min"), "0 is not a possible respiration rate"),
        (bp_panel(120, 300), "300 is not a possible diastolic"),
        (coded_obs("1104441000000107", "12345678"), "is not an ACVPU level"),
    ],
)
def test_wrong_units_and_impossible_values_are_rejected_with_their_reason(resource, fragment):
    assert fragment in only_reject(resource)


def test_a_reading_needs_a_person_a_time_a_value_and_a_real_status():
    no_subject = quantity_obs("8867-4", 72, "/min")
    del no_subject["subject"]
    assert "subject is required" in only_reject(no_subject)
    date_only = quantity_obs("8867-4", 72, "/min", effectiveDateTime="2026-11-02")
    assert "date and time" in only_reject(date_only)
    no_time = quantity_obs("8867-4", 72, "/min")
    del no_time["effectiveDateTime"]
    assert "effectiveDateTime is required" in only_reject(no_time)
    absent = quantity_obs("8867-4", 72, "/min", dataAbsentReason={"text": "kit error"})
    del absent["valueQuantity"]
    assert "valueQuantity with a number" in only_reject(absent)
    assert "kit error" in only_reject(absent)
    wrong = quantity_obs("8867-4", 72, "/min", status="entered-in-error")
    assert "not a reading" in only_reject(wrong)
    not_ucum = quantity_obs("8867-4", 72, "/min")
    not_ucum["valueQuantity"]["system"] = "http://example.org/units"
    assert "is not UCUM" in only_reject(not_ucum)


def test_an_invalid_r4b_observation_is_rejected_by_the_model():
    bad = quantity_obs("8867-4", 72, "/min", status="done")
    assert "status" in only_reject(bad)
    extra = quantity_obs("8867-4", 72, "/min", colour="red")
    assert "colour is not an element of Observation" in only_reject(extra)


def test_a_device_bundle_is_read_and_scored_as_one_set():
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "pt-1"}},
            {"resource": {"resourceType": "Device", "id": "kit-7"}},
            {"resource": quantity_obs("29463-7", 70, "kg")},  # weight: not NEWS2
            *({"resource": r} for r in full_set()),
        ],
    }
    items = list(read_document(json.dumps(bundle), "bundle.json"))
    assert sum(isinstance(i, Skipped) for i in items) == 3
    assert not [i for i in items if isinstance(i, Rejected)]
    sets, clashes = observation_sets(i for i in items if isinstance(i, Reading))
    assert not clashes and len(sets) == 1
    result = score(sets[0].observations)
    assert (result.total, result.risk) == (14, "high")
    assert len(sets[0].observation_ids) == 7


def test_ndjson_streams_and_a_bad_line_loses_only_itself(tmp_path: Path):
    lines = [json.dumps(r) for r in full_set()]
    lines.insert(2, '{"resourceType": "Observation", "status": ')  # cut short
    lines.insert(4, "")
    path = tmp_path / "readings.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batch = read_paths([path])
    assert len(batch.readings) == 8  # seven observations, the panel gives two
    [reject] = batch.rejects
    assert reject.location == "readings.ndjson line 3" and "not valid JSON" in reject.reason


def test_an_empty_file_is_said(tmp_path: Path):
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n")
    assert read_paths([empty]).rejects == [Rejected("empty.ndjson", "file is empty: no resources")]


def test_a_set_with_two_different_values_for_one_parameter_is_not_guessed():
    readings = [
        r for r in read_ndjson([json.dumps(quantity_obs("8867-4", v, "/min")) for v in (70, 90)])
    ]
    sets, clashes = observation_sets(readings)  # type: ignore[arg-type]
    assert not sets and "two different values for pulse" in clashes[0].reason


def test_an_incomplete_device_set_is_never_a_full_news2():
    home_kit = [r for r in full_set() if r["id"] not in ("obs-9279-1", "obs-acvpu")]
    items = [i for r in home_kit for i in read_one(r)]
    sets, _ = observation_sets(items)
    result = score(sets[0].observations)
    assert result.total is None and result.missing == ("resp_rate", "consciousness")


# --- out ---------------------------------------------------------------------------------------


SENT_BY_A_CARER = quantity_obs("8867-4", 88, "/min", performer=[{"display": "daughter (carer)"}])


@pytest.mark.parametrize(
    "resource", [*full_set(), quantity_obs("8310-5", 100.4, "[degF]"), SENT_BY_A_CARER]
)
def test_a_reading_goes_out_and_comes_back_the_same(resource):
    for reading in read_one(resource):
        out = reading_observation(reading, "out-" + reading.parameter.replace("_", "-"))
        assert isinstance(out, Observation)
        assert out.meta.profile[0].endswith("UKCore-Observation")
        [again] = [r for r in read_one(json.loads(out.model_dump_json())) if isinstance(r, Reading)]
        assert again == reading.__class__(
            **{**reading.__dict__, "observation_id": again.observation_id}
        )


def test_the_news2_total_carries_the_national_codes_and_sub_scores():
    result = score(Observations(24, 93, True, 98, 115, "C", 38.6))
    out = news2_observation(
        result,
        subject="Patient/pt-1",
        effective=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
        observation_id="news2-1",
        derived_from=["obs-9279-1", "obs-bp"],
    )
    body = json.loads(out.model_dump_json())
    Observation.model_validate(copy.deepcopy(body))  # valid R4B as sent
    assert body["code"]["coding"][0]["code"] == "1104051000000101"
    assert body["valueQuantity"]["value"] == 14 and body["valueQuantity"]["code"] == "{ScoreOf}"
    assert body["category"][0]["coding"][0]["code"] == "survey"
    components = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in body["component"]
    }
    assert components == {  # NEXT_DOMAINS.md §1.4 codes; sub-scores worked by hand
        "1104301000000104": 2,  # respiration rate 24
        "1104311000000102": 2,  # SpO2 93% on Scale 1
        "1104331000000105": 2,  # oxygen
        "1104341000000101": 2,  # systolic 98
        "1104351000000103": 2,  # pulse 115
        "1104361000000100": 3,  # new confusion
        "1104371000000107": 1,  # 38.6 °C
    }
    assert [d["reference"] for d in body["derivedFrom"]] == [
        "Observation/obs-9279-1",
        "Observation/obs-bp",
    ]
    assert "high clinical risk" in body["interpretation"][0]["text"]


def test_scale2_uses_its_own_sub_score_code():
    decision = Scale2Decision("Dr A Example", None)
    result = score(Observations(16, 90, False, 120, 70, "A", 37.0), scale2=decision)
    out = news2_observation(
        result, subject="Patient/pt-1", effective=dt.datetime.now(dt.UTC), observation_id="n2"
    )
    codes = [c.code.coding[0].code for c in out.component]
    assert "1104321000000108" in codes and "1104311000000102" not in codes
    assert "Dr A Example" in out.method.text


def test_an_incomplete_set_has_no_total_to_send():
    result = score(Observations(None, 96, False, 120, 70, None, 37.0))
    with pytest.raises(ValueError, match="incomplete set has no NEWS2 total"):
        news2_observation(
            result, subject="Patient/pt-1", effective=dt.datetime.now(dt.UTC), observation_id="x"
        )
