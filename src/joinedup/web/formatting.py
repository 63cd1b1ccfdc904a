"""How numbers, dates and times are shown on pages (NHS style: 1,234 · 20.6% · 31 March 2025 ·
4 December 2026 at 13:30, on UK clocks). Templates use these as filters, never strftime. Also
how a service's refusal is shown (`as_sentence`)."""

from __future__ import annotations

from datetime import date, datetime

from joinedup import dates
from joinedup.dates import UK_TIME_ZONE

WITHHELD = "withheld"


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


def decimal(value: float | None, places: int = 1) -> str:
    """A figure to `places` decimal places with thousands separators (1,234.5); a withheld
    figure says so."""
    if value is None:
        return WITHHELD
    return f"{round(value, places) + 0.0:,.{places}f}"  # + 0.0: never "-0.00"


def signed_percent(value: float | None, places: int = 1) -> str:
    """A relative change as a signed percentage (0.052 → +5.2%, −0.3 → -30.0%); withheld when
    None."""
    if value is None:
        return WITHHELD
    return f"{round(100 * value, places) + 0.0:+,.{places}f}%"


def nhs_date(value: date | str | None) -> str:
    """A date the NHS way: no leading zero, the month in full."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UK_TIME_ZONE)  # the UK date of an instant, not UTC's
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return dates.long_date(day)


def month_year(value: date) -> str:
    """A month the NHS way: "April 2026"."""
    return dates.long_date(value).split(" ", 1)[1]


def uk_time(value: datetime | None) -> str:
    """The time of an instant on UK clocks, 24-hour (e.g. 13:30)."""
    if value is None:
        return ""
    local = value.astimezone(UK_TIME_ZONE) if value.tzinfo is not None else value
    return f"{local:%H:%M}"


def uk_datetime(value: datetime | str | None, *, seconds: bool = False) -> str:
    """An instant as a UK date and time: "4 December 2026 at 13:30" (GMT or BST, never UTC).

    Instants are stored in UTC; one without a zone is read as UTC. ISO text is accepted (run
    metadata keeps its timestamps as text); text that is not a timestamp is shown as it is.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return dates.uk_datetime(value, seconds=seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return dates.uk_datetime(moment, seconds=seconds)


def as_sentence(problem: Exception) -> str:
    """A service's message as a sentence on a page: capital first, full stop last."""
    text = str(problem)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
