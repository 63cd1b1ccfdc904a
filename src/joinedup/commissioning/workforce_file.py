"""A workforce file read and checked line by line (parse and validate; nothing stored here).

One line per organisation, period and staff group, in the long layout NHS England's workforce
publications and the PCN workforce file derived from them use (``../shared/data/
gp_practice_payments_fingertips_heec/pcn_workforce_fte_heec_derived.csv``: ``PCN_CODE, Year,
PCN_NAME, ICB_NAME, STAFF_GROUP, FTE, IMD, IMD_quintile``). Column names are matched without
regard to case; columns not listed here are ignored:

* ``practice_code`` and/or ``pcn_code`` — a line with a practice code is the practice's staff
  (its ``pcn_code``, if given, names its PCN); a line with only a PCN code is staff the PCN
  employs itself (the Additional Roles);
* ``period`` or ``year`` — ``2025`` or ``2025-09`` (the month of a monthly publication);
* ``staff_group`` or ``role`` — one of `STAFF_GROUPS` (the publications' group names or
  joinedup's four roles);
* ``fte`` — full-time equivalents (37.5 hours a week is 1);
* optional: ``practice_name`` / ``pcn_name`` / ``name``, ``list_size`` (registered patients),
  ``imd_quintile`` (1 most deprived; a file numbered from the least deprived, as the HEEC
  PCN file is, is loaded with ``least_deprived_first`` / ``--least-deprived-first``).

Every line that cannot be used is reported with its line number and reason; the others load in
one transaction, as one numbered batch, with one audit event. With ``strict`` nothing loads if
any line is rejected. Loading the same figures again changes nothing. A later batch naming an
organisation and period supersedes an earlier batch's figures for that organisation and period
only, so a file of practices and a file of PCNs can be loaded one after the other.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from joinedup.errors import UserError
from joinedup.import_report import Rejection

#: joinedup's four roles, in the order pages show them.
ROLES: dict[str, str] = {
    "gp": "GPs",
    "nurse": "Nurses",
    "direct_patient_care": "Direct patient care",
    "admin": "Admin and non-clinical",
}


CLINICAL_ROLES: tuple[str, ...] = ("gp", "nurse", "direct_patient_care")


#: Staff-group names accepted in a file (compared in lower case, spaces squeezed) → role.
#: NHS England's General Practice Workforce and PCN Workforce publications name the groups
#: "GPs", "Nurses", "Direct Patient Care", "Admin/Non-Clinical"; the PCN file prefixes
#: "Other" and adds "Directors" (PCN leadership posts, counted here with admin and
#: non-clinical staff because they are not patient-facing).
STAFF_GROUPS: dict[str, str] = {
    "gp": "gp",
    "gps": "gp",
    "other gps": "gp",
    "nurse": "nurse",
    "nurses": "nurse",
    "other nurses": "nurse",
    "direct_patient_care": "direct_patient_care",
    "direct patient care": "direct_patient_care",
    "other direct patient care staff": "direct_patient_care",
    "admin": "admin",
    "admin/non-clinical": "admin",
    "admin/non-clinical staff": "admin",
    "other admin/non-clinical staff": "admin",
    "directors": "admin",
}


#: Header aliases: each field, and the column names (lower case) that may carry it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "practice_code": ("practice_code",),
    "pcn_code": ("pcn_code",),
    "period": ("period", "year"),
    "staff_group": ("staff_group", "role"),
    "fte": ("fte",),
    "name": ("practice_name", "pcn_name", "name"),
    "list_size": ("list_size", "registered_patients"),
    "imd_quintile": ("imd_quintile",),
}


REQUIRED = ("period", "staff_group", "fte")


FIRST_DATA_LINE = 2  # line 1 is the header


MAX_FTE = 500.0  # more in one organisation is a mistake (the largest practices have ~150)


_CODE = re.compile(r"^[A-Z0-9]{3,12}$")


_PERIOD = re.compile(r"^\d{4}(-\d{2}){0,2}$")


class WorkforceFileError(UserError, ValueError):
    """The file cannot be read as a workforce file (its header, encoding or shape)."""


@dataclass(frozen=True)
class FileLine:
    line: int
    org_code: str
    level: str  # practice | pcn
    name: str
    pcn_code: str
    period: str
    staff_group: str  # as written, lower case: two groups may make one role
    role: str
    fte: float
    list_size: int | None
    imd_quintile: int | None


def _header(fieldnames: Sequence[str] | None) -> dict[str, str]:
    """field → the file's column name; WorkforceFileError naming what is missing."""
    if not fieldnames:
        raise WorkforceFileError("the file is empty: it needs a header line naming its columns")
    names = [(name or "").strip() for name in fieldnames]
    lowered = [name.lower() for name in names]
    repeated = sorted({n for n in lowered if n and lowered.count(n) > 1})
    if repeated:
        raise WorkforceFileError(f"the header names a column twice: {', '.join(repeated)}")
    found = {}
    for field_name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in lowered:
                found[field_name] = names[lowered.index(alias)]
                break
    missing = [f for f in REQUIRED if f not in found]
    if "practice_code" not in found and "pcn_code" not in found:
        missing.insert(0, "practice_code or pcn_code")
    if missing:
        raise WorkforceFileError(
            f"the header lacks {', '.join(missing)} (found: {', '.join(names)}); "
            "see `joinedup workforce import --help` for the layout"
        )
    return found


def read_lines(
    text: str, *, least_deprived_first: bool = False
) -> tuple[int, list[FileLine], list[Rejection]]:
    """Lines read, the usable lines and every rejected line with its reason.

    `least_deprived_first`: the file numbers IMD quintiles from the least deprived (as the
    HEEC-derived PCN file does: its quintile 5 has the highest IMD scores); they are turned
    round to joinedup's order, 1 most deprived."""
    reader = csv.DictReader(io.StringIO(text))
    header = _header(reader.fieldnames)
    good: list[FileLine] = []
    rejected: list[Rejection] = []
    seen: dict[tuple[str, str, str], int] = {}
    orgs: dict[tuple[str, str], FileLine] = {}
    count = 0
    for line, row in enumerate(reader, start=FIRST_DATA_LINE):
        count += 1
        checked = _check_line(line, row, header)
        if isinstance(checked, FileLine) and least_deprived_first and checked.imd_quintile:
            checked = replace(checked, imd_quintile=6 - checked.imd_quintile)
        if isinstance(checked, FileLine):
            checked = _check_consistent(checked, seen, orgs)
        if isinstance(checked, Rejection):
            rejected.append(checked)
            continue
        good.append(checked)
    return count, good, rejected


def _value(row: Mapping[str, str | None], header: Mapping[str, str], name: str) -> str:
    column = header.get(name)
    return (row.get(column) or "").strip() if column else ""


def _check_line(
    line: int, row: Mapping[str, str | None], header: Mapping[str, str]
) -> FileLine | Rejection:
    if None in row:  # csv.DictReader puts surplus cells under the key None
        return Rejection(line, "the line has more cells than the header has columns")
    practice = _value(row, header, "practice_code").upper()
    pcn = _value(row, header, "pcn_code").upper()
    if not practice and not pcn:
        return Rejection(line, "no organisation: fill in the practice_code or pcn_code")
    for label, code in (("practice code", practice), ("PCN code", pcn)):
        if code and not _CODE.match(code):
            return Rejection(line, f"the {label} {code!r} is not 3 to 12 letters and digits")
    period = _value(row, header, "period")
    if not _PERIOD.match(period):
        return Rejection(line, "the period must be a year (2025) or a month (2025-09)")
    group = " ".join(_value(row, header, "staff_group").lower().split())
    if group not in STAFF_GROUPS:
        known = "GPs, Nurses, Direct Patient Care, Admin/Non-Clinical, Directors"
        shown = group or "(empty)"
        return Rejection(line, f"the staff group {shown!r} is not known: write one of {known}")
    fte = _number(_value(row, header, "fte"))
    if fte is None or fte < 0:
        return Rejection(line, "the FTE must be a number of 0 or more")
    if fte > MAX_FTE:
        return Rejection(line, f"the FTE {fte:g} is more than {MAX_FTE:g}: check the figure")
    list_size = _whole(_value(row, header, "list_size"))
    if list_size == -1:
        return Rejection(line, "the list size must be a whole number of 0 or more")
    quintile = _whole(_value(row, header, "imd_quintile"))
    if quintile is not None and not 1 <= quintile <= 5:
        return Rejection(line, "the IMD quintile must be 1 (most deprived) to 5")
    return FileLine(
        line=line,
        org_code=practice or pcn,
        level="practice" if practice else "pcn",
        name=_value(row, header, "name")[:200],
        pcn_code=pcn if practice else "",
        period=period,
        staff_group=group,
        role=STAFF_GROUPS[group],
        fte=fte,
        list_size=list_size,
        imd_quintile=quintile,
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(text: str) -> int | None:
    """None when empty; -1 when not a whole number of 0 or more."""
    if not text:
        return None
    return int(text) if text.isdigit() else -1


def _check_consistent(
    item: FileLine, seen: dict[tuple[str, str, str], int], orgs: dict[tuple[str, str], FileLine]
) -> FileLine | Rejection:
    """A line repeating an organisation, period and staff group, or disagreeing with an earlier
    line about the organisation, is rejected (never added up or silently overwritten). Two
    different groups of one role (Directors and Admin/Non-Clinical) are added up."""
    key = (item.org_code, item.period, item.staff_group)
    if key in seen:
        return Rejection(
            item.line, f"repeats line {seen[key]}: the same organisation, period and staff group"
        )
    first = orgs.get((item.org_code, item.period))
    if first is not None:
        for what, mine, theirs in (
            ("level", item.level, first.level),
            ("PCN", item.pcn_code, first.pcn_code),
            ("list size", item.list_size, first.list_size),
            ("IMD quintile", item.imd_quintile, first.imd_quintile),
        ):
            if mine != theirs:
                return Rejection(
                    item.line, f"the {what} disagrees with line {first.line} for {item.org_code}"
                )
    seen[key] = item.line
    orgs.setdefault((item.org_code, item.period), item)
    return item
