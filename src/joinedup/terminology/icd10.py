"""ICD-10 codes as recorded -> one comparable form.

**The normalisation rule** (one rule; the Ibis expression and the Python function agree):

1. remove every character that is not an ASCII letter or digit (dots, spaces, dashes, the
   asterisk and dagger signs, anything else);
2. upper-case;
3. keep the leading ICD-10 code: a letter, two digits, and the digits that follow them, stopping
   at the first letter after the category. This drops the HES filler ``X`` of a code with no
   fourth character (``I50X`` -> ``I50``), the HES dagger/asterisk markers written as a
   trailing ``D``/``A`` (``I50.0D`` -> ``I500``) and any later letters;
4. anything that does not start with a letter and two digits is not an ICD-10 code: ``None``.
   It never matches a score table; the extract service and the HES reader reject it with
   its reason.

``I50.0`` -> ``I500`` · ``i500`` -> ``I500`` · ``I50.0D`` -> ``I500`` · ``I50X`` -> ``I50`` ·
``" f00 "`` -> ``F00`` · ``F00-`` -> ``F00`` · ``0000`` -> ``None``.

(ICD-10-CM categories with a letter in third place, e.g. ``C4A``, are not ICD-10 (WHO / UK
5th edition) codes and normalise to ``None``.)

Every reader and score normalises with this module, so a code means the same everywhere.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the rule's expression needs no Ibis import to run (fast command line)
    import ibis.expr.types as ir

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_LEADING_CODE = re.compile(r"[A-Z][0-9]{2}[0-9]*")
# The same two patterns in the engines' regex dialects (RE2 in DuckDB, Java in Spark).
_SQL_NOT_ALNUM = r"[^A-Za-z0-9]"
_SQL_LEADING_CODE = r"^([A-Z][0-9]{2}[0-9]*)"


def normalise_icd10(code: str | None) -> str | None:
    """An ICD-10 code as recorded, in the normal form (see the module rule); None if not one."""
    if code is None:
        return None
    match = _LEADING_CODE.match(_NOT_ALNUM.sub("", code).upper())
    return match.group(0) if match else None


def normalised_icd10(code: ir.StringValue) -> ir.StringValue:
    """The normalisation rule as an Ibis expression (null where the value is not ICD-10)."""
    cleaned = code.re_replace(_SQL_NOT_ALNUM, "").upper()
    return cleaned.re_extract(_SQL_LEADING_CODE, 1).nullif("")


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
