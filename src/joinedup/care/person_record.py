"""One person across every provider, read for their page: conditions, medicines, a timeline of
contacts (GP, A&E, admissions, outpatients, community and social care) and their place in the
latest stratification run (scores, segments, admission risk and its top factors).

Why it is fast at 300,000 people: the rows a record can show (each table's window before the
extract date) are copied once per process from the Parquet files into memory, ordered by
person, by `joinedup.population.reads.one_person_reader`'s DuckDB (the one place such reads skip
Ibis: ADR 0003); a person's rows are then a slice found by binary search, and no query is
planned or Ibis expression compiled per request. The run's
per-person columns are read once per run file and kept indexed by person (a run is never
rewritten), like `analytics.person_scores`.

Identifiable: callers check the legitimate relationship and audit the view first.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.scores.conditions import ltc_codelists, ltc_table
from joinedup.analytics.stratify import PERSON_RESULTS, StratificationRun
from joinedup.care.models import CareAction, CarePlan, CarePlanVersion
from joinedup.population.reads import one_person_reader, table_file
from joinedup.population.store import PopulationStore
from joinedup.terminology.activity_words import staff_group_words, treatment_function_name

#: How far back the timeline reaches, and how many entries it shows at most.
TIMELINE_YEARS = 3
TIMELINE_MAX = 150
MEDICINES_DAYS = 365

SERVICE_WORDS = {
    "district_nursing": "District nursing",
    "community_therapy": "Community therapy",
    "community_mental_health": "Community mental health",
    "social_care": "Social care",
    "intermediate_care": "Intermediate care",
    "palliative_care": "Palliative care",
}
SETTING_LABELS = {
    "gp": "GP practice",
    "ae": "A&E",
    "admission": "Hospital admission",
    "outpatient": "Outpatients",
    "community": "Community services",
    "social_care": "Social care",
}


@dataclass(frozen=True)
class TimelineEntry:
    day: dt.date
    setting: str  # a key of SETTING_LABELS
    description: str

    @property
    def setting_label(self) -> str:
        return SETTING_LABELS.get(self.setting, self.setting)


@dataclass(frozen=True)
class Condition:
    name: str
    first_recorded: dt.date


@dataclass(frozen=True)
class Medicine:
    name: str
    last_issued: dt.date
    issues: int


@dataclass(frozen=True)
class Segment:
    scheme_name: str
    segment_name: str


@dataclass(frozen=True)
class RunPlace:
    """The person in the latest stratification run."""

    run_id: str
    index_date: dt.date
    efi_score: float | None
    efi_category: str | None
    hfrs_score: float | None
    hfrs_category: str | None
    segments: tuple[Segment, ...]
    risk: float | None
    risk_rank: int | None
    out_of: int | None
    top_factors: tuple[str, ...]


@dataclass(frozen=True)
class PersonRecord:
    person_id: int
    as_of: dt.date
    conditions: tuple[Condition, ...]
    medicines: tuple[Medicine, ...]
    timeline: tuple[TimelineEntry, ...]
    timeline_from: dt.date
    timeline_counts: dict[str, int]
    care_packages: tuple[str, ...]
    run: RunPlace | None
    timings: dict[str, float] = field(default_factory=dict, compare=False, repr=False)


_READER = one_person_reader


@functools.lru_cache(maxsize=1)
def _condition_names() -> dict[tuple[str, str], str]:
    """(code system, code) → the long-term condition it records."""
    names = dict(
        zip(ltc_table()["codelist_id"].to_pylist(), ltc_table()["name"].to_pylist(), strict=True)
    )
    codes = ltc_codelists().to_pylist()
    return {(c["code_system"], c["code"]): names[c["codelist_id"]] for c in codes}


def person_record(
    store: PopulationStore, person_id: int, as_of: dt.date, run: StratificationRun | None
) -> PersonRecord:
    """What the population store and the latest run say about `person_id` as of `as_of`."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    since = as_of.replace(year=as_of.year - TIMELINE_YEARS)
    conditions, medicines, timeline, packages = _store_part(
        str(store.root), _store_version(store), person_id, as_of
    )
    timings["store"] = time.perf_counter() - started
    place = run_place(run, person_id) if run is not None else None
    timings["total"] = time.perf_counter() - started
    counts: dict[str, int] = {}
    for entry in timeline:
        counts[entry.setting] = counts.get(entry.setting, 0) + 1
    return PersonRecord(
        person_id,
        as_of,
        conditions,
        medicines,
        tuple(timeline[:TIMELINE_MAX]),
        since,
        counts,
        packages,
        place,
        timings,
    )


#: The tables a person record reads from the population store.
RECORD_TABLES = (
    "clinical_events",
    "medications",
    "gp_appointments",
    "ae_attendances",
    "hospital_spells",
    "outpatient_appointments",
    "community_contacts",
    "care_packages",
)
#: How many people's store reads a process remembers (`_store_part`).
RECORDS_KEPT = 512


def _store_version(store: PopulationStore) -> tuple[int, ...]:
    """What changes when any table a record reads is written again (an ingest or generate)."""
    version = []
    for name in RECORD_TABLES:
        path = store.path(name)
        version.append(path.stat().st_mtime_ns if path.is_file() else -1)
    return tuple(version)


@functools.lru_cache(maxsize=RECORDS_KEPT)
def _store_part(
    root: str, version: tuple[int, ...], person_id: int, as_of: dt.date
) -> tuple[tuple[Condition, ...], tuple[Medicine, ...], tuple[TimelineEntry, ...], tuple[str, ...]]:
    """The person's conditions, medicines, timeline and care packages as of `as_of`, from the
    rows held in memory (`_held`), remembered for the people opened lately, since a person page
    is opened again after every action on it (add to the register, save the plan, record
    consent) and the store does not change between writes of its files (`version`, part of
    the key). Every part is immutable."""
    held = _held(PopulationStore(Path(root)), version, as_of)
    since = as_of.replace(year=as_of.year - TIMELINE_YEARS)
    conditions = _conditions(held, person_id, as_of)
    medicines = _medicines(held, person_id, as_of)
    timeline = tuple(_timeline(held, person_id, since, as_of))
    packages = _packages(held, person_id, as_of)
    return conditions, medicines, timeline, packages


def warm_person_reads(
    store: PopulationStore, as_of: dt.date, run: StratificationRun | None
) -> None:
    """Do now what the first person page of a process would: copy the rows records read into
    memory and read the run's per-person columns (a worker calls this before it serves)."""
    _held(store, _store_version(store), as_of)
    _condition_names()
    if run is not None and (run.path / PERSON_RESULTS).is_file():
        path = run.path / PERSON_RESULTS
        schemes = tuple(run.metadata.get("parameters", {}).get("schemes", []))
        if "risk" in _run_frame(path, path.stat().st_mtime, schemes).columns:
            _sorted_risks(path, path.stat().st_mtime)


def has_long_term_condition(store: PopulationStore, person_id: int, as_of: dt.date) -> bool:
    """Whether the person has any long-term condition of the codelists recorded by `as_of`
    (who booking offers their usual clinician first, issue 17)."""
    return bool(_conditions(_held(store, _store_version(store), as_of), person_id, as_of))


# --- the rows a record reads, held in memory --------------------------------------------------

#: Per record table: the columns its reads use and the rows they can pick as of a date (DuckDB
#: SQL over the file, `e`; `{as_of}`, `{since}` and `{medicines_from}` are dates). Always a
#: superset of what the reads below pick, since they keep their own conditions.
HELD_ROWS = {
    "clinical_events": (
        "person_id, code_system, code, event_date",
        "event_date <= {as_of} AND EXISTS (SELECT 1 FROM {codes} AS c "
        "WHERE c.code_system = e.code_system AND c.code = e.code)",
    ),
    "medications": (
        "person_id, name, issue_date",
        "issue_date > {medicines_from} AND issue_date <= {as_of}",
    ),
    "gp_appointments": (
        "person_id, appointment_date, clinician_role, mode, attended",
        "appointment_date > {since} AND appointment_date <= {as_of}",
    ),
    "ae_attendances": (
        "person_id, arrival_date, disposal",
        "arrival_date > {since} AND arrival_date <= {as_of}",
    ),
    "hospital_spells": (
        "person_id, admission_date, admission_method, length_of_stay",
        "admission_date > {since} AND admission_date <= {as_of}",
    ),
    "outpatient_appointments": (
        "person_id, appointment_date, specialty_code, first_attendance, attended",
        "appointment_date > {since} AND appointment_date <= {as_of}",
    ),
    "community_contacts": (
        "person_id, contact_date, service, setting, duration_minutes",
        "contact_date > {since} AND contact_date <= {as_of}",
    ),
    "care_packages": (
        "person_id, package_type, start_date, end_date",
        "start_date <= {as_of} AND (end_date IS NULL OR end_date >= {as_of})",
    ),
}

Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class HeldRows:
    """One record table's rows for the record's dates, ordered by person, and the person of
    each row (to find a person's rows by binary search)."""

    table: pa.Table
    person_ids: np.ndarray


@dataclass
class _Held:
    """The held rows of one store version and date (`key`), by record table."""

    key: tuple[Any, ...] | None = None
    tables: dict[str, HeldRows] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_HELD = _Held()


def _held(store: PopulationStore, version: tuple[int, ...], as_of: dt.date) -> dict[str, HeldRows]:
    """The rows every record read needs as of `as_of`, copied once per process (and again
    when the store's files are written: `version`) from the Parquet files into memory as
    Arrow tables ordered by person: about 3 CPU-seconds and 270 MB for 300,000 people, where
    reading each person's rows from the files cost 15 ms a page (eight DuckDB queries, each
    decoding a 65,536-row row group). A person's rows are then a slice (`person_rows`)."""
    key = (str(store.root), version, as_of)
    with _HELD.lock:
        if _HELD.key != key:
            _HELD.key, _HELD.tables = None, {}  # the old copy goes before the new one is made
            _HELD.tables = _copy_rows(store, as_of)
            _HELD.key = key
        return _HELD.tables


def _copy_rows(store: PopulationStore, as_of: dt.date) -> dict[str, HeldRows]:
    codes = f"person_record_ltc_codes_{threading.get_ident()}"
    dates = {
        "as_of": _date_literal(as_of),
        "since": _date_literal(as_of.replace(year=as_of.year - TIMELINE_YEARS)),
        "medicines_from": _date_literal(as_of - dt.timedelta(days=MEDICINES_DAYS)),
        "codes": codes,
    }
    tables = {}
    with _READER.lock:
        con = _READER.con
        con.register(codes, ltc_codelists().select(["code_system", "code"]))
        try:
            for name, (columns, rows) in HELD_ROWS.items():
                path = table_file(store, name)
                if path is None:
                    continue
                source = "read_parquet('" + path.replace("'", "''") + "')"
                table = con.sql(
                    f"SELECT {columns} FROM {source} AS e "
                    f"WHERE {rows.format(**dates)} ORDER BY person_id"
                ).to_arrow_table()
                table = _dictionary_encoded(table.combine_chunks())
                ids = table["person_id"].to_numpy()
                tables[name] = HeldRows(table, ids)
        finally:
            con.unregister(codes)
    return tables


def _dictionary_encoded(table: pa.Table) -> pa.Table:
    """Text columns as dictionaries: codes, names and words repeat (half the memory)."""
    columns = [
        column.combine_chunks().dictionary_encode() if pa.types.is_string(column.type) else column
        for column in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def _date_literal(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def person_rows(held: dict[str, HeldRows], name: str, person_id: int) -> Columns | None:
    """The person's held rows of table `name` as columns (None: the store has no such table)."""
    rows = held.get(name)
    if rows is None:
        return None
    start, end = np.searchsorted(rows.person_ids, [person_id, person_id + 1])
    return rows.table.slice(int(start), int(end - start)).to_pydict()


def _conditions(held: dict[str, HeldRows], person_id: int, as_of: dt.date) -> tuple[Condition, ...]:
    rows = person_rows(held, "clinical_events", person_id)
    if rows is None:
        return ()
    firsts: dict[str, dt.date] = {}
    for system, code, day in zip(
        rows["code_system"], rows["code"], rows["event_date"], strict=True
    ):
        name = _condition_names().get((system, code))
        if day <= as_of and name is not None and (name not in firsts or day < firsts[name]):
            firsts[name] = day
    return tuple(Condition(n, d) for n, d in sorted(firsts.items(), key=lambda i: (i[1], i[0])))


def _medicines(held: dict[str, HeldRows], person_id: int, as_of: dt.date) -> tuple[Medicine, ...]:
    rows = person_rows(held, "medications", person_id)
    if rows is None:
        return ()
    start = as_of - dt.timedelta(days=MEDICINES_DAYS)
    latest: dict[str, dt.date] = {}
    issues: dict[str, int] = {}
    for name, day in zip(rows["name"], rows["issue_date"], strict=True):
        if start < day <= as_of:
            latest[name] = max(day, latest.get(name, day))
            issues[name] = issues.get(name, 0) + 1
    return tuple(Medicine(str(n), latest[n], issues[n]) for n in sorted(latest, key=_text_order))


def _text_order(text: str | None) -> tuple[bool, str]:
    """SQL's ORDER BY of text: by code point, nulls last."""
    return (text is None, text or "")


def _packages(held: dict[str, HeldRows], person_id: int, as_of: dt.date) -> tuple[str, ...]:
    rows = person_rows(held, "care_packages", person_id)
    if rows is None:
        return ()
    current = sorted(
        (start, kind)
        for kind, start, end in zip(
            rows["package_type"], rows["start_date"], rows["end_date"], strict=True
        )
        if start <= as_of and (end is None or end >= as_of)
    )
    return tuple(
        f"{str(kind).replace('_', ' ').capitalize()} since {_day(start)}" for start, kind in current
    )


def _timeline(
    held: dict[str, HeldRows], person_id: int, since: dt.date, as_of: dt.date
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for table, (day_column, describe) in TIMELINE_SOURCES.items():
        rows = person_rows(held, table, person_id)
        if rows is None:
            continue
        names = list(rows)
        for values in zip(*rows.values(), strict=True):
            row = dict(zip(names, values, strict=True))
            if since < row[day_column] <= as_of:
                entries.append(describe(row))
    entries.sort(key=lambda e: (e.day, e.setting), reverse=True)
    return entries


def _gp(row: dict[str, Any]) -> TimelineEntry:
    words = f"{_words(row['mode']).capitalize()} with {staff_group_words(row['clinician_role'])}"
    missed = "" if row["attended"] else " (not attended)"
    return TimelineEntry(row["appointment_date"], "gp", words + missed)


def _ae(row: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(row["arrival_date"], "ae", f"Attended A&E: {_words(row['disposal'])}")


def _admission(row: dict[str, Any]) -> TimelineEntry:
    nights = row["length_of_stay"]
    stay = "same day" if not nights else f"{nights} night{'s' if nights != 1 else ''}"
    words = f"{_words(row['admission_method']).capitalize()} admission, {stay}"
    return TimelineEntry(row["admission_date"], "admission", words)


def _outpatient(row: dict[str, Any]) -> TimelineEntry:
    kind = "First" if row["first_attendance"] else "Follow-up"
    words = f"{kind} appointment, {treatment_function_name(row['specialty_code'])}"
    missed = "" if row["attended"] else " (not attended)"
    return TimelineEntry(row["appointment_date"], "outpatient", words + missed)


def _community(row: dict[str, Any]) -> TimelineEntry:
    service = row["service"]
    kind = "social_care" if service == "social_care" else "community"
    words = f"{SERVICE_WORDS.get(service, _words(service))}, {_words(row['setting'])}"
    return TimelineEntry(row["contact_date"], kind, f"{words}, {row['duration_minutes']} minutes")


#: The timeline's tables: the date of each row, and the entry it makes.
TIMELINE_SOURCES: dict[str, tuple[str, Callable[[dict[str, Any]], TimelineEntry]]] = {
    "gp_appointments": ("appointment_date", _gp),
    "ae_attendances": ("arrival_date", _ae),
    "hospital_spells": ("admission_date", _admission),
    "outpatient_appointments": ("appointment_date", _outpatient),
    "community_contacts": ("contact_date", _community),
}


def _words(code: str | None) -> str:
    return (code or "unknown").replace("_", " ")


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


# --- the latest run -----------------------------------------------------------------------------


def run_place(run: StratificationRun, person_id: int) -> RunPlace | None:
    """The person's scores, segments and risk in `run`; None if the run does not hold them."""
    path = run.path / PERSON_RESULTS
    schemes = tuple(run.metadata.get("parameters", {}).get("schemes", []))
    frame = _run_frame(path, path.stat().st_mtime, schemes)
    try:
        row = frame.loc[int(person_id)]
    except KeyError:
        return None
    segments = []
    for scheme_id in schemes:
        info = run.metadata.get("segmentations", {}).get(scheme_id, {})
        names = {s["id"]: s["name"] for s in info.get("segments", [])}
        value = _value(row, scheme_id)
        segments.append(
            Segment(str(info.get("name") or scheme_id), names.get(value, value or "Not in the run"))
        )
    risk = _value(row, "risk")
    rank = out_of = None
    if risk is not None:
        every = _sorted_risks(path, path.stat().st_mtime)
        out_of = len(every)
        rank = out_of - int(np.searchsorted(every, risk, side="right")) + 1
    factors = _value(row, "top_factors")
    return RunPlace(
        run_id=run.run_id,
        index_date=run.index_date,
        efi_score=_value(row, "efi_score"),
        efi_category=_value(row, "efi_category"),
        hfrs_score=_value(row, "hfrs_score"),
        hfrs_category=_value(row, "hfrs_category"),
        segments=tuple(segments),
        risk=None if risk is None else float(risk),
        risk_rank=rank,
        out_of=out_of,
        top_factors=tuple(str(f) for f in factors) if factors is not None else (),
    )


RUN_COLUMNS = ("efi_score", "efi_category", "hfrs_score", "hfrs_category", "risk", "top_factors")


@functools.lru_cache(maxsize=2)
def _run_frame(path: Path, modified: float, schemes: tuple[str, ...]) -> pd.DataFrame:
    """The run's per-person columns the page shows, indexed by person (cached per run file)."""
    present = set(pq.read_schema(path).names)
    columns = ["person_id", *[c for c in (*RUN_COLUMNS, *schemes) if c in present]]
    return pq.read_table(path, columns=columns).to_pandas().set_index("person_id")


@functools.lru_cache(maxsize=2)
def _sorted_risks(path: Path, modified: float) -> np.ndarray:
    column = pq.read_table(path, columns=["risk"]).column("risk").drop_null()
    return np.sort(column.to_numpy())


def _value(row: pd.Series, column: str) -> Any:
    if column not in row.index:
        return None
    value = row[column]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


# --- the care store's side of the page ----------------------------------------------------------


@dataclass(frozen=True)
class PlanSummary:
    plan_id: int
    status: str
    version: int
    review_due_on: dt.date | None
    updated_at: dt.datetime
    what_matters: str
    goals: int
    agreed_at: dt.datetime | None


@dataclass(frozen=True)
class OpenAction:
    action_id: int
    title: str
    owner_name: str
    owner_org: str
    due_on: dt.date
    source: str


def plan_summary(sessions: sessionmaker[Session], person_id: int) -> PlanSummary | None:
    """The person's care plan in brief (its latest version), or None if they have none."""
    with sessions() as session:
        return plan_summary_in(session, person_id)


def plan_summary_in(session: Session, person_id: int) -> PlanSummary | None:
    """`plan_summary` in a session of the caller's (a page's reads together)."""
    plan = session.scalar(select(CarePlan).where(CarePlan.person_id == person_id))
    if plan is None:
        return None
    latest = session.scalar(
        select(CarePlanVersion)
        .where(CarePlanVersion.plan_id == plan.id)
        .order_by(CarePlanVersion.version.desc())
        .limit(1)
    )
    agreed_at = session.scalar(
        select(func.max(CarePlanVersion.agreed_at)).where(
            CarePlanVersion.plan_id == plan.id, CarePlanVersion.agreed_by_person.is_(True)
        )
    )
    content = latest.content if latest is not None and isinstance(latest.content, dict) else {}
    goals = content.get("goals") or []
    return PlanSummary(
        plan.id,
        plan.status,
        plan.version,
        plan.review_due_on,
        plan.updated_at,
        str(content.get("what_matters") or ""),
        len(goals) if isinstance(goals, list) else 0,
        agreed_at,
    )


def open_actions_of(sessions: sessionmaker[Session], person_id: int) -> list[OpenAction]:
    """The person's open tracked actions, soonest due first."""
    with sessions() as session:
        return open_actions_in(session, person_id)


def open_actions_in(session: Session, person_id: int) -> list[OpenAction]:
    """`open_actions_of` in a session of the caller's."""
    rows = session.scalars(
        select(CareAction)
        .where(CareAction.person_id == person_id, CareAction.status == "open")
        .order_by(CareAction.due_on, CareAction.id)
    )
    return [OpenAction(a.id, a.title, a.owner_name, a.owner_org, a.due_on, a.source) for a in rows]
