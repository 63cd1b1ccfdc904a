"""Small hand-made FHIR resources and bundles for the ingest tests."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
VALID_NHS = "9434765919"  # NHS Digital's published example (valid check digit)


def patient(pid: str = "p1", nhs: str | None = VALID_NHS, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "gender": "female",
        "birthDate": "1940-05-01",
        "generalPractitioner": [{"reference": "Organization/org1"}],
    }
    if nhs:
        resource["identifier"] = [{"system": NHS, "value": nhs}]
    resource.update(extra)
    return resource


def organisation(oid: str = "org1") -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": oid,
        "name": "Riverside Surgery",
        "identifier": [
            {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y12345"}
        ],
    }


def condition(cid: str = "c1", code: str = "38341003", when: str = "2020-01-02", **extra: Any):
    resource = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "onsetDateTime": when,
    }
    resource.update(extra)
    return resource


def observation(oid: str = "o1", when: str = "2021-02-03", value: Any = 52.0, **extra: Any):
    resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mmol/mol", "code": "mmol/mol"},
    }
    resource.update(extra)
    return resource


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{r.get('resourceType')}/{r.get('id')}", "resource": r} for r in resources
        ],
    }


def write_bundle(path: Path, *resources: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle(*resources)))
    return path


def good_resources() -> list[dict[str, Any]]:
    return [organisation(), patient(), condition(), observation()]


# LOINC codes with a SNOMED CT equivalent and the unit each is converted from: written out here
# (not read from the reader's map) so the counts below are independent of the code under test.
LOINC_WITH_SNOMED = {
    "8480-6": "mm[Hg]",
    "8462-4": "mm[Hg]",
    "8867-4": "/min",
    "59261-8": "mmol/mol",
    "4548-4": "%",
}


def bundle_counts(paths: list[Path]) -> Counter[str]:
    """Resources by type counted straight from the bundles' JSON: Observation counts each
    component; "Observation:snomed" the LOINC measurements that also get a SNOMED CT event;
    "Encounter:<class>"; "CarePlan:category"."""
    counts: Counter[str] = Counter()
    for path in paths:
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            resource = entry["resource"]
            kind = resource["resourceType"]
            if kind == "Observation":
                parts = resource.get("component") or [resource]
                counts["Observation"] += len(parts)
                counts["Observation:snomed"] += sum(_has_snomed_equivalent(p) for p in parts)
            elif kind == "Encounter":
                counts["Encounter:" + resource["class"]["code"]] += 1
            else:
                counts[kind] += 1
            if kind == "CarePlan":
                counts["CarePlan:category"] += len(resource.get("category", []))
    return counts


def _has_snomed_equivalent(part: dict[str, Any]) -> bool:
    codes = [c["code"] for c in part["code"]["coding"] if c.get("system") == "http://loinc.org"]
    quantity = part.get("valueQuantity") or {}
    unit = quantity.get("code") or quantity.get("unit")
    return (
        bool(codes)
        and codes[0] in LOINC_WITH_SNOMED
        and unit in (None, LOINC_WITH_SNOMED[codes[0]])
    )
