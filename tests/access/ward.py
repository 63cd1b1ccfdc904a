"""Access decisions for the virtual ward: every page and write needs ``ward.use``, held by the
clinical roles that run a ward (GP, nurse, care coordinator); person pages then apply the
legitimate relationship through the person gate, checked after."""

from __future__ import annotations

WARD = frozenset({"gp", "nurse", "care_coordinator"})
#: Device readings over the FHIR API: those who run a ward, and device platforms' system tokens.
READING_SENDERS = WARD | {"ward_device"}

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/neighbourhood"): WARD,
    ("POST", "/neighbourhood/wards"): WARD,
    ("GET", "/neighbourhood/wards/{ward_id}"): WARD,
    ("GET", "/neighbourhood/wards/{ward_id}/board"): WARD,
    ("GET", "/neighbourhood/wards/{ward_id}/admit"): WARD,
    ("GET", "/neighbourhood/wards/{ward_id}/alerts"): WARD,
    ("GET", "/neighbourhood/wards/{ward_id}/ledger"): WARD,
    ("POST", "/neighbourhood/alerts/{alert_id}/acknowledge"): WARD,
    ("POST", "/neighbourhood/alerts/{alert_id}/act"): WARD,
    ("POST", "/neighbourhood/alerts/{alert_id}/close"): WARD,
    ("GET", "/neighbourhood/people/{person_id}/ward/admit"): WARD,
    ("POST", "/neighbourhood/people/{person_id}/ward/admit"): WARD,
    ("GET", "/neighbourhood/people/{person_id}/ward"): WARD,
    ("POST", "/neighbourhood/people/{person_id}/ward/readings"): WARD,
    ("POST", "/neighbourhood/people/{person_id}/ward/discharge"): WARD,
    ("POST", "/api/fhir/Observation"): READING_SENDERS,
    ("POST", "/api/fhir"): READING_SENDERS,
}
