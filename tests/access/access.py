"""Access decisions for extended-access booking (the FHIR booking API of hubs)."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, BOOKERS

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # GP Connect-style booking: users and system tokens with appointments.book.
    ("GET", "/api/fhir/Slot"): BOOKERS,
    ("POST", "/api/fhir/Appointment"): BOOKERS,
    ("GET", "/api/fhir/Appointment/{appointment_id}"): BOOKERS,
    ("PUT", "/api/fhir/Appointment/{appointment_id}"): BOOKERS,
    # Pages: bookers book through the light identity view; compliance is an aggregate.
    ("GET", "/access"): BOOKERS | AGGREGATES,
    ("GET", "/access/hubs/{hub_code}"): BOOKERS,
    ("GET", "/access/patients"): BOOKERS,
    ("GET", "/access/patients/{person_id}"): BOOKERS,
    ("POST", "/access/patients/{person_id}/appointments"): BOOKERS,
    ("POST", "/access/appointments/{appointment_id}/cancel"): BOOKERS,
    ("POST", "/access/appointments/{appointment_id}/rebook"): BOOKERS,
    ("GET", "/access/compliance"): AGGREGATES,
}
