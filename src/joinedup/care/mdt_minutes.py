"""The minutes of an MDT meeting, written as plain text when the meeting closes.

Written once and kept on the meeting as they were (later changes to actions do not rewrite
history): who was invited and who came, then per person discussed or on the agenda the reasons
they were there, the decisions and the actions with their owners and due dates, and the
actions carried over from earlier meetings and to the next one.
"""

from __future__ import annotations

import datetime as dt

from joinedup.care.actions import ActionRecord
from joinedup.care.mdt_records import MeetingDetail, MeetingRecord
from joinedup.dates import long_date, uk_datetime


def _day(day: dt.date) -> str:
    return long_date(day)


def _when(moment: dt.datetime) -> str:
    return f"{uk_datetime(moment)} (UK time)"


def _action_line(action: ActionRecord) -> str:
    return (
        f"    - ACTION: {action.title} — owner {action.owner_name} ({action.owner_org}), "
        f"due {_day(action.due_on)} [{action.status}]"
    )


def write_minutes(
    detail: MeetingDetail, people: dict[int, str], next_meeting: MeetingRecord | None
) -> str:
    """The minutes of `detail` as text; `people` names each person (default: person number)."""
    meeting = detail.meeting
    lines = [
        f"Minutes of the {meeting.neighbourhood_name} multidisciplinary team meeting",
        f"Held on {_when(meeting.starts_at)}"
        + (f", {meeting.location}" if meeting.location else ""),
        "",
        "Attendees",
    ]
    for label, wanted in (("Present", True), ("Apologies", False), ("Not recorded", None)):
        names = [
            f"{a.name} ({', '.join(p for p in (a.role, a.organisation) if p)})"
            for a in detail.attendees
            if a.attended is wanted
        ]
        if names:
            lines.append(f"  {label}: " + "; ".join(names))
    lines += ["", "People discussed"]
    if not detail.agenda:
        lines.append("  Nobody was on the agenda.")
    for item in detail.agenda:
        name = people.get(item.person_id, f"Person {item.person_id}")
        state = "discussed" if item.discussed else "not discussed"
        lines += ["", f"  {item.position}. {name} ({state})"]
        lines += [f"    Reason: {reason}" for reason in item.reasons]
        if item.note:
            lines.append(f"    Note: {item.note}")
        for decision in detail.decisions_for(item.person_id):
            lines.append(f"    DECISION: {decision.text} (recorded by {decision.recorded_by})")
        lines += [_action_line(a) for a in detail.actions_for(item.person_id)]
        carried = detail.carried_for(item.person_id)
        if carried:
            lines.append("    Carried over from earlier meetings:")
            lines += ["  " + _action_line(a) for a in carried]
    outstanding = [a for a in detail.actions + detail.carried_in if a.is_open]
    lines += ["", "Outstanding actions"]
    if not outstanding:
        lines.append("  None: every action is done or cancelled.")
    else:
        where = (
            f"the next meeting ({_when(next_meeting.starts_at)})"
            if next_meeting
            else "the neighbourhood's next meeting when it is scheduled"
        )
        lines.append(f"  {len(outstanding)} open action(s) carry over to {where}:")
        for action in outstanding:
            name = people.get(action.person_id, f"Person {action.person_id}")
            lines.append(f"  {name}:")
            lines.append(_action_line(action))
    return "\n".join(lines) + "\n"
