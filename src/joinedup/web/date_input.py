"""The NHS date input: a date typed in day, month and year boxes, read one way by every form.

Pattern and error messages from the NHS digital service manual, "Date input"
(https://service-manual.nhs.uk/design-system/components/date-input): "Enter [what]",
"[What] must include a [missing part]", "[What] must be a real date", "Year must include 4 numbers",
"[What] must be in the past" / "… today or in the future". The macro that draws the boxes is
`macros/date_input.html`; its inputs are named `<id>-day`, `<id>-month`, `<id>-year`.

A time is typed as text on the 24-hour clock ("14:30", hint "For example, 14:30"), in the box
`<id>-time` next to the date (`macros/date_input.html`'s `time_input`), read by `read_time` and,
with its date, `read_date_time`. The manual has no time component; its messages follow the date
input's pattern: "Enter [what]", "[What] must include a time", "[What] must be a real time".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from joinedup.dates import UK_TIME_ZONE

PARTS = ("day", "month", "year")
When = Literal["past", "future"] | None
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


async def _form_fields(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


#: A POSTed form's text fields, for the date and time boxes a route reads with this module.
FormFields = Annotated[dict[str, str], Depends(_form_fields)]


def date_time_fields(form: Mapping[str, Any], field_id: str) -> dict[str, str]:
    """The four boxes of a date and time as typed, to give a refused form back as it was."""
    names = [f"{field_id}-{part}" for part in (*PARTS, "time")]
    return {name: str(form.get(name, "") or "") for name in names}


class DateInputError(ValueError):
    """A date typed that is not a date; `field` is the id of the box the message points at."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TypedDate:
    """What was typed in the three boxes, to show them again as typed."""

    day: str = ""
    month: str = ""
    year: str = ""

    def __str__(self) -> str:
        return f"{self.day}/{self.month}/{self.year}"


def typed_date(form: Mapping[str, Any], field_id: str) -> TypedDate:
    """The three boxes of `field_id` as typed (stripped)."""
    values = (form.get(f"{field_id}-{part}", "") for part in PARTS)
    return TypedDate(*(v.strip() if isinstance(v, str) else "" for v in values))


def read_date(
    form: Mapping[str, Any],
    field_id: str,
    what: str,
    *,
    required: bool = False,
    when: When = None,
    today: dt.date | None = None,
) -> dt.date | None:
    """The date typed in `field_id`'s boxes (None when all are blank and it is optional).

    `what` names the date as a reader would, lower case ("the due date for action 1"); messages
    start with it capitalised. Raises `DateInputError` with the service manual's message.
    """
    typed = typed_date(form, field_id)
    parts = dict(zip(PARTS, (typed.day, typed.month, typed.year), strict=True))
    missing = [p for p in PARTS if not parts[p]]
    subject = what[:1].upper() + what[1:]
    if len(missing) == len(PARTS):
        if required:
            raise DateInputError(f"Enter {what}", f"{field_id}-day")
        return None
    if missing:
        raise DateInputError(
            f"{subject} must include a {' and '.join(missing)}", f"{field_id}-{missing[0]}"
        )
    if not all(v.isdigit() for v in parts.values()):
        raise DateInputError(f"{subject} must be a real date", f"{field_id}-day")
    if len(typed.year) != 4:
        raise DateInputError("Year must include 4 numbers", f"{field_id}-year")
    try:
        day = dt.date(int(typed.year), int(typed.month), int(typed.day))
    except ValueError:
        raise DateInputError(f"{subject} must be a real date", f"{field_id}-day") from None
    return _checked_when(day, subject, field_id, when, today or dt.date.today())


def _checked_when(day: dt.date, subject: str, field_id: str, when: When, today: dt.date) -> dt.date:
    if when == "past" and day >= today:
        raise DateInputError(f"{subject} must be in the past", f"{field_id}-day")
    if when == "future" and day < today:
        raise DateInputError(f"{subject} must be today or in the future", f"{field_id}-day")
    return day


def date_parts(value: object) -> TypedDate:
    """The three boxes to show for `value`: a date, ISO date text, a `TypedDate` or d/m/y text."""
    if isinstance(value, TypedDate):
        return value
    if isinstance(value, dt.date):
        return TypedDate(str(value.day), str(value.month), str(value.year))
    text = str(value or "").strip()
    if not text:
        return TypedDate()
    if "/" in text:
        return TypedDate(*[*text.split("/", 2), "", ""][:3])
    try:
        return date_parts(dt.date.fromisoformat(text[:10]))
    except ValueError:
        return TypedDate()


def read_time(
    form: Mapping[str, Any], field_id: str, what: str, *, required: bool = False
) -> dt.time | None:
    """The time typed in the box `field_id` ("14:30"; None when blank and optional)."""
    value = form.get(field_id, "")
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise DateInputError(f"Enter {what}", field_id)
        return None
    match = _CLOCK.match(text)
    if match is None:
        subject = what[:1].upper() + what[1:]
        raise DateInputError(
            f"{subject} must be a real time on the 24-hour clock, like 14:30", field_id
        )
    return dt.time(int(match[1]), int(match[2]))


def read_date_time(
    form: Mapping[str, Any], field_id: str, what: str, *, required: bool = False
) -> dt.datetime | None:
    """The instant typed as a date in `field_id`'s boxes and a UK time in `<field_id>-time`,
    in UTC; None when all four are blank and it is optional."""
    subject = what[:1].upper() + what[1:]
    typed = typed_date(form, field_id)
    time_text = str(form.get(f"{field_id}-time", "") or "").strip()
    if not (typed.day or typed.month or typed.year):
        if time_text:
            raise DateInputError(f"{subject} must include a date", f"{field_id}-day")
        if required:
            raise DateInputError(f"Enter {what}", f"{field_id}-day")
        return None
    day = read_date(form, field_id, what, required=True)
    if not time_text:
        raise DateInputError(f"{subject} must include a time", f"{field_id}-time")
    clock = read_time(form, f"{field_id}-time", what, required=True)
    assert day is not None and clock is not None  # both required
    local = dt.datetime.combine(day, clock, tzinfo=UK_TIME_ZONE)
    return local.astimezone(dt.UTC)


def read_query_day(query: Mapping[str, Any], field_id: str, what: str) -> dt.date | None:
    """A day chosen in a GET form: `?<id>=YYYY-MM-DD` (links) or the date input's three boxes."""
    plain = str(query.get(field_id, "") or "").strip()
    if plain:
        try:
            return dt.date.fromisoformat(plain)
        except ValueError:
            subject = what[:1].upper() + what[1:]
            raise DateInputError(f"{subject} must be a real date", f"{field_id}-day") from None
    return read_date(query, field_id, what)
