"""The generator's calendar: extract date, history window and financial years.

Dates are held as int32 day numbers (days since 1970-01-01, Arrow's date32) so whole
populations of dates are plain numpy arithmetic. The extract date is an argument, never the
wall clock, so the same seed and extract date give the same area on any day. It defaults to
DEFAULT_EXTRACT_DATE, the end of financial year 2025/26 (tests and `joinedup generate`);
`joinedup demo` asks for yesterday, so the demo's recent activity is recent.

The history window always holds the five whole financial years that ended on or before the
extract date (the last of them is "the last full financial year", the one the generator is
calibrated on) and, when the extract date is not a financial year's last day, the part of the
current financial year up to the extract date. On DEFAULT_EXTRACT_DATE there is no part year:
2021/22 to 2025/26.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

EPOCH = date(1970, 1, 1)
DAYS_PER_YEAR = 365.25
HISTORY_YEARS = 5  # whole financial years before the extract date
DEFAULT_EXTRACT_DATE = date(2026, 3, 31)  # the last day of financial year 2025/26
#: The earliest extract date the generator accepts: its fixed organisation dates (hubs opened
#: in 2019 and 2022, `records.organisations_table`) lie before or inside every window from here.
EARLIEST_EXTRACT_DATE = date(2024, 3, 31)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def financial_year_of(d: date) -> int:
    """The financial year holding `d`, by the year it starts in (2025 = 2025/26)."""
    return d.year if d.month >= 4 else d.year - 1


@dataclass(frozen=True)
class Calendar:
    """The dates one generated area is built on, all derived from its extract date."""

    extract_date: date
    history_start: date = field(init=False)
    financial_years: tuple[int, ...] = field(init=False)  # 2021 = 2021/22; the last may be part
    last_full_index: int = field(init=False)  # index of the last full financial year
    part_year_days: int = field(init=False)  # days of the current part year (0: none)
    fy_edges: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        extract = self.extract_date
        if not isinstance(extract, date) or isinstance(extract, datetime):
            raise ValueError(f"the extract date must be a date, not {extract!r}")
        if extract < EARLIEST_EXTRACT_DATE:
            raise ValueError(
                f"the extract date must be on or after {EARLIEST_EXTRACT_DATE.isoformat()}, "
                f"not {extract.isoformat()}"
            )
        last_full = financial_year_of(extract + timedelta(days=1)) - 1
        years = list(range(last_full - HISTORY_YEARS + 1, last_full + 1))
        part_days = (extract - date(last_full + 1, 4, 1)).days + 1
        if part_days > 0:
            years.append(last_full + 1)
        # First day of each financial year, plus the first day of the year after the last.
        edges = np.array([day_number(date(y, 4, 1)) for y in (*years, years[-1] + 1)], np.int32)
        object.__setattr__(self, "history_start", date(years[0], 4, 1))
        object.__setattr__(self, "financial_years", tuple(years))
        object.__setattr__(self, "last_full_index", HISTORY_YEARS - 1)
        object.__setattr__(self, "part_year_days", max(part_days, 0))
        object.__setattr__(self, "fy_edges", edges)

    @property
    def extract(self) -> int:
        """The extract date as a day number."""
        return day_number(self.extract_date)

    @property
    def start(self) -> int:
        """The first day of the history window as a day number."""
        return day_number(self.history_start)

    @property
    def window_years(self) -> float:
        """The history window's length in years: five, plus the part year."""
        return HISTORY_YEARS + self.part_year_days / DAYS_PER_YEAR

    def financial_year_index(self, days: np.ndarray) -> np.ndarray:
        """Index into financial_years of each day (days must lie in the history window)."""
        return (np.searchsorted(self.fy_edges, days, side="right") - 1).astype(np.int8)


DEFAULT_CALENDAR = Calendar(DEFAULT_EXTRACT_DATE)


def years_between(start: np.ndarray, end: np.ndarray | int) -> np.ndarray:
    return (np.asarray(end) - start) / DAYS_PER_YEAR


def date_array(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Day numbers as an Arrow date32 array; `missing` marks nulls."""
    ints = pa.array(
        np.asarray(days, dtype=np.int32),
        type=pa.int32(),
        mask=None if missing is None else np.asarray(missing, dtype=bool),
    )
    return ints.view(pa.date32())
