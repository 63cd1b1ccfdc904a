"""NHS numbers: the mod-11 check, vectorised for whole populations, and synthetic issue.

Source: NHS Data Dictionary, "NHS Number" — ten digits; digits 1–9 are weighted 10 down to 2
and summed; check = 11 − (sum mod 11), where 11 becomes 0 and 10 means no valid number.
Numbers in Scotland's CHI range must also begin with a real DDMMYY date of birth.
Single values are checked by the `nhs-number` package (uk-fci, MIT); the vectorised form here
is held to it and to its published vectors in `../shared/reference/nhs_number/`.

The generator issues numbers only from the 9 000 000 000 – 9 999 999 999 range, which is never
allocated to real people (the `nhs-number` package's RANGE_SYNTHETIC; 999 is the test range
within it), so no synthetic person can carry a real person's number.
"""

from __future__ import annotations

import nhs_number
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)
SYNTHETIC_BODIES = (900_000_000, 1_000_000_000)  # nine-digit bodies of the synthetic range


def is_valid(value: str) -> bool:
    """Whether one NHS number is valid (formatting such as spaces or dashes is allowed)."""
    return bool(nhs_number.is_valid(value))


def check_digits(bodies: np.ndarray) -> np.ndarray:
    """Check digit for each nine-digit body (as int64); 10 marks bodies with no valid number."""
    digits = (bodies[:, None] // 10 ** np.arange(8, -1, -1, dtype=np.int64)) % 10
    check = 11 - (digits @ WEIGHTS) % 11
    return np.where(check == 11, 0, check)


CHI_RANGE = (100_000_000, 3_112_999_999)  # Scotland's CHI numbers start with DDMMYY
DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _chi_date_ok(numbers: np.ndarray) -> np.ndarray:
    """False for CHI-range numbers whose first six digits are not a real DDMMYY date.

    As in `nhs-number` (strptime %y): a two-digit year is a leap year when divisible by 4.
    """
    in_chi = (numbers >= CHI_RANGE[0]) & (numbers <= CHI_RANGE[1])
    day, month, year = numbers // 10**8, numbers // 10**6 % 100, numbers // 10**4 % 100
    month_ok = (month >= 1) & (month <= 12)
    longest = DAYS_IN_MONTH[np.where(month_ok, month, 0)]
    longest = np.where((month == 2) & (year % 4 != 0), 28, longest)
    return ~in_chi | (month_ok & (day >= 1) & (day <= longest))


def valid_nhs_numbers(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Boolean array: which ten-digit strings carry a valid check digit (nulls stay null)."""
    filled = pc.fill_null(values, "")
    well_formed = pc.match_substring_regex(filled, r"^[0-9]{10}$").to_numpy(zero_copy_only=False)
    strings = pc.if_else(well_formed, filled, "0000000000").to_numpy(zero_copy_only=False)
    numbers = strings.astype(np.int64)
    valid = well_formed & (check_digits(numbers // 10) == numbers % 10) & _chi_date_ok(numbers)
    return pa.array(valid, mask=pc.is_null(values).to_numpy(zero_copy_only=False))


def synthetic_nhs_numbers(count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct valid NHS numbers from the synthetic range, as ten-character strings."""
    low, high = SYNTHETIC_BODIES
    # About 1 body in 11 has no valid check digit: draw with headroom, keep the valid ones.
    draw = int(count * 1.2) + 100
    bodies = np.unique(rng.integers(low, high, size=draw, dtype=np.int64))
    bodies = rng.permutation(bodies)
    checks = check_digits(bodies)
    keep = checks != 10
    bodies, checks = bodies[keep][:count], checks[keep][:count]
    if bodies.size < count:
        raise ValueError(f"could not draw {count:,} distinct synthetic NHS numbers")
    return (bodies * 10 + checks).astype("U10")


def format_nhs_number(value: str | None) -> str:
    """An NHS number as people read it, in groups of 3, 3 and 4 ("943 476 5919")."""
    digits = (value or "").replace(" ", "")
    if len(digits) != 10:
        return digits
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
