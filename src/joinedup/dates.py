"""Calendar arithmetic every layer needs, in plain Python (no Ibis, no Arrow)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

#: Instants are stored in UTC and shown on UK clocks (GMT or BST), the NHS way.
UK_TIME_ZONE = ZoneInfo("Europe/London")


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def long_date(day: dt.date) -> str:
    """A date the NHS way: "4 December 2026" (no leading zero, the month in full)."""
    return f"{day.day} {day:%B %Y}"


def uk_datetime(moment: dt.datetime, *, seconds: bool = False) -> str:
    """An instant on UK clocks: "4 December 2026 at 13:30" (one without a zone is UTC)."""
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(UK_TIME_ZONE)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{long_date(local.date())} at {clock}"
