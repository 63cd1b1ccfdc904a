"""The MDT minutes and agenda ordering, on small hand-made meetings (no database)."""

from __future__ import annotations

import datetime as dt

from joinedup.care.actions import ActionRecord
from joinedup.care.mdt_agenda import Candidate
from joinedup.care.mdt_minutes import write_minutes
from joinedup.care.mdt_records import (
    AgendaItemRecord,
    AttendeeRecord,
    DecisionRecord,
    MeetingDetail,
    MeetingRecord,
)

AT = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.UTC)


def _action(action_id: int, person_id: int, status: str = "open", **kw: object) -> ActionRecord:
    values: dict[str, object] = {
        "id": action_id,
        "person_id": person_id,
        "title": f"Action {action_id}",
        "source": "mdt_decision",
        "care_plan_id": None,
        "mdt_decision_id": 1,
        "mdt_meeting_id": 7,
        "owner_user_id": None,
        "owner_name": "Sam Patel",
        "owner_org": "Riverside Council",
        "due_on": dt.date(2026, 12, 10),
        "status": status,
        "created_at": AT,
        "created_by": 1,
        "completed_at": None,
        "completed_by": None,
        "outcome": None,
        "version": 1,
    }
    values.update(kw)
    return ActionRecord(**values)  # type: ignore[arg-type]


def _meeting(**kw: object) -> MeetingDetail:
    values: dict[str, object] = {
        "meeting": MeetingRecord(7, "NBH01", "North Riverside", AT, "Room 2", "held", AT, None),
        "attendees": [
            AttendeeRecord(1, 5, "Dr Ada", "GP", "Mill Lane Surgery", True),
            AttendeeRecord(2, None, "Sam Patel", "Housing officer", "Riverside Council", False),
            AttendeeRecord(3, 6, "Nurse Ned", "Nurse", "", None),
        ],
        "agenda": [
            AgendaItemRecord(1, 31, 1, ("Emergency admission on 1 December 2026",), True, None),
            AgendaItemRecord(2, 32, 2, ("New on the register",), False, "Ran out of time"),
        ],
        "decisions": [DecisionRecord(1, 31, "Housing assessment", AT, "Dr Ada")],
        "actions": [_action(1, 31), _action(2, 31, "done", title="Review medicines")],
        "carried_in": [_action(3, 32, due_on=dt.date(2026, 11, 1), mdt_decision_id=9)],
    }
    values.update(kw)
    return MeetingDetail(**values)  # type: ignore[arg-type]


def test_minutes_list_attendance_people_decisions_actions_and_carry_over() -> None:
    nxt = MeetingRecord(
        8, "NBH01", "North Riverside", AT + dt.timedelta(days=28), None, "scheduled", None, None
    )
    text = write_minutes(_meeting(), {31: "NHS number 999 000 0031"}, nxt)
    lines = text.splitlines()
    assert lines[0] == "Minutes of the North Riverside multidisciplinary team meeting"
    assert lines[1] == "Held on 3 December 2026 at 13:00 (UK time), Room 2"
    assert "  Present: Dr Ada (GP, Mill Lane Surgery)" in lines
    assert "  Apologies: Sam Patel (Housing officer, Riverside Council)" in lines
    assert "  Not recorded: Nurse Ned (Nurse)" in lines
    assert "  1. NHS number 999 000 0031 (discussed)" in lines
    assert "    Reason: Emergency admission on 1 December 2026" in lines
    assert "    DECISION: Housing assessment (recorded by Dr Ada)" in lines
    assert (
        "    - ACTION: Action 1 — owner Sam Patel (Riverside Council), due 10 December 2026 [open]"
        in lines
    )
    assert any("Review medicines" in line and "[done]" in line for line in lines)
    assert "  2. Person 32 (not discussed)" in lines
    assert "    Note: Ran out of time" in lines
    assert "    Carried over from earlier meetings:" in lines
    carry = "  2 open action(s) carry over to the next meeting ({} at 13:00 (UK time)):"
    carry = carry.format("31 December 2026")
    assert carry in lines


def test_minutes_of_a_meeting_with_nothing_outstanding_say_so() -> None:
    text = write_minutes(_meeting(agenda=[], actions=[], carried_in=[], decisions=[]), {}, None)
    assert "  Nobody was on the agenda." in text
    assert "  None: every action is done or cancelled." in text


def test_the_most_pressing_reasons_come_first() -> None:
    new = Candidate(1, [("new_entrant", "New")])
    busy_new = Candidate(2, [("new_entrant", "New"), ("review_due", "Review due")])
    overdue = Candidate(3, [("riser", "Rising"), ("overdue_actions", "Overdue")])
    ordered = sorted([new, busy_new, overdue], key=lambda c: c.priority)
    assert [c.person_id for c in ordered] == [3, 2, 1]
    assert overdue.texts() == ["Overdue", "Rising"]
