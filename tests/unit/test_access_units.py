"""Extended access without a database: rota definitions, the FHIR mapping of hub slots and
appointments (validated by the R4B models), and the booking API's parsing of what is sent."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.slot import Slot

from joinedup.access.booking import AppointmentView, SlotView, booker_for
from joinedup.access.rota import RotaError, local_instant, parse_definition
from joinedup.interop import fhir_out
from joinedup.web.fhir_booking import FhirProblem, _if_match, _search_instant
from tests.access_support import definition, session_line
from tests.auth_support import principal

UTC = dt.UTC
SLOT = SlotView(
    id=7,
    starts_at=dt.datetime(2026, 12, 7, 18, 30, tzinfo=UTC),
    ends_at=dt.datetime(2026, 12, 7, 18, 45, tzinfo=UTC),
    status="free",
    category="General Consultation Routine",
    mode="telephone",
    hub_code="HUB01",
    hub_name="Riverside Hub",
    hub_address="1 Mill Lane",
    pcn_code="NBH01",
    clinician_id=3,
    clinician_name="Dr Asha Patel",
    clinician_role="gp",
    room="Room 1",
    session_id=5,
)


def _appointment(**changes: Any) -> AppointmentView:
    values: dict[str, Any] = {
        "id": 11,
        "person_id": 42,
        "status": "booked",
        "version": 3,
        "booked_by": "reception",
        "booker_kind": "practice",
        "booking_org": "P81001",
        "description": "Review",
        "comment": None,
        "created_at": dt.datetime(2026, 12, 1, 9, tzinfo=UTC),
        "cancelled_at": None,
        "cancellation_reason": None,
        "slot": SLOT,
    }
    return AppointmentView(**(values | changes))


def test_a_hub_slot_is_a_gp_connect_slot() -> None:
    slot = Slot.model_validate(fhir_out.hub_slot(SLOT).model_dump(mode="json"))
    assert slot.id == "7" and slot.status == "free"
    assert slot.extension[0].url == fhir_out.DELIVERY_CHANNEL_EXTENSION
    assert slot.extension[0].valueCode == "Telephone"
    assert slot.serviceType[0].text == "General Consultation Routine"
    assert slot.schedule.reference == "Schedule/rota-session-5"
    booked = fhir_out.hub_slot(SlotView(**(SLOT.__dict__ | {"status": "booked"})))
    assert booked.status == "busy"


def test_the_slot_search_text_is_the_bundle_of_the_slot_bodies() -> None:
    # Slots of two sessions sharing start times, a booked one and a base needing escapes in
    # JSON: the text written from shared fragments must parse to the Bundle built from dicts.
    later = dt.timedelta(minutes=15)
    slots = [
        SLOT,
        SlotView(
            **(
                SLOT.__dict__
                | {"id": 8, "starts_at": SLOT.ends_at, "ends_at": SLOT.ends_at + later}
            )
        ),
        SlotView(
            **(SLOT.__dict__ | {"id": 9, "session_id": 6, "mode": "video", "status": "booked"})
        ),
        SlotView(**(SLOT.__dict__ | {"id": 10, "category": 'Clinical "Triage"'})),
    ]
    base = 'http://hub.example/api/fhir/"odd"/'
    warning = fhir_out.operation_outcome("too-costly", "INVALID_PARAMETER", "narrow it").model_dump(
        mode="json", exclude_none=True
    )
    schedules = [fhir_out.hub_schedule_body(slots[0]), fhir_out.hub_schedule_body(slots[2])]
    text = fhir_out.searchset_json(base, fhir_out.hub_slots_json(slots), schedules, [warning])
    expected = fhir_out.searchset_body(
        base, [fhir_out.hub_slot_body(s) for s in slots], schedules, [warning]
    )
    written = json.loads(text)
    for volatile in ("id", "timestamp"):
        assert written.pop(volatile) and expected.pop(volatile)
    assert written == expected
    assert [e["resource"]["id"] for e in written["entry"][:4]] == ["7", "8", "9", "10"]
    for entry in written["entry"][:4]:
        Slot.model_validate(entry["resource"])


def test_a_hub_appointment_carries_its_version_and_booking_organisation() -> None:
    made = fhir_out.hub_appointment(_appointment())
    again = Appointment.model_validate(made.model_dump(mode="json"))
    assert again.meta.versionId == "3" and again.status == "booked"
    assert again.contained[0].identifier[0].value == "P81001"
    assert again.extension[0].valueReference.reference == "#booking-organisation"
    assert [p.actor.reference for p in again.participant] == [
        "Patient/42",
        "Practitioner/hub-clinician-3",
        "Location/hub-HUB01",
    ]
    cancelled = fhir_out.hub_appointment(
        _appointment(status="cancelled", cancellation_reason="Unwell")
    )
    assert cancelled.status == "cancelled" and cancelled.cancelationReason.text == "Unwell"
    assert fhir_out.hub_appointment(_appointment(status="dna")).status == "noshow"


def test_an_operation_outcome_carries_the_spine_code() -> None:
    outcome = fhir_out.operation_outcome("duplicate", "DUPLICATE_REJECTED", "slot taken")
    assert outcome.issue[0].code == "duplicate"
    assert outcome.issue[0].details.coding[0].code == "DUPLICATE_REJECTED"


def test_search_dates_are_local_days_and_need_their_prefix() -> None:
    # 7 December is GMT; 1 July is BST (UTC+1), so its local midnight is 23:00 UTC before.
    assert _search_instant(["ge2026-12-07"], "ge") == dt.datetime(2026, 12, 7, tzinfo=UTC)
    assert _search_instant(["le2026-12-07"], "le") == dt.datetime(2026, 12, 8, tzinfo=UTC)
    assert _search_instant(["ge2026-07-01"], "ge") == dt.datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert _search_instant(["le2026-12-07T20:00:00Z"], "le") == dt.datetime(
        2026, 12, 7, 20, tzinfo=UTC
    )
    for bad in (["2026-12-07"], ["le2026-12-07"], ["ge2026-13-01"], ["ge2026-12-07T20:00"], []):
        with pytest.raises(FhirProblem):
            _search_instant(bad, "ge")


def test_if_match_names_one_version() -> None:
    assert _if_match('W/"4"') == 4
    assert _if_match('"12"') == 12
    with pytest.raises(FhirProblem) as missing:
        _if_match(None)
    assert missing.value.status == 428
    with pytest.raises(FhirProblem):
        _if_match("W/4")


def test_a_rota_line_lays_out_its_days() -> None:
    line = session_line(date=None, weekdays=["mon", "sat"]) | {
        "from": "2026-12-07",
        "to": "2026-12-20",
    }
    parsed = parse_definition({"hubs": definition()["hubs"], "sessions": [line]})
    days = parsed.sessions[0].days()
    assert [d.isoformat() for d in days] == ["2026-12-07", "2026-12-12", "2026-12-14", "2026-12-19"]
    assert local_instant(dt.date(2026, 7, 1), dt.time(18, 30)) == dt.datetime(
        2026, 7, 1, 17, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"date": None}, "give either date, or from and to"),
        ({"end": "18:00"}, "the session ends before it starts"),
        ({"mode": "carrier pigeon"}, "mode 'carrier pigeon' is not one of"),
        ({"bookable_by": []}, "bookable_by"),
        ({"slot_minutes": 1}, "slot_minutes"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_rota_line_says_why(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(RotaError) as raised:
        parse_definition({"sessions": [session_line(**change)]})
    assert problem in raised.value.problems[0]


def test_nhs111_books_as_nhs111_and_others_as_their_practice() -> None:
    assert booker_for(principal("nhs111", organisations=("AREA01",))).kind == "nhs111"
    reception = booker_for(principal("receptionist", organisations=("P1", "P2")), "P2")
    assert (reception.kind, reception.organisation) == ("practice", "P2")
    with pytest.raises(ValueError, match="do not work in P9"):
        booker_for(principal("receptionist", organisations=("P1",)), "P9")
    with pytest.raises(ValueError, match="works in no organisation"):
        booker_for(principal("receptionist"))
