"""The workforce baseline: FTE by role per practice and PCN, imported from CSV, compared with
peers.

The file
--------
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

The measures
------------
* **FTE by role**: GPs, nurses, direct patient care, admin and non-clinical.
* **Patients per FTE GP**: registered patients ÷ GP FTE. Registered patients come from the file
  when it carries them, otherwise from the population store: people registered at the store's
  extract date, objectors to secondary use left out (as every aggregate leaves them out),
  rounded by the small-number rule (`joinedup.governance.suppression`).
* **Skill mix**: the share of clinical FTE that is not GP (nurses and direct patient care over
  GPs, nurses and direct patient care) — the definition used in analyses of the general
  practice workforce, e.g. The Health Foundation / Nuffield Trust "skill mix" (nurses and
  other direct patient care staff relative to GPs).
* **Peers** (as in practice variation, `joinedup.analytics.variation.matrix`): practices of the
  same PCN (or neighbourhood), of the same deprivation quintile, and of a similar list size
  (within 25% either way); the peer median excludes the practice itself, and the practice's
  position is its rank among itself and its peers (1 = highest) and whether it is above or
  below the median. PCNs are compared with PCNs of the same deprivation quintile and size.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.workforce_models import WorkforceBatch, WorkforceFigure
from joinedup.errors import UserError
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import suppress_count
from joinedup.population.reads import list_sizes, organisations
from joinedup.population.store import PopulationStore, StoreError

PURPOSE = "commissioning: workforce baseline"

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
LIST_SIZE_BAND = 0.25
_CODE = re.compile(r"^[A-Z0-9]{3,12}$")
_PERIOD = re.compile(r"^\d{4}(-\d{2}){0,2}$")


class WorkforceFileError(UserError, ValueError):
    """The file cannot be read as a workforce file (its header, encoding or shape)."""


class UnknownOrganisation(UserError, LookupError):
    """No workforce figures for the organisation asked for."""


# --- reading the file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A line that was not loaded, and why (in words a person can act on)."""

    line: int
    reason: str


@dataclass(frozen=True)
class _Line:
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
) -> tuple[int, list[_Line], list[Rejection]]:
    """Lines read, the usable lines and every rejected line with its reason.

    `least_deprived_first`: the file numbers IMD quintiles from the least deprived (as the
    HEEC-derived PCN file does: its quintile 5 has the highest IMD scores); they are turned
    round to joinedup's order, 1 most deprived."""
    reader = csv.DictReader(io.StringIO(text))
    header = _header(reader.fieldnames)
    good: list[_Line] = []
    rejected: list[Rejection] = []
    seen: dict[tuple[str, str, str], int] = {}
    orgs: dict[tuple[str, str], _Line] = {}
    count = 0
    for line, row in enumerate(reader, start=FIRST_DATA_LINE):
        count += 1
        checked = _check_line(line, row, header)
        if isinstance(checked, _Line) and least_deprived_first and checked.imd_quintile:
            checked = replace(checked, imd_quintile=6 - checked.imd_quintile)
        if isinstance(checked, _Line):
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
) -> _Line | Rejection:
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
    return _Line(
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
    item: _Line, seen: dict[tuple[str, str, str], int], orgs: dict[tuple[str, str], _Line]
) -> _Line | Rejection:
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


# --- importing ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did. `committed` is False when strict mode refused the file; `unchanged`
    when the figures were already the latest batch's."""

    lines: int = 0
    loaded: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    committed: bool = True
    unchanged: bool = False
    batch_version: int | None = None


def import_workforce(
    sessions: sessionmaker[Session],
    actor: Principal | str,
    text: str,
    *,
    source_name: str,
    strict: bool = False,
    least_deprived_first: bool = False,
) -> ImportReport:
    """Load a workforce file's text as one batch (see the module docstring)."""
    lines, good, rejected = read_lines(text, least_deprived_first=least_deprived_first)
    report = ImportReport(lines=lines, rejected=rejected)
    if strict and rejected:
        report.committed = False
        return report
    if not good:
        return report
    checksum = _checksum(good)
    name, role = (actor.actor, actor.role) if isinstance(actor, Principal) else (actor, "import")
    with unit_of_work(
        sessions,
        actor=name,
        actor_role=role,
        action="workforce.import",
        entity_type="workforce_batch",
        purpose=PURPOSE,
    ) as uow:
        latest = uow.session.execute(
            select(WorkforceBatch).order_by(WorkforceBatch.version.desc()).limit(1)
        ).scalar_one_or_none()
        if latest is not None and latest.checksum == checksum:
            report.unchanged, report.batch_version = True, latest.version
            uow.audit.action = "workforce.import_unchanged"
            uow.audit.entity_id = str(latest.version)
            uow.audit.detail.update(lines=lines, rejected=len(rejected), source=source_name)
            return report
        batch = WorkforceBatch(
            version=(latest.version + 1) if latest else 1,
            source_name=source_name[:255],
            checksum=checksum,
            lines_read=lines,
            lines_loaded=len(good),
            lines_rejected=len(rejected),
            imported_at=uow.now,
            imported_by=name,
        )
        uow.session.add(batch)
        uow.session.flush()
        uow.session.add_all(_figures(batch.id, good))
        report.loaded, report.batch_version = len(good), batch.version
        uow.audit.entity_id = str(batch.version)
        uow.audit.detail.update(
            lines=lines, loaded=len(good), rejected=len(rejected), source=source_name
        )
    return report


def _figures(batch_id: int, lines: Iterable[_Line]) -> list[WorkforceFigure]:
    """One figure per organisation, period and role: the FTE of its staff groups added up."""
    figures: dict[tuple[str, str, str], WorkforceFigure] = {}
    for item in lines:
        key = (item.org_code, item.period, item.role)
        if key in figures:
            figures[key].fte += item.fte
            continue
        figures[key] = WorkforceFigure(
            batch_id=batch_id,
            org_code=item.org_code,
            level=item.level,
            org_name=item.name,
            pcn_code=item.pcn_code,
            period=item.period,
            role=item.role,
            fte=item.fte,
            list_size=item.list_size,
            imd_quintile=item.imd_quintile,
        )
    return list(figures.values())


def _checksum(lines: Iterable[_Line]) -> str:
    figures = sorted(
        (
            i.org_code,
            i.level,
            i.name,
            i.pcn_code,
            i.period,
            i.staff_group,
            i.fte,
            i.list_size,
            i.imd_quintile,
        )
        for i in lines
    )
    return hashlib.sha256(json.dumps(figures).encode()).hexdigest()


# --- the current figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRecord:
    org_code: str
    level: str
    org_name: str
    pcn_code: str
    period: str
    role: str
    fte: float
    list_size: int | None
    imd_quintile: int | None
    batch_version: int


def current_figures(sessions: sessionmaker[Session]) -> list[FigureRecord]:
    """For each organisation and period, the figures of the latest batch that names them."""
    with sessions() as session:
        rows = session.execute(
            select(WorkforceFigure, WorkforceBatch.version)
            .join(WorkforceBatch, WorkforceFigure.batch_id == WorkforceBatch.id)
            .order_by(WorkforceBatch.version)
        ).all()
    latest: dict[tuple[str, str], int] = {}
    for figure, version in rows:
        latest[(figure.org_code, figure.period)] = version
    return [
        FigureRecord(
            f.org_code,
            f.level,
            f.org_name,
            f.pcn_code,
            f.period,
            f.role,
            f.fte,
            f.list_size,
            f.imd_quintile,
            version,
        )
        for f, version in rows
        if latest[(f.org_code, f.period)] == version
    ]


def batches(sessions: sessionmaker[Session]) -> list[WorkforceBatch]:
    """Every batch, newest first (detached rows, for display)."""
    with sessions() as session:
        found = list(
            session.execute(select(WorkforceBatch).order_by(WorkforceBatch.version.desc()))
            .scalars()
            .all()
        )
        session.expunge_all()
    return found


# --- the area's practices from the population store ---------------------------------------------


@dataclass(frozen=True)
class AreaPractice:
    code: str
    name: str
    parent_code: str  # neighbourhood or PCN
    parent_name: str
    imd_quintile: int | None
    list_size: int  # registered at the extract date, objectors left out (not published as is)


def area_practices(
    store: PopulationStore | None, objectors: frozenset[int]
) -> dict[str, AreaPractice]:
    """The population store's practices by code ({} when there is no store)."""
    if store is None:
        return {}
    try:
        orgs = list(organisations(store).values())
        sizes = list_sizes(store, excluding=objectors)
    except (StoreError, KeyError, FileNotFoundError):
        return {}
    names = {o.code: o.name for o in orgs}
    found = {}
    for o in orgs:
        if o.org_type != "practice":
            continue
        parent = o.parent_code or ""
        found[o.code] = AreaPractice(
            code=o.code,
            name=o.name,
            parent_code=parent,
            parent_name=names.get(parent, parent),
            imd_quintile=None if o.imd_decile is None else (o.imd_decile + 1) // 2,
            list_size=sizes.get(o.code, 0),
        )
    return found


# --- the measures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgWorkforce:
    """One practice's (or one PCN's) workforce in one period, and the measures from it."""

    code: str
    name: str
    level: str  # practice | pcn
    pcn_code: str
    pcn_name: str
    period: str
    fte: Mapping[str, float]  # by role, every role present (0.0 when none)
    list_size: int | None  # published: from the file, or the store's (rounded)
    list_size_source: str  # "file", "population store" or "" (not known)
    imd_quintile: int | None
    pcn_own_fte: Mapping[str, float] = field(default_factory=dict)  # PCNs: staff it employs
    practices: tuple[str, ...] = ()  # PCNs: the practices rolled up

    @property
    def total_fte(self) -> float:
        return sum(self.fte.values())

    @property
    def clinical_fte(self) -> float:
        return sum(self.fte[r] for r in CLINICAL_ROLES)

    @property
    def skill_mix(self) -> float | None:
        """Share of clinical FTE that is not GP (None when there is no clinical FTE)."""
        clinical = self.clinical_fte
        return (clinical - self.fte["gp"]) / clinical if clinical > 0 else None

    @property
    def patients_per_gp_fte(self) -> float | None:
        gp = self.fte["gp"]
        return self.list_size / gp if self.list_size and gp > 0 else None

    def per_1000(self, role: str | None = None) -> float | None:
        """FTE per 1,000 registered patients, of one role or (None) of all clinical roles."""
        fte = self.clinical_fte if role is None else self.fte[role]
        return fte / self.list_size * 1000 if self.list_size else None

    def measure(self, measure_id: str) -> float | None:
        return MEASURES[measure_id].value(self)


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    short: str  # a column heading
    unit: str

    def value(self, org: OrgWorkforce) -> float | None:
        if self.id == "patients_per_gp_fte":
            return org.patients_per_gp_fte
        if self.id == "skill_mix":
            return org.skill_mix
        if self.id == "gp_fte_per_1000":
            return org.per_1000("gp")
        return org.per_1000(None)


MEASURES: dict[str, Measure] = {
    m.id: m
    for m in (
        Measure("patients_per_gp_fte", "Patients per FTE GP", "Patients per GP", "patients"),
        Measure("skill_mix", "Skill mix (non-GP share of clinical FTE)", "Skill mix", "share"),
        Measure("gp_fte_per_1000", "GP FTE per 1,000 patients", "GP per 1,000", "FTE"),
        Measure(
            "clinical_fte_per_1000", "Clinical FTE per 1,000 patients", "Clinical per 1,000", "FTE"
        ),
    )
}


@dataclass(frozen=True)
class PeerGroup:
    id: str
    title: str
    members: tuple[str, ...]  # codes, the organisation itself excluded


@dataclass(frozen=True)
class PeerComparison:
    measure: Measure
    group: PeerGroup
    value: float | None
    median: float | None  # of the peers with a value
    peers_with_value: int
    rank: int | None  # 1 = highest among the organisation and its peers
    of: int
    position: str  # "above", "below", "at" the peer median, or "" (no comparison)


@dataclass(frozen=True)
class WorkforceBaseline:
    period: str | None
    periods: tuple[str, ...]
    practices: list[OrgWorkforce]
    pcns: list[OrgWorkforce]

    def find(self, code: str) -> OrgWorkforce | None:
        return next((o for o in [*self.practices, *self.pcns] if o.code == code), None)

    def peers_of(self, org: OrgWorkforce) -> list[OrgWorkforce]:
        return self.practices if org.level == "practice" else self.pcns


def workforce_baseline(
    figures: Sequence[FigureRecord],
    area: Mapping[str, AreaPractice],
    period: str | None = None,
) -> WorkforceBaseline:
    """Every practice's and PCN's workforce in `period` (default: the latest with figures)."""
    periods = tuple(sorted({f.period for f in figures}, reverse=True))
    if period is None:
        period = periods[0] if periods else None
    chosen = [f for f in figures if f.period == period]
    by_org: dict[str, list[FigureRecord]] = defaultdict(list)
    for f in chosen:
        by_org[f.org_code].append(f)
    practices = [
        _practice(code, rows, area) for code, rows in by_org.items() if rows[0].level == "practice"
    ]
    pcn_rows = {code: rows for code, rows in by_org.items() if rows[0].level == "pcn"}
    pcns = _pcns(practices, pcn_rows, period or "")
    practices.sort(key=lambda o: (o.pcn_name, o.name))
    pcns.sort(key=lambda o: o.name)
    return WorkforceBaseline(period, periods, practices, pcns)


def _fte(rows: Iterable[FigureRecord]) -> dict[str, float]:
    fte = dict.fromkeys(ROLES, 0.0)
    for r in rows:
        fte[r.role] += r.fte
    return fte


def _practice(
    code: str, rows: list[FigureRecord], area: Mapping[str, AreaPractice]
) -> OrgWorkforce:
    first = rows[0]
    known = area.get(code)
    pcn_code = first.pcn_code or (known.parent_code if known else "")
    list_size: int | None
    if first.list_size is not None:
        list_size, source = first.list_size, "file"
    elif known is not None:
        list_size, source = suppress_count(known.list_size), "population store"
    else:
        list_size, source = None, ""
    pcn_name = known.parent_name if known and known.parent_code == pcn_code else pcn_code
    return OrgWorkforce(
        code=code,
        name=first.org_name or (known.name if known else code),
        level="practice",
        pcn_code=pcn_code,
        pcn_name=pcn_name,
        period=first.period,
        fte=_fte(rows),
        list_size=list_size,
        list_size_source=source if list_size is not None else "",
        imd_quintile=first.imd_quintile
        if first.imd_quintile is not None
        else (known.imd_quintile if known else None),
    )


def _pcns(
    practices: list[OrgWorkforce], pcn_rows: Mapping[str, list[FigureRecord]], period: str
) -> list[OrgWorkforce]:
    """PCN roll-ups: the PCN's practices added up, plus the staff the PCN employs itself."""
    members: dict[str, list[OrgWorkforce]] = defaultdict(list)
    for p in practices:
        if p.pcn_code:
            members[p.pcn_code].append(p)
    found = []
    for code in sorted(set(members) | set(pcn_rows)):
        own_rows = pcn_rows.get(code, [])
        own = _fte(own_rows)
        mine = members.get(code, [])
        fte = {role: own[role] + sum(p.fte[role] for p in mine) for role in ROLES}
        sizes = [p.list_size for p in mine]
        first = own_rows[0] if own_rows else None
        if mine and all(s is not None for s in sizes):
            list_size: int | None = sum(s for s in sizes if s is not None)
            source = "practices"
        elif first is not None and first.list_size is not None:
            list_size, source = first.list_size, "file"
        else:
            list_size, source = None, ""
        name = (first.org_name if first and first.org_name else "") or (
            mine[0].pcn_name if mine else code
        )
        found.append(
            OrgWorkforce(
                code=code,
                name=name,
                level="pcn",
                pcn_code=code,
                pcn_name=name,
                period=period,
                fte=fte,
                list_size=list_size,
                list_size_source=source,
                imd_quintile=first.imd_quintile if first else _common_quintile(mine),
                pcn_own_fte=own,
                practices=tuple(p.code for p in mine),
            )
        )
    return found


def _common_quintile(practices: Sequence[OrgWorkforce]) -> int | None:
    """The PCN's deprivation quintile when all its practices share one; None otherwise."""
    quintiles = {p.imd_quintile for p in practices}
    return quintiles.pop() if len(quintiles) == 1 else None


def peer_groups(units: Sequence[OrgWorkforce], org: OrgWorkforce) -> list[PeerGroup]:
    """Same PCN (practices only), same deprivation quintile, list size within 25%."""
    others = [u for u in units if u.code != org.code]
    groups = []
    if org.level == "practice":
        groups.append(
            PeerGroup(
                "pcn",
                f"Same PCN or neighbourhood ({org.pcn_name or 'none'})",
                tuple(u.code for u in others if org.pcn_code and u.pcn_code == org.pcn_code),
            )
        )
    groups.append(
        PeerGroup(
            "deprivation",
            f"Same deprivation quintile ({org.imd_quintile or 'not known'})",
            tuple(
                u.code
                for u in others
                if org.imd_quintile is not None and u.imd_quintile == org.imd_quintile
            ),
        )
    )
    size = org.list_size
    groups.append(
        PeerGroup(
            "list_size",
            "Similar list size (within 25%)",
            tuple(
                u.code
                for u in others
                if size
                and u.list_size is not None
                and size * (1 - LIST_SIZE_BAND) <= u.list_size <= size * (1 + LIST_SIZE_BAND)
            ),
        )
    )
    return groups


def compare_with_peers(
    units: Sequence[OrgWorkforce], org: OrgWorkforce, measure_id: str
) -> list[PeerComparison]:
    """The organisation's value of a measure against each of its peer groups."""
    measure = MEASURES[measure_id]
    by_code = {u.code: u for u in units}
    mine = measure.value(org)
    found = []
    for group in peer_groups(units, org):
        values = [v for c in group.members if (v := measure.value(by_code[c])) is not None]
        median = statistics.median(values) if values else None
        rank = 1 + sum(1 for v in values if v > mine) if mine is not None else None
        position = ""
        if mine is not None and median is not None:
            position = "above" if mine > median else "below" if mine < median else "at"
        found.append(
            PeerComparison(
                measure=measure,
                group=group,
                value=mine,
                median=median,
                peers_with_value=len(values),
                rank=rank,
                of=len(values) + (1 if mine is not None else 0),
                position=position,
            )
        )
    return found


# --- CSV out ------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "period",
    "level",
    "code",
    "name",
    "pcn_code",
    *(f"{role}_fte" for role in ROLES),
    "total_fte",
    "list_size",
    "list_size_source",
    "imd_quintile",
    *MEASURES,
)


def baseline_rows(baseline: WorkforceBaseline) -> list[dict[str, object]]:
    """One row per practice and PCN: FTE by role and every measure (rounded for display)."""
    rows = []
    for org in [*baseline.practices, *baseline.pcns]:
        row: dict[str, object] = {
            "period": org.period,
            "level": org.level,
            "code": org.code,
            "name": org.name,
            "pcn_code": org.pcn_code if org.level == "practice" else "",
            **{f"{role}_fte": round(org.fte[role], 2) for role in ROLES},
            "total_fte": round(org.total_fte, 2),
            # Not known is an empty cell (None would be written "withheld": nothing is).
            "list_size": "" if org.list_size is None else org.list_size,
            "list_size_source": org.list_size_source,
            "imd_quintile": "" if org.imd_quintile is None else org.imd_quintile,
        }
        for measure_id in MEASURES:
            value = org.measure(measure_id)
            row[measure_id] = "" if value is None else round(value, 3)
        rows.append(row)
    return rows


# --- a synthetic workforce file for the demo area -----------------------------------------------

#: FTE per 1,000 registered patients, England. Practice staff: NHS England, "General Practice
#: Workforce, 30 September 2024" (official statistics; FTE by staff group: GPs including
#: trainees ~37,600, nurses ~17,500, direct patient care ~19,000, admin/non-clinical ~79,000)
#: over "Patients Registered at a GP Practice, October 2024" (~63.3 million), rounded. PCN
#: staff: NHS England reported more than 36,000 Additional Roles staff in PCNs in 2024
#: (headcount); 0.45 FTE per 1,000 allows for part-time working. Rounded figures for a demo
#: area, not a benchmark.
NATIONAL_FTE_PER_1000: dict[str, float] = {
    "gp": 0.59,
    "nurse": 0.28,
    "direct_patient_care": 0.30,
    "admin": 1.25,
}
PCN_DIRECT_PATIENT_CARE_PER_1000 = 0.45
DEMO_SPREAD = 0.25  # each practice's rate is the national one × 0.75 to 1.25
DEMO_COLUMNS: tuple[str, ...] = (
    "practice_code",
    "pcn_code",
    "name",
    "period",
    "staff_group",
    "fte",
)


def _spread(*parts: str) -> float:
    """A deterministic factor in [1 − spread, 1 + spread] from the parts (no random state)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    return 1 - DEMO_SPREAD + 2 * DEMO_SPREAD * unit


def workforce_demo_rows(store: PopulationStore) -> list[dict[str, str]]:
    """A workforce file for the store's area (rows keyed by `DEMO_COLUMNS`): each practice's
    FTE by role at the national rate per 1,000 registered patients times a factor of its own,
    plus each neighbourhood's PCN-employed direct patient care staff. Same store, same rows."""
    area = area_practices(store, frozenset())
    period = str(store.metadata()["extract_date"])[:7]
    rows = []
    for practice in sorted(area.values(), key=lambda p: p.code):
        thousands = practice.list_size / 1000
        for role, rate in NATIONAL_FTE_PER_1000.items():
            fte = round(thousands * rate * _spread(practice.code, role), 2)
            rows.append(
                {
                    "practice_code": practice.code,
                    "pcn_code": practice.parent_code,
                    "name": practice.name,
                    "period": period,
                    "staff_group": role,
                    "fte": f"{fte:.2f}",
                }
            )
    by_pcn: dict[str, list[AreaPractice]] = defaultdict(list)
    for practice in area.values():
        if practice.parent_code:
            by_pcn[practice.parent_code].append(practice)
    for code, members in sorted(by_pcn.items()):
        thousands = sum(p.list_size for p in members) / 1000
        fte = thousands * PCN_DIRECT_PATIENT_CARE_PER_1000 * _spread(code, "pcn")
        rows.append(
            {
                "practice_code": "",
                "pcn_code": code,
                "name": members[0].parent_name,
                "period": period,
                "staff_group": "direct_patient_care",
                "fte": f"{round(fte, 2):.2f}",
            }
        )
    return rows


def rows_to_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return out.getvalue()
