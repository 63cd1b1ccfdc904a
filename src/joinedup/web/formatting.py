"""How numbers and dates are shown on pages (NHS style: 1,234 · 20.6% · 31 March 2025)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

WITHHELD = "withheld"
#: Instants are stored in UTC and shown in UK local time (GMT or BST).
UK_TIME_ZONE = ZoneInfo("Europe/London")


def number(value: int | float | None) -> str:
    """A count with thousands separators; a withheld (suppressed) count says so."""
    if value is None:
        return WITHHELD
    return f"{value:,}"


def percent(count: int | None, total: int | None) -> str:
    """`count` as a share of `total`, to one decimal place."""
    if count is None or not total:
        return WITHHELD if count is None else "–"
    return f"{100 * count / total:.1f}%"


def nhs_date(value: date | str | None) -> str:
    """A date the NHS way: no leading zero, the month in full."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UK_TIME_ZONE)  # the UK date of an instant, not UTC's
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.day} {day:%B %Y}"


def uk_time(value: datetime | None) -> str:
    """The time of an instant on UK clocks, 24-hour (e.g. 13:30)."""
    if value is None:
        return ""
    local = value.astimezone(UK_TIME_ZONE) if value.tzinfo is not None else value
    return f"{local:%H:%M}"
