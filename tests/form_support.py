"""Filling forms in in-process tests: the NHS date input's three boxes."""

from __future__ import annotations

import datetime as dt


def date_fields(field_id: str, day: dt.date | None) -> dict[str, str]:
    """The form values of the date input `field_id` typed as `day` (blank when None)."""
    if day is None:
        return {f"{field_id}-{part}": "" for part in ("day", "month", "year")}
    return {
        f"{field_id}-day": str(day.day),
        f"{field_id}-month": str(day.month),
        f"{field_id}-year": str(day.year),
    }
