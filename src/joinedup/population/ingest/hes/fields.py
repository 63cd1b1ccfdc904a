"""HES codes and field readers every HES extract shares (HES Data Dictionary meanings; see
the package docstring), and the two ways one record fails: a problem (rejected) or not
activity (counted unsupported)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Literal

from joinedup.population.ingest.identity import PersonRef

HesKind = Literal["apc", "ae", "op"]


PERSON_PREFIX = "hes:"


COST_COLUMN = "COST"


ELECTIVE = {"11", "12", "13"}


EMERGENCY = {"21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D"}


MATERNITY = {"31", "32"}


OTHER = {"81", "82", "83", "84", "89"}


FINISHED_EPISODE = "3"


AE_DISPOSAL = {
    "01": "admitted",
    "02": "discharged",
    "03": "discharged",
    "04": "referred",
    "05": "referred",
    "06": "referred",
    "07": "referred",
    "11": "referred",
    "12": "left",
    "13": "left",
    "10": "died",
}


OP_ATTENDED = {"5": True, "6": True, "3": False, "7": False}


OP_CANCELLED = {"2": "cancelled by or for the patient", "4": "cancelled by the provider"}


OP_FIRST = {"1": True, "3": True, "2": False, "4": False}


OP_ADMINISTRATIVE = "5"


DIAGNOSIS_POSITIONS = 20


PROCEDURE_POSITIONS = 24


REQUIRED: dict[str, tuple[str, ...]] = {
    "apc": ("PSEUDO_HESID", "EPIKEY", "PROCODE3", "ADMIDATE", "ADMIMETH", "DISDATE", "EPISTAT"),
    "ae": ("PSEUDO_HESID", "AEKEY", "PROCODE3", "ARRIVALDATE", "AEATTENDDISP"),
    "op": ("PSEUDO_HESID", "ATTENDKEY", "PROCODE3", "APPTDATE", "ATTENDED", "FIRSTATT"),
}


PLACEHOLDER_DATES = {
    "1800-01-01": "HES's null date (not known)",
    "1801-01-01": "HES's code for an invalid date submitted",
}


PLACEHOLDER_YEARS = {"1800", "1801"}


SEX = {"1": "M", "2": "F"}


# HES ETHNOS 1995–2000 codes (still in the artificial sample) → ONS 2021 high-level groups.
OLD_ETHNIC_GROUPS = {
    "0": "White",
    **dict.fromkeys("123", "Black"),
    **dict.fromkeys("456", "Asian"),
    **dict.fromkeys("78", "Other"),
}


NOT_STATED = "Not stated"


# GPPRAC values that name no practice (HES Data Dictionary).
NO_PRACTICE = {"V81997", "V81998", "V81999", "&"}


PRACTICE_CODE = re.compile(r"^[A-Z][A-Z0-9]{5,7}$")


LSOA_CODE = re.compile(r"^E0[0-9]{7}$")


ACTIVITY_DATE = {"apc": "ADMIDATE", "ae": "ARRIVALDATE", "op": "APPTDATE"}


AGE_FIELDS = {"apc": ("STARTAGE",), "ae": ("ARRIVALAGE",), "op": ("APPTAGE",)}


# Middle of each HES under-one age band, in days (STARTAGE/ARRIVALAGE/APPTAGE 7001–7007).
INFANT_AGE_DAYS = {
    "7001": 0,
    "7002": 3,
    "7003": 17,
    "7004": 59,
    "7005": 136,
    "7006": 227,
    "7007": 318,
}


MONTH_PRECISION, YEAR_PRECISION = "2", "1"


CONFLICT = "HES patient details differ between records"


CONFLICT_LABELS = {"sex": "sex", "birth": "date of birth", "ethnicity": "ethnicity"}


class RowProblem(ValueError):
    """One record cannot be mapped; its message is the reason a person reads."""


def admission_method(code: str) -> str:
    """The contract's admission method for a HES ADMIMETH code (see the module docstring)."""
    code = code.strip().upper()
    for group, codes in (
        ("elective", ELECTIVE),
        ("emergency", EMERGENCY),
        ("maternity", MATERNITY),
        ("other", OTHER),
    ):
        if code in codes:
            return group
    shown = f"{code!r}" if code else "empty"
    raise RowProblem(
        f"admission method (ADMIMETH) {shown} is not a HES code that says elective, emergency, "
        "maternity or other (11–13, 21–28/2A–2D, 31–32, 81–89)"
    )


class FileProblem(ValueError):
    """The whole file cannot be read as this kind of HES extract."""


def is_present(value: str) -> bool:
    """HES writes an empty position as blanks or dashes."""
    return bool(value.strip().strip("-").strip())


def field_date(row: Mapping[str, str], name: str) -> dt.date:
    text = row.get(name, "")
    if not is_present(text):
        raise RowProblem(f"{name} is empty")
    if text in PLACEHOLDER_DATES:
        raise RowProblem(f"{name} is {text}, {PLACEHOLDER_DATES[text]}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RowProblem(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def required_field(row: Mapping[str, str], name: str) -> str:
    value = row.get(name, "")
    if not is_present(value):
        raise RowProblem(f"{name} is empty")
    return value


def person_of(row: Mapping[str, str]) -> PersonRef:
    return PersonRef(source_id=PERSON_PREFIX + required_field(row, "PSEUDO_HESID"))


class NotActivity(Exception):
    """A record that is not activity the contract holds (counted, not rejected)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail
