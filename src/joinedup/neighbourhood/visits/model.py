"""The visit planner's JSON contract: a day to plan (`Day`), the plan (`Plan`), and the events of
a same-day replan (`Events`), as pydantic models validated at the edge.

Times are clock times on the day, "HH:MM" in JSON and whole minutes after midnight inside.
A visit's window is set by the named nurse (QNI Workforce Standards for the District Nursing
Service, 2022: the window "should not be delegated to scheduling platforms"), so the planner
never moves it: the whole visit, from its start to start + duration, lies inside the window.

Priority, by acuity: 1 = must be seen today at its time (insulin, end-of-life care, a blocked
catheter); 2 = should be seen today; 3 = can safely wait for another day. A visit is left
unplanned only when it cannot be fitted; lower-priority visits give way first.

`parse_day`, `parse_plan` and `parse_events` turn untrusted JSON into models or raise
`ContractError` naming every problem with where it is (e.g. `visits[3] (V12).window_end`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from joinedup.errors import UserError

MINUTES_PER_DAY = 24 * 60
PRIORITIES = (1, 2, 3)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def clock(minutes: int) -> str:
    """Minutes after midnight as HH:MM."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(value: object) -> object:
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if not match:
            raise ValueError("must be a clock time HH:MM (00:00 to 23:59)")
        return int(match[1]) * 60 + int(match[2])
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a clock time HH:MM")
    return value  # already minutes: a model built in code


Clock = Annotated[
    int,
    BeforeValidator(_minutes),
    Field(ge=0, lt=MINUTES_PER_DAY),
    PlainSerializer(clock, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _CLOCK.pattern, "examples": ["08:30"]}),
]
Text = Annotated[str, Field(min_length=1, max_length=100)]
Skill = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Visit(_Strict):
    """One home visit to plan."""

    id: Text = Field(description="Any text naming the visit; unique in the day.")
    lat: float = Field(ge=49.0, le=61.0, description="Latitude of the home (WGS84, UK).")
    lon: float = Field(ge=-9.0, le=2.5, description="Longitude of the home (WGS84, UK).")
    duration_min: int = Field(ge=1, le=480, description="Minutes of care at the home.")
    window_start: Clock = Field(description="Earliest start, set by the named nurse.")
    window_end: Clock = Field(description="Latest finish, set by the named nurse.")
    skills: list[Skill] = Field(
        default_factory=list,
        description="Competencies every nurse at the visit must hold (e.g. syringe_driver).",
    )
    priority: int = Field(
        default=2,
        ge=1,
        le=3,
        description="1 must be seen today (time-critical), 2 should be seen today, 3 can wait.",
    )
    preferred_nurse: Text | None = Field(
        default=None, description="The nurse the person knows (continuity); soft."
    )
    two_person: bool = Field(
        default=False, description="Needs two nurses arriving together (double-handed)."
    )
    fixed_time: Clock | None = Field(
        default=None, description="Start exactly at this time (e.g. insulin); inside the window."
    )

    @model_validator(mode="after")
    def _window_holds_the_visit(self) -> Visit:
        if self.window_end - self.window_start < self.duration_min:
            raise ValueError(
                f"the window {clock(self.window_start)}–{clock(self.window_end)} is shorter "
                f"than the visit's {self.duration_min} minutes"
            )
        if self.fixed_time is not None and not (
            self.window_start <= self.fixed_time <= self.window_end - self.duration_min
        ):
            raise ValueError(
                f"fixed_time {clock(self.fixed_time)} does not leave the whole visit inside "
                f"its window {clock(self.window_start)}–{clock(self.window_end)}"
            )
        return self

    @property
    def latest_start(self) -> int:
        return self.window_end - self.duration_min


class Nurse(_Strict):
    """One nurse on the rota for the day, starting and ending at a base."""

    id: Text = Field(description="Any text naming the nurse; unique in the day.")
    lat: float = Field(ge=49.0, le=61.0, description="Latitude of the nurse's base.")
    lon: float = Field(ge=-9.0, le=2.5, description="Longitude of the nurse's base.")
    shift_start: Clock
    shift_end: Clock
    skills: list[Skill] = Field(default_factory=list)
    break_start: Clock = Field(description="Earliest start of the break.")
    break_end: Clock = Field(description="Latest end of the break.")
    break_min: int = Field(ge=0, le=120, description="Length of the break; 0 for none.")
    max_visits: int | None = Field(
        default=None, ge=0, le=40, description="Most visits this nurse makes today (QNI: 9–10)."
    )
    band: int | None = Field(default=None, ge=2, le=9, description="Agenda for Change band.")

    @model_validator(mode="after")
    def _times_in_order(self) -> Nurse:
        if self.shift_end <= self.shift_start:
            raise ValueError("shift_end must be after shift_start")
        if not (self.shift_start <= self.break_start and self.break_end <= self.shift_end):
            raise ValueError("the break window must lie inside the shift")
        if self.break_end - self.break_start < self.break_min:
            raise ValueError(f"the break window is shorter than break_min {self.break_min}")
        return self


class Day(_Strict):
    """A day to plan: the visits and the nurses on shift."""

    visits: list[Visit] = Field(max_length=2000)
    nurses: list[Nurse] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ids_unique(self) -> Day:
        for kind, ids in (("visit", [v.id for v in self.visits]), ("nurse", self.nurse_ids)):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique: {', '.join(repeated[:5])} repeated")
        return self

    @property
    def nurse_ids(self) -> list[str]:
        return [n.id for n in self.nurses]

    def visit(self, visit_id: str) -> Visit:
        return next(v for v in self.visits if v.id == visit_id)

    def nurse(self, nurse_id: str) -> Nurse:
        return next(n for n in self.nurses if n.id == nurse_id)


# --- the plan --------------------------------------------------------------------------------


class Stop(_Strict):
    """One visit in a nurse's route."""

    visit_id: str
    travel_min: int = Field(description="Minutes of travel from the previous place.")
    arrival: Clock = Field(description="When the nurse arrives (after travel and any break).")
    start: Clock
    departure: Clock = Field(description="Start + duration.")


class Route(_Strict):
    """One nurse's day: from the base, the visits in order, back to the base."""

    nurse_id: str
    leave_base: Clock
    return_base: Clock
    break_start: Clock | None = Field(default=None, description="None when break_min is 0.")
    break_end: Clock | None = None
    stops: list[Stop]
    travel_min: int = Field(description="Minutes of travel including the way back to base.")


class Unplanned(_Strict):
    visit_id: str
    reason: str


class Summary(_Strict):
    travel_min: int
    visits_planned: int
    unplanned: int
    preferred_seen: int = Field(description="Visits seen by their preferred nurse.")
    preferred_on_shift: int = Field(description="Visits whose preferred nurse is on shift.")
    continuity_share: float | None = Field(
        description="preferred_seen / preferred_on_shift; None when no preferred nurse is on."
    )


class Plan(_Strict):
    """A planned day; carries the day it was planned from, so it can be checked and replanned."""

    day: Day
    continuity_weight: int
    routes: list[Route]
    unplanned: list[Unplanned]
    summary: Summary


# --- same-day events -------------------------------------------------------------------------


class NurseOff(_Strict):
    nurse_id: Text
    from_time: Clock = Field(
        alias="from", description="Off from this time; a visit already started is finished."
    )
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Events(_Strict):
    """What has happened by `now`: the replan keeps started and done visits where they are."""

    now: Clock
    nurses_off: list[NurseOff] = Field(default_factory=list)
    urgent_visits: list[Visit] = Field(default_factory=list, max_length=200)
    started: list[Text] = Field(default_factory=list, description="Visit ids under way now.")
    done: list[Text] = Field(default_factory=list, description="Visit ids finished by now.")
    cancelled: list[Text] = Field(default_factory=list, description="Visit ids no longer needed.")


# --- parsing at the edge ---------------------------------------------------------------------


class ContractError(UserError):
    """The input does not meet the contract; `problems` lists every one with its place."""

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{what} is not valid: " + "; ".join(self.problems))


def _place(location: Sequence[int | str], data: object) -> str:
    """`visits[3] (V12).window_end` from a pydantic location, naming list items by their id."""
    words: list[str] = []
    node: Any = data
    for part in location:
        if isinstance(part, int):
            item_id = (
                node[part].get("id")
                if isinstance(node, list) and isinstance(node[part], dict)
                else None
            )
            words[-1] += f"[{part}]" + (f" ({item_id})" if isinstance(item_id, str) else "")
        else:
            words.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(words) or "the document"


def _problems(exc: ValidationError, data: object) -> Iterator[str]:
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        yield f"{_place(error['loc'], data)}: {message}"


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], text: str, what: str) -> M:
    """`text` (JSON) as `model`, or `ContractError` with every problem located."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(what, [f"not JSON: {exc.msg} at line {exc.lineno}"]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractError(what, list(_problems(exc, data))) from None


def to_json(model: BaseModel) -> str:
    return model.model_dump_json(indent=2, by_alias=True) + "\n"
