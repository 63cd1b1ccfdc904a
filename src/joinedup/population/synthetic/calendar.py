"""The generator's fixed calendar: extract date, history window and financial years.

Dates are held as int32 day numbers (days since 1970-01-01, Arrow's date32) so whole
populations of dates are plain numpy arithmetic. The extract date is fixed, not the wall clock,
so the same seed gives the same area on any day.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

EPOCH = date(1970, 1, 1)
DAYS_PER_YEAR = 365.25


def day_number(d: date) -> int:
    return (d - EPOCH).days


EXTRACT_DATE = date(2026, 3, 31)  # the last day of financial year 2025/26
HISTORY_YEARS = 5
HISTORY_START = date(EXTRACT_DATE.year - HISTORY_YEARS, 4, 1)
FINANCIAL_YEARS = tuple(range(HISTORY_START.year, EXTRACT_DATE.year))  # 2021 = 2021/22
EXTRACT = day_number(EXTRACT_DATE)
START = day_number(HISTORY_START)
# First day of each financial year, plus the day after the last one.
FY_EDGES = np.array(
    [day_number(date(y, 4, 1)) for y in (*FINANCIAL_YEARS, FINANCIAL_YEARS[-1] + 1)], dtype=np.int32
)
LAST_FULL_YEAR = FINANCIAL_YEARS[-1]


def financial_year_index(days: np.ndarray) -> np.ndarray:
    """Index into FINANCIAL_YEARS of each day (days must lie in the history window)."""
    return (np.searchsorted(FY_EDGES, days, side="right") - 1).astype(np.int8)


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
