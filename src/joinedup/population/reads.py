"""The population store's shared reads: who is registered at a date, one person at a time, and
the area's organisations. Every other module asks here rather than reading these by hand.

**Registered at a date** (docs/GLOSSARY.md, "registered at the extract date"): at the end of
the day `on`, a person has a registration that started on or before `on` and has no end date or
ends after it (a registration whose last day is `on` has closed by the end of it), and the
person was born on or before `on` and has no date of death or one after it. A person with more
than one such registration counts once, at the practice of the one that started last.

The rule is written once, as the Ibis expression `registered_population`, so pipelines run it
on DuckDB or Spark (ADR 0003). Code that runs DuckDB SQL by hand gets the same rule compiled
from it (`registered_sql`), never a copy written out again.

**One person at a time** (`find_person`, `practices_of`, `registered_person_ids`): person
pages answer from an in-memory index of everyone's identity and current registration, built
once per store with the rule above and rebuilt when its files change. Why not an Ibis
expression per request: compiling and running a query costs tens of milliseconds per page
(one DuckDB lookup decodes a 65,536-row group of `patients` and of `registrations`: 31 ms
median, 46 ms p95 on 300,000 people on a busy 2-core machine), whereas the index answers in
microseconds and holds about 30 MB. ADR 0003 allows such embedded reads in this module only.

**Organisations** (`organisations`, `organisation_names`): the area's organisation tree as
plain records, read once per organisations file.

Identifiable (NHS number, date of birth): callers show a person only to users with a
legitimate relationship and audit the view (`joinedup.web.person_gate`).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.store import PopulationStore, StoreError

# --- the registration rule ----------------------------------------------------------------------


def extract_date(store: PopulationStore) -> dt.date:
    """The day the store describes ("today" for every look-back)."""
    value = store.metadata().get("extract_date")
    if not value:
        raise StoreError(f"the population store at {store.root} does not say its extract date")
    return dt.date.fromisoformat(str(value)[:10])


def history_start(store: PopulationStore) -> dt.date | None:
    """The first day the store's records cover, when it says (activity before it is not there,
    so a look-back that starts earlier is incomplete)."""
    value = store.metadata().get("history_start")
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def registered_population(
    registrations: ibis.Table, patients: ibis.Table, on: dt.date
) -> ibis.Table:
    """Everyone registered at the end of `on` (the module's rule), one row each: person_id,
    practice_code, date_of_birth, age (whole years on `on`), sex and imd_decile."""
    day = ibis.literal(on, type="date")
    current = registrations.filter(
        (registrations.start_date <= day)
        & (registrations.end_date.isnull() | (registrations.end_date > day))
    )
    # Each person's open registration that started last: no newer open one exists.
    newer = current.view()
    latest = current.anti_join(
        newer,
        [current.person_id == newer.person_id, newer.start_date > current.start_date],
    ).select("person_id", "practice_code")
    alive = patients.filter(
        (patients.date_of_birth <= day)
        & (patients.date_of_death.isnull() | (patients.date_of_death > day))
    )
    people = latest.join(alive, "person_id")
    dob = people.date_of_birth
    before_birthday = (dob.month() > on.month) | ((dob.month() == on.month) & (dob.day() > on.day))
    age = on.year - dob.year() - before_birthday.cast("int64")
    return people.select(
        "person_id",
        "practice_code",
        "date_of_birth",
        age=age,
        sex=people.sex,
        imd_decile=people.imd_decile,
    )


_REGISTRATIONS_SCHEMA = {
    "person_id": "int64",
    "practice_code": "string",
    "start_date": "date",
    "end_date": "date",
}
_PATIENTS_SCHEMA = {
    "person_id": "int64",
    "date_of_birth": "date",
    "date_of_death": "date",
    "sex": "string",
    "imd_decile": "int64",
}


def registered_sql(on: dt.date) -> str:
    """`registered_population` as DuckDB SQL over tables or views named ``registrations`` and
    ``patients``: the columns person_id, practice_code and date_of_birth."""
    registrations = ibis.table(_REGISTRATIONS_SCHEMA, name="registrations")
    patients = ibis.table(_PATIENTS_SCHEMA, name="patients")
    people = registered_population(registrations, patients, on)
    return str(ibis.to_sql(people.select("person_id", "practice_code", "date_of_birth"), "duckdb"))


# --- one person at a time -----------------------------------------------------------------------


@dataclass(frozen=True)
class PersonIdentity:
    person_id: int
    nhs_number: str
    date_of_birth: dt.date
    sex: str
    date_of_death: dt.date | None
    #: The practice the person is registered at on the extract date (the module's rule), or
    #: None when they are not registered then (never registered, left, died).
    practice_code: str | None
    practice_name: str | None
    neighbourhood_code: str | None
    neighbourhood_name: str | None
    # Identity for direct care; None where the source carries none (hospital extracts).
    given_name: str | None = None
    family_name: str | None = None
    address_line: str | None = None
    postcode: str | None = None
    phone: str | None = None

    @property
    def display_name(self) -> str | None:
        """The name as NHS patient banners show it: "SMITH, Jane" (None when unnamed)."""
        return display_name(self.given_name, self.family_name)

    def age_on(self, day: dt.date) -> int:
        return age_on(self.date_of_birth, day)


def find_person(store: PopulationStore, person_id: int) -> PersonIdentity | None:
    """The person with `person_id` as at the store's extract date; None if the store has no one
    with that number."""
    frame = _index(store)
    try:
        row = frame.loc[int(person_id)]
    except KeyError:
        return None
    practice = _text_or_none(row["practice_code"])
    organisation = organisations(store).get(practice or "")
    neighbourhood = _neighbourhood_of(store, practice)
    return PersonIdentity(
        int(person_id),
        str(row["nhs_number"]),
        _as_date(row["date_of_birth"]),  # type: ignore[arg-type]
        str(row["sex"]),
        _as_date(row["date_of_death"]),
        practice,
        organisation.name if organisation else None,
        neighbourhood.code if neighbourhood else None,
        neighbourhood.name if neighbourhood else None,
        *(_text_or_none(row[column]) for column in CONTACT_COLUMNS),
    )


def display_name(given: str | None, family: str | None) -> str | None:
    """FAMILY, Given (the NHS patient banner's order); whichever part is known."""
    parts = [p for p in ((family or "").upper(), given or "") if p]
    return ", ".join(parts) or None


@dataclass(frozen=True)
class PersonSummary:
    """One person in a list: enough to recognise them (name, NHS number, date of birth)."""

    person_id: int
    name: str | None
    nhs_number: str
    date_of_birth: dt.date
    sex: str
    practice_code: str | None


def people_summaries(store: PopulationStore, person_ids: Iterable[int]) -> dict[int, PersonSummary]:
    """Name, NHS number and date of birth of each of `person_ids` the store knows."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return {}
    frame = _index(store).reindex(ids)
    frame = frame[frame["date_of_birth"].notna()]
    # Column by column, not row by row (a pandas row is a Series: costly on a list's every row).
    columns = [
        frame[c].tolist()
        for c in (
            "given_name",
            "family_name",
            "nhs_number",
            "date_of_birth",
            "sex",
            "practice_code",
        )
    ]
    return {
        int(pid): PersonSummary(
            int(pid),
            display_name(_text_or_none(given), _text_or_none(family)),
            str(nhs),
            _as_date(born),  # type: ignore[arg-type]
            str(sex),
            _text_or_none(practice),
        )
        for pid, given, family, nhs, born, sex, practice in zip(
            frame.index.tolist(), *columns, strict=True
        )
    }


@dataclass(frozen=True)
class PersonLabel:
    """How a list names a person: name, NHS number and age ("WEBB, Kim (NHS number
    935 611 4935, aged 91)" as text)."""

    person_id: int
    name: str | None
    nhs_number: str  # 3 3 4
    age: int

    def __str__(self) -> str:
        details = f"NHS number {self.nhs_number}, aged {self.age}"
        return f"{self.name} ({details})" if self.name else details


@dataclass(frozen=True)
class EquityGroups:
    """What a person is counted by in an equity breakdown (sex, birth date, ethnic group, IMD)."""

    sex: str
    date_of_birth: dt.date
    ethnicity: str
    imd_decile: int | None


def equity_groups(store: PopulationStore, person_ids: Iterable[int]) -> dict[int, EquityGroups]:
    """Sex, date of birth, ethnic group and deprivation decile of each of `person_ids` the
    store knows (to break a service's outcomes down by the groups of `analytics.inequalities`)."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return {}
    columns = ["person_id", "sex", "date_of_birth", "ethnicity", "imd_decile"]
    # One column read and a pandas filter: an Ibis `isin` of a whole area's ids compiles to a
    # statement with every id in it, which is far slower than reading five columns.
    frame = pq.read_table(store.path("patients"), columns=columns).to_pandas()
    frame = frame[frame["person_id"].isin(ids)]
    return {
        int(row.person_id): EquityGroups(
            str(row.sex),
            _as_date(row.date_of_birth),  # type: ignore[arg-type]
            str(row.ethnicity),
            None if pd.isna(row.imd_decile) else int(row.imd_decile),
        )
        for row in frame.itertuples()
    }


def person_labels(
    store: PopulationStore, person_ids: Iterable[int], on: dt.date
) -> dict[int, PersonLabel]:
    """A `PersonLabel` for each of `person_ids` the store knows, aged on `on`."""
    if not store.exists():
        return {}
    return {
        pid: PersonLabel(pid, s.name, format_nhs_number(s.nhs_number), age_on(s.date_of_birth, on))
        for pid, s in people_summaries(store, person_ids).items()
    }


def age_on(born: dt.date, day: dt.date) -> int:
    """Age in whole years on `day`."""
    return day.year - born.year - int((day.month, day.day) < (born.month, born.day))


def search_people(
    store: PopulationStore,
    *,
    within_practices: Iterable[str],
    within_people: Iterable[int] = (),
    family_name: str = "",
    given_name: str = "",
    date_of_birth: dt.date | None = None,
    nhs_number: str = "",
    limit: int = 50,
) -> list[PersonSummary]:
    """People registered at `within_practices` or among `within_people` who match every key
    given: names as a case-insensitive prefix, date of birth and NHS number exactly. Ordered by
    name; at most `limit`. The caller decides the scope (the user's relationships)."""
    frame = _index(store)
    scope = frame["practice_code"].isin(list(within_practices)) | frame.index.isin(
        np.fromiter((int(p) for p in within_people), dtype=np.int64)
    )
    found = frame[scope]
    for column, prefix in (("family_name", family_name), ("given_name", given_name)):
        if prefix.strip():
            names = found[column].fillna("").str.casefold()
            found = found[names.str.startswith(prefix.strip().casefold())]
    if date_of_birth is not None:
        found = found[found["date_of_birth"] == pd.Timestamp(date_of_birth)]
    if nhs_number:
        found = found[found["nhs_number"] == nhs_number]
    found = found.sort_values(["family_name", "given_name", "date_of_birth"], na_position="last")
    return [_summary(int(pid), row) for pid, row in found.head(limit).iterrows()]


def _summary(person_id: int, row: pd.Series) -> PersonSummary:
    return PersonSummary(
        person_id,
        display_name(_text_or_none(row["given_name"]), _text_or_none(row["family_name"])),
        str(row["nhs_number"]),
        _as_date(row["date_of_birth"]),  # type: ignore[arg-type]
        str(row["sex"]),
        _text_or_none(row["practice_code"]),
    )


class OnePersonReader:
    """One long-lived DuckDB connection for one person's rows, serialised by a lock.

    Each read is ``WHERE person_id = ?`` straight from a table's Parquet file with the Parquet
    metadata cache on. The store writes row groups of 65,536 rows in person order, so DuckDB's
    min/max statistics skip every row group that cannot hold the person and decode only a
    sliver of each table. Hold `lock` around a page's reads so they see one connection state.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = duckdb.connect()
            con.execute("SET parquet_metadata_cache = true")
            con.execute("SET threads = 1")  # one person's rows: threads only add hand-over
            self._con = con
        return self._con

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.con.execute(sql, list(params)).fetchall()

    def records(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        """`rows`, each as a dict by column name."""
        with self.lock:
            result = self.con.execute(sql, list(params))
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


#: The process's one-person reader (person pages share it).
one_person_reader = OnePersonReader()


def table_file(store: PopulationStore, name: str) -> str | None:
    """The Parquet file of table `name`, or None when the store does not have it."""
    path = store.path(name)
    return str(path) if path.is_file() else None


def practices_of(store: PopulationStore, person_ids: Iterable[int]) -> dict[int, str]:
    """The practice each of `person_ids` is registered at on the extract date (those who are)."""
    ids = sorted({int(p) for p in person_ids})
    if not ids or not store.exists():
        return {}
    practices = _index(store)["practice_code"].reindex(ids).dropna()
    return {int(p): str(code) for p, code in practices.items()}


def imd_deciles(store: PopulationStore, person_ids: Iterable[int]) -> dict[int, int]:
    """The IMD decile (1 most deprived) of each of `person_ids` whose decile is known."""
    ids = sorted({int(p) for p in person_ids})
    if not ids or not store.path("patients").is_file():
        return {}
    frame = pd.read_parquet(
        store.path("patients"),
        columns=["person_id", "imd_decile"],
        filters=[("person_id", "in", ids)],
    ).dropna()
    return {int(p): int(d) for p, d in zip(frame["person_id"], frame["imd_decile"], strict=True)}


def list_sizes(store: PopulationStore, excluding: Iterable[int] = ()) -> dict[str, int]:
    """How many people each practice has registered on the extract date, `excluding` left out."""
    practices = _index(store)["practice_code"].dropna()
    left_out = np.fromiter((int(p) for p in excluding), dtype=np.int64)
    if len(left_out):
        practices = practices[~practices.index.isin(left_out)]
    return {str(code): int(n) for code, n in practices.value_counts().items()}


def registered_person_ids(store: PopulationStore) -> np.ndarray:
    """person_id of everyone registered on the extract date, ascending."""
    practices = _index(store)["practice_code"]
    return np.asarray(practices.index[practices.notna()], dtype=np.int64)


IDENTITY_COLUMNS = ("person_id", "nhs_number", "date_of_birth", "sex", "date_of_death")
#: Optional identity for direct care (absent from stores written before it, or null).
CONTACT_COLUMNS = ("given_name", "family_name", "address_line", "postcode", "phone")


def _index(store: PopulationStore) -> pd.DataFrame:
    """Everyone's identity and current practice, indexed by person_id (cached per store files)."""
    if not store.exists():
        raise StoreError(f"no population store at {store.root}; run `joinedup generate` first")
    for table in ("patients", "registrations"):
        if not store.path(table).is_file():
            raise StoreError(f"the population store at {store.root} has no {table} table")
    return _identities(
        str(store.root),
        store.path("patients").stat().st_mtime_ns,
        store.path("registrations").stat().st_mtime_ns,
        extract_date(store),
    )


@functools.lru_cache(maxsize=1)
def _identities(root: str, patients: int, registrations: int, on: dt.date) -> pd.DataFrame:
    store = PopulationStore(Path(root))
    con = ibis.duckdb.connect()
    try:
        everyone = con.read_parquet(store.path("patients"))
        registered = registered_population(
            con.read_parquet(store.path("registrations")), everyone, on
        ).select("person_id", "practice_code")
        contact = {
            c: everyone[c] if c in everyone.columns else ibis.null("string")
            for c in CONTACT_COLUMNS
        }
        frame = (
            everyone.select(*IDENTITY_COLUMNS, **contact)
            .left_join(registered, "person_id")
            .select(*IDENTITY_COLUMNS, *CONTACT_COLUMNS, "practice_code")
            .to_pandas()
        )
    finally:
        con.disconnect()
    # Two open registrations starting the same day would give a person two rows: keep one.
    frame = frame.sort_values(["person_id", "practice_code"], na_position="last")
    return frame.drop_duplicates("person_id").set_index("person_id")


def _as_date(value: Any) -> dt.date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return pd.Timestamp(value).date()


def _text_or_none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


# --- organisations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    org_type: str  # practice | neighbourhood | federation | … (contracts.ORG_TYPES)
    parent_code: str | None
    imd_decile: int | None


def organisations(store: PopulationStore) -> Mapping[str, Organisation]:
    """The area's organisations by code (StoreError when the store has no organisations)."""
    path = store.path("organisations")
    if not path.is_file():
        store.read("organisations")  # raises the store's own clear StoreError
    return _organisations(str(path), path.stat().st_mtime_ns)


def organisation_names(store: PopulationStore) -> dict[str, str]:
    """Each organisation's name by code."""
    return {code: org.name for code, org in organisations(store).items()}


def _neighbourhood_of(store: PopulationStore, practice: str | None) -> Organisation | None:
    orgs = organisations(store)
    found = orgs.get(practice or "")
    parent = orgs.get(found.parent_code or "") if found else None
    return parent if parent is not None and parent.org_type == "neighbourhood" else None


@functools.lru_cache(maxsize=4)
def _organisations(path: str, modified: int) -> Mapping[str, Organisation]:
    columns = ["org_code", "name", "org_type", "parent_code", "imd_decile"]
    rows = pq.read_table(path, columns=columns).to_pylist()
    return MappingProxyType(
        {
            r["org_code"]: Organisation(
                r["org_code"],
                r["name"],
                r["org_type"],
                r["parent_code"] or None,
                None if r["imd_decile"] is None else int(r["imd_decile"]),
            )
            for r in rows
        }
    )


def home_points(
    store: PopulationStore, person_ids: Iterable[int]
) -> dict[int, tuple[float, float]]:
    """Each person's home as (latitude, longitude), for planning home visits; people whose
    home has no coordinates (or stores written before the columns) are left out."""
    ids = sorted({int(p) for p in person_ids})
    path = table_file(store, "patients")
    if not ids or path is None:
        return {}
    columns = set(pq.read_schema(path).names)
    if not {"home_latitude", "home_longitude"} <= columns:
        return {}
    rows = one_person_reader.rows(
        "SELECT person_id, home_latitude, home_longitude FROM read_parquet(?) "
        "WHERE person_id IN (SELECT unnest(?::BIGINT[])) "
        "AND home_latitude IS NOT NULL AND home_longitude IS NOT NULL",
        [path, ids],
    )
    return {int(p): (float(lat), float(lon)) for p, lat, lon in rows}


# --- groups and acute activity of chosen people (the virtual ward's alert ledger) ----------------


@dataclass(frozen=True)
class PersonGroup:
    """What a person is counted by in an equity breakdown (no identity)."""

    date_of_birth: dt.date | None
    sex: str | None
    imd_decile: int | None
    ethnicity: str | None
    date_of_death: dt.date | None


def person_groups(store: PopulationStore, person_ids: Iterable[int]) -> dict[int, PersonGroup]:
    """Date of birth, sex, deprivation decile, ethnicity and date of death of `person_ids`."""
    ids = sorted({int(p) for p in person_ids})
    path = table_file(store, "patients")
    if not ids or path is None:
        return {}
    columns = set(pq.read_schema(path).names)
    ethnicity = "ethnicity" if "ethnicity" in columns else "NULL"
    rows = one_person_reader.rows(
        f"SELECT person_id, date_of_birth, sex, imd_decile, {ethnicity}, date_of_death "
        "FROM read_parquet(?) WHERE person_id IN (SELECT unnest(?::BIGINT[]))",
        [path, ids],
    )
    return {
        int(pid): PersonGroup(
            _as_date(born),
            _text_or_none(sex),
            None if imd is None else int(imd),
            _text_or_none(group),
            _as_date(died),
        )
        for pid, born, sex, imd, group, died in rows
    }


#: Acute activity the ledger follows alerts with: (table, date column, kind, extra condition).
ACUTE_ACTIVITY = (
    ("hospital_spells", "admission_date", "admission", "admission_method = 'emergency'"),
    ("ae_attendances", "arrival_date", "ae", "TRUE"),
)


def acute_events(
    store: PopulationStore, person_ids: Iterable[int], start: dt.date, end: dt.date
) -> list[tuple[int, str, dt.date]]:
    """(person_id, kind, date) of every emergency admission ("admission"), A&E attendance
    ("ae") and death ("death") of `person_ids` dated in [start, end]."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return []
    events: list[tuple[int, str, dt.date]] = []
    for table, column, kind, condition in ACUTE_ACTIVITY:
        path = table_file(store, table)
        if path is None:
            continue
        rows = one_person_reader.rows(
            f"SELECT person_id, {column} FROM read_parquet(?) WHERE {condition} "
            f"AND person_id IN (SELECT unnest(?::BIGINT[])) AND {column} BETWEEN ? AND ?",
            [path, ids, start, end],
        )
        events += [(int(pid), kind, _as_date(day)) for pid, day in rows]  # type: ignore[misc]
    deaths = person_groups(store, ids)
    events += [
        (pid, "death", g.date_of_death)
        for pid, g in deaths.items()
        if g.date_of_death is not None and start <= g.date_of_death <= end
    ]
    return events


def person_ids_by_nhs_number(store: PopulationStore, numbers: Iterable[str]) -> dict[str, int]:
    """person_id of each of `numbers` (ten digits) the store knows, from the cached index."""
    wanted = {n for n in numbers}
    if not wanted:
        return {}
    column = _index(store)["nhs_number"]
    found = column[column.isin(wanted)]
    return {str(number): int(pid) for pid, number in found.items()}


def emergency_discharges(
    store: PopulationStore, first: dt.date, last: dt.date
) -> dict[int, dt.date]:
    """People discharged from an emergency hospital spell between `first` and `last`
    (inclusive): person_id -> the latest such discharge date. Empty when the store has no
    hospital spells."""
    path = table_file(store, "hospital_spells")
    if path is None:
        return {}
    rows = one_person_reader.rows(
        "SELECT person_id, max(discharge_date) FROM read_parquet(?) "
        "WHERE admission_method = 'emergency' AND discharge_date BETWEEN ? AND ? "
        "GROUP BY person_id",
        [path, first, last],
    )
    return {int(p): _as_date(d) or first for p, d in rows}


# --- everyone's groups, and use of care in windows around chosen dates ---------------------------


def person_attributes(store: PopulationStore) -> pd.DataFrame:
    """Everyone in the store, no identity: person_id, date_of_birth, sex, imd_decile (nullable)
    and date_of_death (NaT while alive), ordered by person_id."""
    columns = ["person_id", "date_of_birth", "sex", "imd_decile", "date_of_death"]
    frame = pq.read_table(store.path("patients"), columns=columns).to_pandas()
    frame["imd_decile"] = frame["imd_decile"].astype("Int64")
    for column in ("date_of_birth", "date_of_death"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.sort_values("person_id", ignore_index=True)


#: Use of care counted in windows: name → (table, date column, which rows count).
WINDOW_ACTIVITY: Mapping[str, tuple[str, str, str | None]] = MappingProxyType(
    {
        # Appointments in general practice the person attended, with any clinician, at the
        # practice or an extended-access hub (a did-not-attend is not use of care).
        "gp_appointments": ("gp_appointments", "appointment_date", "attended"),
        "ae_attendances": ("ae_attendances", "arrival_date", None),
    }
)


def activity_in_windows(store: PopulationStore, windows: pd.DataFrame) -> pd.DataFrame:
    """Use of care in chosen windows of chosen people.

    `windows` has one row per window: window_id (unique), person_id, start and end (dates; the
    window holds the days start ≤ day < end). The answer, indexed by window_id in the same
    order, counts each of `WINDOW_ACTIVITY` in the window, and ``days_at_risk``: the days of
    the window on which the person was registered with a practice of the area and alive (the
    module's registration rule, day by day), so that people who die, leave or join part-way
    contribute only the time they could have used care here.
    """
    frame = windows[["window_id", "person_id", "start", "end"]].copy()
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    result = pd.DataFrame(index=pd.Index(frame["window_id"], name="window_id"))
    if frame.empty:
        for name in WINDOW_ACTIVITY:
            result[name] = pd.Series(dtype="int64")
        result["days_at_risk"] = pd.Series(dtype="int64")
        return result
    con = ibis.duckdb.connect()
    try:
        spans = ibis.memtable(frame)
        for name, (table, column, condition) in WINDOW_ACTIVITY.items():
            path = table_file(store, table)
            if path is None:
                result[name] = 0
                continue
            rows = con.read_parquet(path)
            if condition is not None:
                rows = rows.filter(rows[condition])
            day = rows[column].cast("timestamp")
            joined = spans.join(
                rows,
                [spans.person_id == rows.person_id, day >= spans.start, day < spans.end],
            )
            counts = joined.group_by("window_id").aggregate(n=ibis._.count()).to_pandas()
            found = counts.set_index("window_id")["n"]
            result[name] = found.reindex(result.index, fill_value=0).astype("int64")
    finally:
        con.disconnect()
    result["days_at_risk"] = _days_registered(store, frame).reindex(result.index).to_numpy()
    return result


def _days_registered(store: PopulationStore, windows: pd.DataFrame) -> pd.Series:
    """Days of each window registered and alive, by window_id (never more than the window)."""
    people = windows["person_id"].unique()
    regs = pq.read_table(
        store.path("registrations"),
        columns=["person_id", "start_date", "end_date"],
        filters=[("person_id", "in", people.tolist())],
    ).to_pandas()
    dead = person_attributes(store).set_index("person_id")["date_of_death"]
    spans = windows.merge(regs, on="person_id", how="inner")
    far = pd.Timestamp.max.normalize()
    # Registered on day d when start ≤ d < end; alive on d when d < date of death.
    first = np.maximum(spans["start"], pd.to_datetime(spans["start_date"]))
    last = np.minimum(
        np.minimum(spans["end"], pd.to_datetime(spans["end_date"]).fillna(far)),
        spans["person_id"].map(dead).fillna(far),
    )
    spans["days"] = (last - first).dt.days.clip(lower=0)
    length = (windows["end"] - windows["start"]).dt.days.to_numpy()
    total = spans.groupby("window_id")["days"].sum()
    total = total.reindex(windows["window_id"], fill_value=0)
    # Two registrations open at once (a move recorded late) would count a day twice.
    return pd.Series(np.minimum(total.to_numpy(), length), index=windows["window_id"].to_numpy())


def codes_recorded_by(
    store: PopulationStore, people: pd.DataFrame, codelists: pa.Table
) -> pd.DataFrame:
    """Which codelists each chosen person has a clinical event from on or before a chosen day.

    `people`: row_id (unique), person_id and on (a date); `codelists`: codelist_id,
    code_system and code (as `terminology.codelists.codelist_table` gives them). The answer has
    one row per (row_id, codelist_id) found, joined on (code_system, code) as the scores join.
    """
    frame = people[["row_id", "person_id", "on"]].copy()
    frame["on"] = pd.to_datetime(frame["on"])
    path = table_file(store, "clinical_events")
    if frame.empty or path is None:
        return pd.DataFrame({"row_id": [], "codelist_id": []})
    con = ibis.duckdb.connect()
    try:
        wanted = ibis.memtable(codelists.select(["codelist_id", "code_system", "code"]))
        events = con.read_parquet(path)
        coded = events.join(wanted, ["code_system", "code"])
        chosen = ibis.memtable(frame)
        found = chosen.join(
            coded,
            [
                chosen.person_id == coded.person_id,
                coded.event_date.cast("timestamp") <= chosen.on,
            ],
        )
        return found.select("row_id", "codelist_id").distinct().to_pandas()
    finally:
        con.disconnect()
