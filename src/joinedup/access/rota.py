"""Hubs, rooms, clinicians, rota sessions and their slots, from a rota definition (YAML or JSON).

A definition names hubs (with opening hours, rooms and clinicians) and sessions: a clinician in
a room of a hub on a date, or on some weekdays between two dates, cut into slots of a set
length that all carry one GPAD national category, a mode and who may book them::

    hubs:
      - code: HUB01
        name: Riverside Extended Access Hub
        address: 1 Mill Lane, Riverside
        pcn_code: NBH01
        opening_hours: {mon: ["08:00", "20:00"], sat: ["09:00", "17:00"]}
        rooms: [Room 1]
        clinicians: [{name: Dr Asha Patel, role: gp, username: apatel}]
    sessions:
      - {hub: HUB01, clinician: Dr Asha Patel, room: Room 1, from: 2026-12-07, to: 2026-12-20,
         weekdays: [mon, sat], start: "18:30", end: "20:00", slot_minutes: 15,
         category: General Consultation Routine, mode: face_to_face,
         bookable_by: [practice], release_to_nhs111_minutes_before: 120}

Times are local (Europe/London) and stored as UTC instants. Loading is all or nothing: every
problem (a bad field, a session outside the hub's opening hours, a clinician or room already
busy then) is reported with where it is, and nothing is written unless there are none. Hubs
already in the care store are updated in place, so a later definition may add sessions only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.access.gpad import NATIONAL_CATEGORIES
from joinedup.access.models import (
    BOOKER_KINDS,
    CLINICIAN_ROLES,
    MODES,
    Hub,
    HubClinician,
    HubRoom,
    RotaSession,
    Slot,
)
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.governance.models import User

LOCAL_ZONE = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PURPOSE = "extended access: hub rota"


class RotaError(UserError, ValueError):
    """A rota definition that cannot be loaded as it is; `problems` says every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"the rota was not loaded ({len(problems)} problems): " + "; ".join(problems)
        )
        self.problems = problems


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(allowed)}")
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClinicianSpec(_Spec):
    name: str = Field(min_length=1, max_length=200)
    role: str
    username: str | None = None

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return _one_of(value, CLINICIAN_ROLES, "role")


class HubSpec(_Spec):
    code: str = Field(pattern=r"^[A-Z0-9]{3,12}$")
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    pcn_code: str = Field(pattern=r"^[A-Z0-9]{3,12}$")
    opening_hours: dict[str, tuple[dt.time, dt.time]]
    rooms: list[str] = Field(min_length=1)
    clinicians: list[ClinicianSpec] = Field(default_factory=list)

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, tuple[dt.time, dt.time]]) -> dict[str, Any]:
        for day, (opens, closes) in value.items():
            _one_of(day, WEEKDAYS, "weekday")
            if closes <= opens:
                raise ValueError(f"{day}: closes at {closes:%H:%M}, before it opens")
        return value


class SessionSpec(_Spec):
    model_config = ConfigDict(populate_by_name=True)

    hub: str
    clinician: str
    room: str
    date: dt.date | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    weekdays: list[str] | None = None
    start: dt.time
    end: dt.time
    slot_minutes: int = Field(ge=5, le=120)
    category: str
    mode: str
    bookable_by: list[str] = Field(min_length=1)
    release_to_nhs111_minutes_before: int | None = Field(default=None, ge=0, le=7 * 24 * 60)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _one_of(value, NATIONAL_CATEGORIES, "GPAD national category")

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        return _one_of(value, MODES, "mode")

    @field_validator("bookable_by")
    @classmethod
    def _bookers(cls, value: list[str]) -> list[str]:
        return [_one_of(v, BOOKER_KINDS, "booker") for v in value]

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_one_of(v, WEEKDAYS, "weekday") for v in value]

    def days(self) -> list[dt.date]:
        """The dates this line puts the clinician on the rota."""
        if self.date is not None:
            return [self.date]
        assert self.from_ is not None and self.to is not None
        span = (self.to - self.from_).days + 1
        every = (self.from_ + dt.timedelta(days=n) for n in range(span))
        wanted = set(self.weekdays or WEEKDAYS)
        return [d for d in every if WEEKDAYS[d.weekday()] in wanted]

    def shape_problem(self) -> str | None:
        """Why this line cannot be laid out, if it cannot."""
        if (self.date is None) == (self.from_ is None or self.to is None):
            return "give either date, or from and to (with weekdays if not every day)"
        if self.from_ and self.to and not dt.timedelta(0) <= self.to - self.from_ <= MAX_SPAN:
            return f"from must come before to, at most {MAX_SPAN.days} days apart"
        minutes = _minutes(self.end) - _minutes(self.start)
        if minutes <= 0:
            return "the session ends before it starts"
        if minutes % self.slot_minutes:
            return (
                f"a {minutes}-minute session does not divide into {self.slot_minutes}-minute slots"
            )
        return None


MAX_SPAN = dt.timedelta(days=366)


class RotaDefinition(_Spec):
    hubs: list[HubSpec] = Field(default_factory=list)
    sessions: list[SessionSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class RotaSummary:
    hubs: int
    sessions: int
    slots: int

    def __str__(self) -> str:
        return f"{self.hubs} hubs, {self.sessions} sessions, {self.slots} slots"


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def local_instant(day: dt.date, at: dt.time) -> dt.datetime:
    """A local (Europe/London) wall-clock time on `day`, as a UTC instant."""
    return dt.datetime.combine(day, at, tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def read_definition(path: Path) -> dict[str, Any]:
    """A rota definition file (YAML, or JSON by its .json suffix) as plain data."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RotaError([f"cannot read {path.name}: {exc.strerror}"]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise RotaError([f"{path.name} is not valid {kind}: {exc}"]) from None
    if not isinstance(data, dict):
        raise RotaError([f"{path.name} must hold a mapping with hubs and sessions"])
    return data


def parse_definition(data: Mapping[str, Any]) -> RotaDefinition:
    """The definition, checked field by field; every problem is reported with where it is."""
    try:
        definition = RotaDefinition.model_validate(data)
    except ValidationError as exc:
        raise RotaError(
            [
                f"{'.'.join(str(p) for p in e['loc']) or 'definition'}: {e['msg']}"
                for e in exc.errors()
            ]
        ) from None
    problems = [
        f"sessions.{n}: {problem}"
        for n, line in enumerate(definition.sessions)
        if (problem := line.shape_problem())
    ]
    if problems:
        raise RotaError(problems)
    return definition


def load_rota(
    sessions: sessionmaker[Session], data: Mapping[str, Any], *, actor: str, actor_role: str
) -> RotaSummary:
    """Create or update the hubs and add the sessions and slots of a definition, all or nothing."""
    definition = parse_definition(data)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="rota.load",
        entity_type="rota",
        purpose=PURPOSE,
    ) as uow:
        problems: list[str] = []
        for n, spec in enumerate(definition.hubs):
            problems += [f"hubs.{n}: {p}" for p in _save_hub(uow.session, spec, uow.now)]
        uow.session.flush()
        planned, plan_problems = _plan_sessions(uow.session, definition.sessions)
        problems += plan_problems
        if problems:
            raise RotaError(problems)
        slots = _insert_sessions(uow.session, planned)
        summary = RotaSummary(len(definition.hubs), len(planned), slots)
        uow.audit.detail.update(hubs=summary.hubs, sessions=summary.sessions, slots=slots)
    return summary


def _save_hub(session: Session, spec: HubSpec, now: dt.datetime) -> list[str]:
    hub = session.scalar(select(Hub).where(Hub.code == spec.code))
    if hub is None:
        hub = Hub(code=spec.code, created_at=now)
        session.add(hub)
    hub.name, hub.address, hub.pcn_code = spec.name, spec.address, spec.pcn_code
    hub.opening_hours = {
        day: [f"{o:%H:%M}", f"{c:%H:%M}"] for day, (o, c) in spec.opening_hours.items()
    }
    session.flush()
    known_rooms = set(session.scalars(select(HubRoom.name).where(HubRoom.hub_id == hub.id)))
    session.add_all(
        HubRoom(hub_id=hub.id, name=room)
        for room in dict.fromkeys(spec.rooms)
        if room not in known_rooms
    )
    problems = []
    for n, spec_clinician in enumerate(spec.clinicians):
        user_id = None
        if spec_clinician.username is not None:
            user_id = session.scalar(
                select(User.id).where(User.username == spec_clinician.username)
            )
            if user_id is None:
                problems.append(f"clinicians.{n}: no user {spec_clinician.username!r}")
                continue
        clinician = session.scalar(
            select(HubClinician).where(
                HubClinician.hub_id == hub.id, HubClinician.name == spec_clinician.name
            )
        )
        if clinician is None:
            clinician = HubClinician(hub_id=hub.id, name=spec_clinician.name)
            session.add(clinician)
        clinician.role, clinician.user_id = spec_clinician.role, user_id
    return problems


@dataclass(frozen=True)
class _Planned:
    spec: SessionSpec
    hub_id: int
    clinician_id: int
    room_id: int
    day: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime


def _plan_sessions(session: Session, specs: list[SessionSpec]) -> tuple[list[_Planned], list[str]]:
    """Every session the definition asks for, checked against the hubs and each other."""
    hubs = {h.code: h for h in session.scalars(select(Hub))}
    rooms = {(r.hub_id, r.name): r.id for r in session.scalars(select(HubRoom))}
    clinicians = {(c.hub_id, c.name): c.id for c in session.scalars(select(HubClinician))}
    busy = _BusyTimes(session)
    planned, problems = [], []
    for n, spec in enumerate(specs):
        hub = hubs.get(spec.hub)
        where = f"sessions.{n}"
        if hub is None:
            problems.append(f"{where}: no hub {spec.hub!r}")
            continue
        room_id, clinician_id = (
            rooms.get((hub.id, spec.room)),
            clinicians.get((hub.id, spec.clinician)),
        )
        if room_id is None or clinician_id is None:
            missing = "room" if room_id is None else "clinician"
            problems.append(f"{where}: hub {spec.hub} has no {missing} {getattr(spec, missing)!r}")
            continue
        for day in spec.days():
            item = _Planned(
                spec,
                hub.id,
                clinician_id,
                room_id,
                day,
                local_instant(day, spec.start),
                local_instant(day, spec.end),
            )
            problem = _outside_hours(hub, spec, day) or busy.clash(item)
            if problem:
                problems.append(f"{where} on {day}: {problem}")
            else:
                planned.append(item)
    return planned, problems


def _outside_hours(hub: Hub, spec: SessionSpec, day: dt.date) -> str | None:
    weekday = WEEKDAYS[day.weekday()]
    hours = hub.opening_hours.get(weekday)
    if hours is None:
        return f"hub {hub.code} is closed on {weekday}"
    opens, closes = (dt.time.fromisoformat(h) for h in hours)
    if spec.start < opens or spec.end > closes:
        return f"hub {hub.code} is open {hours[0]}-{hours[1]} on {weekday}"
    return None


class _BusyTimes:
    """Sessions already on the rota (and planned so far), to refuse a clinician or room twice."""

    def __init__(self, session: Session) -> None:
        self._by: dict[tuple[str, int], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for row in session.execute(
            select(
                RotaSession.clinician_id,
                RotaSession.room_id,
                RotaSession.starts_at,
                RotaSession.ends_at,
            )
        ):
            self._add(row.clinician_id, row.room_id, row.starts_at, row.ends_at)

    def _add(self, clinician: int, room: int, start: dt.datetime, end: dt.datetime) -> None:
        self._by[("clinician", clinician)].append((start, end))
        self._by[("room", room)].append((start, end))

    def clash(self, item: _Planned) -> str | None:
        for kind, key in (("clinician", item.clinician_id), ("room", item.room_id)):
            if any(s < item.ends_at and item.starts_at < e for s, e in self._by[(kind, key)]):
                return f"the {kind} already has a session then"
        self._add(item.clinician_id, item.room_id, item.starts_at, item.ends_at)
        return None


def _insert_sessions(session: Session, planned: list[_Planned]) -> int:
    slots = 0
    for item in planned:
        rota = RotaSession(
            hub_id=item.hub_id,
            clinician_id=item.clinician_id,
            room_id=item.room_id,
            day=item.day,
            starts_at=item.starts_at,
            ends_at=item.ends_at,
        )
        session.add(rota)
        session.flush()
        rows = list(_slot_rows(item, rota.id))
        session.execute(insert(Slot), rows)
        slots += len(rows)
    return slots


def _slot_rows(item: _Planned, session_id: int) -> Iterator[dict[str, Any]]:
    spec, length = item.spec, dt.timedelta(minutes=item.spec.slot_minutes)
    release = spec.release_to_nhs111_minutes_before
    start = item.starts_at
    while start < item.ends_at:
        yield {
            "session_id": session_id,
            "hub_id": item.hub_id,
            "starts_at": start,
            "ends_at": start + length,
            "category": spec.category,
            "mode": spec.mode,
            "bookable_practices": "practice" in spec.bookable_by,
            "bookable_nhs111": "nhs111" in spec.bookable_by,
            "bookable_person": "person" in spec.bookable_by,
            "released_to_nhs111_at": None
            if release is None
            else start - dt.timedelta(minutes=release),
            "status": "free",
        }
        start += length
