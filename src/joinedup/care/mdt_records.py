"""What an MDT meeting's reads return: plain records for its pages and its minutes.

Kept apart from the meeting services (`joinedup.care.mdt`) so the minutes writer
(`joinedup.care.mdt_minutes`) can read them without importing the services that call it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from joinedup.care.actions import ActionRecord


@dataclass(frozen=True)
class MeetingRecord:
    id: int
    neighbourhood_code: str
    neighbourhood_name: str
    starts_at: dt.datetime
    location: str | None
    status: str
    held_at: dt.datetime | None
    minutes: str | None
    agenda_size: int = 0

    @property
    def is_open(self) -> bool:
        """Decisions, attendance and the agenda can still change."""
        return self.status == "scheduled"


@dataclass(frozen=True)
class AttendeeRecord:
    id: int
    user_id: int | None
    name: str
    role: str
    organisation: str
    attended: bool | None


@dataclass(frozen=True)
class AgendaItemRecord:
    id: int
    person_id: int
    position: int
    reasons: tuple[str, ...]
    discussed: bool
    note: str | None


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    person_id: int
    text: str
    recorded_at: dt.datetime
    recorded_by: str


@dataclass(frozen=True)
class MeetingDetail:
    """A meeting with everything its pages and minutes show."""

    meeting: MeetingRecord
    attendees: list[AttendeeRecord]
    agenda: list[AgendaItemRecord]
    decisions: list[DecisionRecord]
    #: Actions raised at this meeting (any status).
    actions: list[ActionRecord]
    #: Open actions raised at earlier meetings and carried to this one.
    carried_in: list[ActionRecord]

    def item(self, person_id: int) -> AgendaItemRecord | None:
        return next((i for i in self.agenda if i.person_id == person_id), None)

    def decisions_for(self, person_id: int) -> list[DecisionRecord]:
        return [d for d in self.decisions if d.person_id == person_id]

    def actions_for(self, person_id: int) -> list[ActionRecord]:
        return [a for a in self.actions if a.person_id == person_id]

    def carried_for(self, person_id: int) -> list[ActionRecord]:
        return [a for a in self.carried_in if a.person_id == person_id]
