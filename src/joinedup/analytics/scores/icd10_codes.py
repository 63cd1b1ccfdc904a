"""The ICD-10 normalisation rule and the look-back date in plain Python, free of Ibis.

The rule itself is stated in `joinedup.analytics.scores.icd10` (whose Ibis expression
`normalised_icd10` agrees with `normalise_icd10` here; the tests hold them together). It lives
here so that checking an extract's codes (`joinedup score`) and the HES reader need no Ibis.
"""

from __future__ import annotations

import datetime as dt
import re

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_LEADING_CODE = re.compile(r"[A-Z][0-9]{2}[0-9]*")


def normalise_icd10(code: str | None) -> str | None:
    """An ICD-10 code as recorded, in the normal form (see the rule); None if not one."""
    if code is None:
        return None
    match = _LEADING_CODE.match(_NOT_ALNUM.sub("", code).upper())
    return match.group(0) if match else None


def icd10_code_problem(code: str) -> str | None:
    """Why `code` cannot be read as ICD-10, in words a person can act on; None if it can."""
    if not code.strip():
        return "code is empty"
    if normalise_icd10(code) is None:
        return (
            f"code {code!r} is not an ICD-10 code: it should start with a letter and two "
            "digits, e.g. I50, I50.0 or I500"
        )
    return None


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
