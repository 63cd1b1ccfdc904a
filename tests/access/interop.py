"""Access decisions for data in and out (ingest batches, FHIR and analytic exports)."""

from __future__ import annotations

from tests.access.sets import RECORD

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # FHIR R4 out: identifiable (record.view), then the legitimate relationship per person.
    ("GET", "/api/fhir/Patient/{person_id}"): RECORD,
    ("GET", "/api/fhir/Patient/{person_id}/$everything"): RECORD,
}
