"""Dates are asked for and shown one way on every page (issue 13, "Words, dates and numbers").

Asked for: the NHS date input (day, month and year boxes, `macros/date_input.html`), never the
browser's date picker. Shown: through the `nhs_date`, `uk_time` or `uk_datetime` filters (one
format, UK clocks), never strftime, isoformat or a date printed as it is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from joinedup.web.date_input import (
    DateInputError,
    date_parts,
    read_date,
    read_date_time,
    read_query_day,
    read_time,
)
from joinedup.web.formatting import nhs_date, uk_datetime, uk_time
from joinedup.web.templating import TEMPLATES_DIR

TEMPLATES = sorted(TEMPLATES_DIR.rglob("*.html"))
OUTPUT = re.compile(r"\{\{(.*?)\}\}", re.S)
#: A printed expression whose last name says it is a date or an instant (…_on, …_at, …_date).
DATE_NAME = re.compile(r"\b\w+(?:_on|_at|_date|_until)\s*$")
SHOWN_RIGHT = (
    "nhs_date",
    "month_year",
    "uk_time",
    "uk_datetime",
    "date_input(",
    "| urlencode",
    "| tojson",
)


def _relative(path: Path) -> str:
    return str(path.relative_to(TEMPLATES_DIR))


def test_there_are_templates_to_scan() -> None:
    assert len(TEMPLATES) > 50


#: The browser's own pickers: a date, a date and time, a time (the NHS asks for each as text).
BROWSER_PICKER = re.compile(r"type=[\"'](date|datetime-local|time)[\"']")


def test_no_form_uses_the_browsers_date_or_time_picker() -> None:
    found = [
        f"{_relative(p)}: {m[1]}" for p in TEMPLATES for m in BROWSER_PICKER.finditer(p.read_text())
    ]
    assert found == [], f"use the date_input / time_input macros (NHS date input) in {found}"


def test_the_picker_scan_catches_each_picker() -> None:
    page = (
        '<input type="date"><input type=\'datetime-local\'><input type="time"><input type="text">'
    )
    assert [m[1] for m in BROWSER_PICKER.finditer(page)] == ["date", "datetime-local", "time"]


def _raw_dates(text: str) -> list[str]:
    """Each printed expression in `text` that shows a date or instant by hand."""
    raw = []
    for match in OUTPUT.finditer(text):
        expr = match.group(1).strip()
        if any(way in expr for way in SHOWN_RIGHT):
            continue
        if "strftime" in expr or "isoformat" in expr or DATE_NAME.search(expr):
            raw.append(expr)
    return raw


def test_no_template_formats_or_prints_a_date_by_hand() -> None:
    raw = [f"{_relative(p)}: {expr}" for p in TEMPLATES for expr in _raw_dates(p.read_text())]
    assert raw == [], "show dates with | nhs_date, | uk_time or | uk_datetime:\n" + "\n".join(raw)


def test_the_scan_catches_a_raw_date() -> None:
    """The scan finds what it is meant to (so it can fail)."""
    page = (
        "<p>{{ entry.review_due_on }} {{ grant.expires_at.strftime('%d %b') }}"
        " {{ day.isoformat() }} {{ entry.review_due_on | nhs_date }} {{ t.at | uk_time }}</p>"
    )
    assert _raw_dates(page) == [
        "entry.review_due_on", "grant.expires_at.strftime('%d %b')", "day.isoformat()"
    ]  # fmt: skip


# --- the shared parser and formats ----------------------------------------------------------


def _typed(day: str, month: str, year: str) -> dict[str, str]:
    return {"due-day": day, "due-month": month, "due-year": year}


@pytest.mark.parametrize(
    ("typed", "message", "field"),
    [
        (("", "", ""), "Enter the due date", "due-day"),
        (("4", "", "2027"), "The due date must include a month", "due-month"),
        (("", "", "2027"), "The due date must include a day and month", "due-day"),
        (("31", "2", "2027"), "The due date must be a real date", "due-day"),
        (("4", "Dec", "2027"), "The due date must be a real date", "due-day"),
        (("4", "12", "27"), "Year must include 4 numbers", "due-year"),
        (("1", "1", "2020"), "The due date must be today or in the future", "due-day"),
    ],
)
def test_a_date_typed_wrong_is_told_in_the_service_manuals_words(
    typed: tuple[str, str, str], message: str, field: str
) -> None:
    with pytest.raises(DateInputError) as caught:
        read_date(
            _typed(*typed), "due", "the due date", required=True, when="future",
            today=dt.date(2026, 12, 4),
        )  # fmt: skip
    assert (str(caught.value), caught.value.field) == (message, field)


def test_a_date_typed_right_is_read_and_shown_again() -> None:
    day = read_date(_typed(" 4", "12 ", "2026"), "due", "the due date")
    assert day == dt.date(2026, 12, 4)
    assert read_date(_typed("", "", ""), "due", "the due date") is None
    assert read_date(_typed("3", "12", "2026"), "due", "x", when="past", today=day) == day.replace(
        day=3
    )
    assert tuple(vars(date_parts(day)).values()) == ("4", "12", "2026")
    assert tuple(vars(date_parts("2026-12-04")).values()) == ("4", "12", "2026")
    assert tuple(vars(date_parts("31/2/")).values()) == ("31", "2", "")


def test_dates_and_times_are_shown_one_way_on_uk_clocks() -> None:
    summer = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)  # BST: already 2 July in the UK
    assert nhs_date(dt.date(2026, 12, 4)) == "4 December 2026"
    assert nhs_date(summer) == "2 July 2026" and uk_time(summer) == "00:30"
    assert uk_datetime(summer) == "2 July 2026 at 00:30"
    assert uk_datetime(dt.datetime(2026, 12, 4, 13, 30, 5)) == "4 December 2026 at 13:30"
    assert uk_datetime("2026-12-04T13:30:05+00:00", seconds=True) == "4 December 2026 at 13:30:05"


NOT_A_TIME = "The contact must be a real time on the 24-hour clock, like 14:30"


def _when(day: str, month: str, year: str, time: str) -> dict[str, str]:
    return {"at-day": day, "at-month": month, "at-year": year, "at-time": time}


@pytest.mark.parametrize(
    ("typed", "message", "field"),
    [
        (("", "", "", "14:30"), "The contact must include a date", "at-day"),
        (("4", "12", "2026", ""), "The contact must include a time", "at-time"),
        (("4", "12", "2026", "2pm"), NOT_A_TIME, "at-time"),
        (("4", "12", "2026", "24:00"), NOT_A_TIME, "at-time"),
        (("31", "2", "2026", "14:30"), "The contact must be a real date", "at-day"),
    ],
)  # fmt: skip
def test_a_date_and_time_typed_wrong_is_told_in_the_service_manuals_words(
    typed: tuple[str, str, str, str], message: str, field: str
) -> None:
    with pytest.raises(DateInputError) as caught:
        read_date_time(_when(*typed), "at", "the contact")
    assert (str(caught.value), caught.value.field) == (message, field)


def test_a_date_and_uk_time_is_read_as_an_instant() -> None:
    summer = read_date_time(_when("1", "7", "2026", "9:05"), "at", "the contact")
    assert summer == dt.datetime(2026, 7, 1, 8, 5, tzinfo=dt.UTC)  # BST
    winter = read_date_time(_when("4", "12", "2026", "14:30"), "at", "the contact")
    assert winter == dt.datetime(2026, 12, 4, 14, 30, tzinfo=dt.UTC)
    assert read_date_time(_when("", "", "", ""), "at", "the contact") is None
    with pytest.raises(DateInputError, match=r"^Enter the contact$"):
        read_date_time(_when("", "", "", ""), "at", "the contact", required=True)
    assert read_time({"t": " 07:45 "}, "t", "the start time") == dt.time(7, 45)
    with pytest.raises(DateInputError, match=r"^Enter the start time$"):
        read_time({"t": ""}, "t", "the start time", required=True)


def test_a_day_is_chosen_by_link_or_by_the_boxes() -> None:
    assert read_query_day({"day": "2026-12-04"}, "day", "the day") == dt.date(2026, 12, 4)
    boxes = {"day-day": "5", "day-month": "12", "day-year": "2026"}
    assert read_query_day(boxes, "day", "the day") == dt.date(2026, 12, 5)
    assert read_query_day({}, "day", "the day") is None
    with pytest.raises(DateInputError, match=r"^The day must be a real date$"):
        read_query_day({"day": "2026-13-01"}, "day", "the day")
