"""Access decisions for extended-access booking (the FHIR booking API of hubs)."""

from __future__ import annotations

from tests.access.sets import BOOKERS

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # GP Connect-style booking: users and system tokens with appointments.book.
    ("GET", "/api/fhir/Slot"): BOOKERS,
    ("POST", "/api/fhir/Appointment"): BOOKERS,
    ("GET", "/api/fhir/Appointment/{appointment_id}"): BOOKERS,
    ("PUT", "/api/fhir/Appointment/{appointment_id}"): BOOKERS,
}
