"""Access decisions for extended-access booking (the FHIR booking API of hubs)."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, BOOKERS, SYSTEMS

#: The pages: people who book (system clients use the API only).
PAGE_BOOKERS = BOOKERS - SYSTEMS

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # GP Connect-style booking: users and system tokens with appointments.book.
    ("GET", "/api/fhir/Slot"): BOOKERS,
    ("POST", "/api/fhir/Appointment"): BOOKERS,
    ("GET", "/api/fhir/Appointment/{appointment_id}"): BOOKERS,
    ("PUT", "/api/fhir/Appointment/{appointment_id}"): BOOKERS,
    # Pages: bookers book through the light identity view; compliance is an aggregate.
    ("GET", "/access"): PAGE_BOOKERS | AGGREGATES,
    ("GET", "/access/hubs/{hub_code}"): PAGE_BOOKERS,
    ("GET", "/access/patients"): PAGE_BOOKERS,
    ("GET", "/access/patients/{person_id}"): PAGE_BOOKERS,
    ("POST", "/access/patients/{person_id}/appointments"): PAGE_BOOKERS,
    ("POST", "/access/appointments/{appointment_id}/cancel"): PAGE_BOOKERS,
    ("POST", "/access/appointments/{appointment_id}/rebook"): PAGE_BOOKERS,
    ("POST", "/access/appointments/{appointment_id}/outcome"): PAGE_BOOKERS,
    ("GET", "/access/compliance"): AGGREGATES,
}
