"""FHIR R4 out for the virtual ward: a reading, and a NEWS2 total with its sub-scores, as UK Core
Observations (validated by the ``fhir.resources.R4B`` models as they are built).

The three levels of NHS England's virtual-ward draft (``../shared/reference/NEXT_DOMAINS.md``
§1.4): raw observations (category ``vital-signs``, LOINC with the SNOMED CT code beside it,
UCUM units); the NEWS2 total (SNOMED CT 1104051000000101, category ``survey``, unit
``{ScoreOf}``) whose ``component`` entries are the sub-scores, each with its national SNOMED
CT code, and whose ``derivedFrom`` points at the raw observations. An incomplete set has no
NEWS2 total (ADR 0012), so it has no total Observation either.

The codes come from `joinedup.neighbourhood.readings` (what we read in is what we send out);
profile, systems and category conventions from `joinedup.interop.fhir_out`.

Readings coming in through the API (`joinedup.neighbourhood.ward_feed`) are answered here too:
`feed_outcome` (an OperationOutcome: what was stored, or every rejected record with its reason)
and `feed_bundle_response` (a transaction-response or batch-response Bundle, one entry per entry
sent).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from joinedup.interop.fhir_out import LOINC, OBSERVATION_CATEGORY, SNOMED, UCUM, UK_CORE
from joinedup.neighbourhood.news2 import PARAMETERS, News2Result
from joinedup.neighbourhood.readings import ACVPU_CODE, ACVPU_VALUES, ON_OXYGEN, ROOM_AIR, Reading
from joinedup.neighbourhood.ward_feed import FeedResult

NEWS2_TOTAL = ("1104051000000101", "Royal College of Physicians NEWS2 total score")
#: Sub-score SNOMED CT codes; SpO2 has one per scale.
SUB_SCORES: dict[str | tuple[str, int], tuple[str, str]] = {
    "resp_rate": ("1104301000000104", "NEWS2 respiration rate score"),
    ("spo2", 1): ("1104311000000102", "NEWS2 SpO2 scale 1 score"),
    ("spo2", 2): ("1104321000000108", "NEWS2 SpO2 scale 2 score"),
    "on_oxygen": ("1104331000000105", "NEWS2 air or oxygen score"),
    "systolic_bp": ("1104341000000101", "NEWS2 systolic blood pressure score"),
    "pulse": ("1104351000000103", "NEWS2 pulse score"),
    "consciousness": ("1104361000000100", "NEWS2 consciousness score"),
    "temperature": ("1104371000000107", "NEWS2 temperature score"),
}
SCORE_UNIT = "{ScoreOf}"
#: parameter → (LOINC codes, SNOMED CT code, display)
RAW_CODES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "resp_rate": (("9279-1",), "86290005", "Respiratory rate"),
    "spo2": (("2708-6", "59408-5"), "103228002", "Oxygen saturation"),
    "systolic_bp": (("8480-6",), "72313002", "Systolic blood pressure"),
    "diastolic_bp": (("8462-4",), "1091811000000102", "Diastolic blood pressure"),
    "pulse": (("8867-4",), "364075005", "Heart rate"),
    "temperature": (("8310-5",), "276885007", "Body temperature"),
}
ACVPU_DISPLAY = "ACVPU (Alert Confusion Voice Pain Unresponsive) scale score"
OXYGEN_DISPLAY = {ROOM_AIR: "Breathing room air", ON_OXYGEN: "Patient on oxygen"}
ACVPU_CODES = {letter: code for code, letter in ACVPU_VALUES.items()}


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def _base(observation_id: str, subject: str, effective: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"profile": [UK_CORE + "Observation"]},
        "status": "final",
        "subject": {"reference": subject},
        "effectiveDateTime": effective.isoformat(),
    }


def reading_observation(reading: Reading, observation_id: str) -> Observation:
    """One reading as a raw (level 3) Observation."""
    body = _base(observation_id, reading.subject, reading.effective)
    body["category"] = _category("vital-signs")
    if reading.device:
        body["device"] = _reference(reading.device)
    if reading.performer:
        body["performer"] = [_reference(reading.performer)]
    if reading.parameter == "consciousness":
        code = ACVPU_CODES[str(reading.value)]
        body["code"] = {
            "coding": [{"system": SNOMED, "code": ACVPU_CODE, "display": ACVPU_DISPLAY}]
        }
        body["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": code}]}
    elif reading.parameter == "on_oxygen":
        code = ON_OXYGEN if reading.value else ROOM_AIR
        body["code"] = {
            "coding": [{"system": SNOMED, "code": code, "display": OXYGEN_DISPLAY[code]}]
        }
    else:
        loincs, snomed, display = RAW_CODES[reading.parameter]
        body["code"] = {
            "coding": [
                *({"system": LOINC, "code": c, "display": display} for c in loincs),
                {"system": SNOMED, "code": snomed, "display": display},
            ]
        }
        body["valueQuantity"] = {
            "value": reading.value,
            "unit": reading.unit,
            "system": UCUM,
            "code": reading.unit,
        }
    return Observation.model_validate(body)


def news2_observation(
    result: News2Result,
    *,
    subject: str,
    effective: dt.datetime,
    observation_id: str,
    derived_from: Sequence[str] = (),
) -> Observation:
    """The NEWS2 total (level 1) with its sub-scores as components (level 2), derived from the
    raw Observations named in `derived_from` (their ids). Refuses an incomplete set."""
    if result.total is None:
        raise ValueError(f"an incomplete set has no NEWS2 total: {result.describe()}")
    body = _base(observation_id, subject, effective)
    body["category"] = _category("survey")
    body["code"] = {
        "coding": [{"system": SNOMED, "code": NEWS2_TOTAL[0], "display": NEWS2_TOTAL[1]}]
    }
    body["valueQuantity"] = _score(result.total)
    red = "; red score: 3 in a single parameter" if result.red_score else ""
    body["interpretation"] = [{"text": f"{result.risk} clinical risk{red}"}]
    body["method"] = {"text": f"RCP NEWS2 (2017); SpO2 {result.scale_note}"}
    body["component"] = [
        {
            "code": {"coding": [_sub_score_coding(parameter, result.scale)]},
            "valueQuantity": _score(result.sub_scores[parameter]),
        }
        for parameter in PARAMETERS
    ]
    if derived_from:
        body["derivedFrom"] = [{"reference": f"Observation/{i}"} for i in derived_from]
    return Observation.model_validate(body)


def _reference(who: str) -> dict[str, str]:
    """A reference as it came: ``Type/id`` (or a URL) as a reference, anything else as text."""
    return {"reference": who} if "/" in who or who.startswith("urn:") else {"display": who}


def _sub_score_coding(parameter: str, scale: int) -> dict[str, str]:
    code, display = SUB_SCORES[(parameter, scale) if parameter == "spo2" else parameter]
    return {"system": SNOMED, "code": code, "display": display}


def _score(points: int) -> dict[str, Any]:
    return {"value": points, "unit": SCORE_UNIT, "system": UCUM, "code": SCORE_UNIT}


# --- answers to readings sent in -------------------------------------------------------------

#: The most rejections one answer lists; the rest are counted in a last issue.
MAX_ISSUES = 1000
ENTRY_STATUS = {
    "created": "201 Created",
    "skipped": "200 OK",
    "refused": "422 Unprocessable Entity",
}


def feed_summary(result: FeedResult) -> str:
    """What a request's readings came to, in counts (no patient data)."""
    ingest = result.ingest
    read = f"{ingest.readings_read:,} readings read ({ingest.skipped:,} resources skipped)"
    if result.stored:
        return f"{read}: {ingest.sets:,} sets recorded, {ingest.alerts_raised:,} alerts raised"
    why = f"{len(ingest.rejects):,} rejected" if ingest.rejects else "no reading sets found"
    return f"nothing was stored ({read}, {why}): correct them and send them again"


def feed_outcome(result: FeedResult) -> OperationOutcome:
    """Stored: one information issue with the counts. Not stored: an error issue per rejected
    record (where it is, why), at most `MAX_ISSUES`, then the summary."""
    rejects = result.ingest.rejects
    issues = [
        _issue("error", "invalid", f"{r.location}: {r.reason}", r.location)
        for r in rejects[:MAX_ISSUES]
    ]
    if len(rejects) > MAX_ISSUES:
        issues.append(
            _issue("error", "too-costly", f"... and {len(rejects) - MAX_ISSUES:,} more rejected")
        )
    if result.stored:
        issues.append(_issue("information", "informational", feed_summary(result)))
    else:
        issues.append(_issue("error", "invalid" if rejects else "not-found", feed_summary(result)))
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "id": str(uuid.uuid4()),
            "meta": {"profile": [UK_CORE + "OperationOutcome"]},
            "issue": issues,
        }
    )


def feed_bundle_response(result: FeedResult) -> Bundle:
    """The stored Bundle's answer: ``<type>-response``, one entry per entry sent, each with its
    status (201 read as readings, 200 skipped as not a reading) and, for a skipped one, why."""
    entries = []
    for entry in result.entries:
        response: dict[str, Any] = {"status": ENTRY_STATUS[entry.state]}
        if entry.note:
            response["outcome"] = {
                "resourceType": "OperationOutcome",
                "issue": [_issue("information", "informational", entry.note)],
            }
        entries.append({"response": response})
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": f"{result.bundle_type}-response",
            "entry": entries,
        }
    )


def _issue(severity: str, code: str, text: str, where: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": text}
    if where and where.startswith("Bundle."):  # a FHIRPath to the entry (labels follow it)
        issue["expression"] = [where.split(" (")[0]]
    return issue
