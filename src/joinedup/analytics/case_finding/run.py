"""Running a list over the population store: the whole area computed once per store, list,
engine, date and run (cached), then per view the register taken away (for the list that leaves
it out), narrowed to a practice or neighbourhood, with objectors left out and counts by
practice and neighbourhood."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from joinedup.analytics.case_finding.definitions import (
    CaseFindingError,
    ListColumn,
    ListDefinition,
    ListUnavailableError,
    OrganisationOutOfScopeError,
    UnknownOrganisationError,
    get_definition,
    list_definitions,
    unavailable_reason,
)
from joinedup.analytics.case_finding.pipeline import (
    GP_TABLES,
    TABLES,
    case_finding_pipeline,
    population,
    run_scores,
)
from joinedup.analytics.case_finding.rules import REGISTER_LEFT_OUT_LAST, RUN_SCORES
from joinedup.analytics.engine import Engine, connection, put_table, read_store
from joinedup.analytics.stratify import StratificationRun, run_at
from joinedup.governance.suppression import suppress_count
from joinedup.population.store import PopulationStore, StoreError


@dataclass(frozen=True)
class GroupCount:
    """People found in one practice or neighbourhood, beside its registered population.

    In a suppressed result (`CaseFindingResult.published`) both counts are as published:
    None when withheld, otherwise rounded (`joinedup.governance.suppression`)."""

    code: str
    name: str
    found: int | None
    registered: int | None
    neighbourhood_code: str | None = None

    @property
    def per_1000(self) -> float | None:
        if self.found is None or not self.registered:
            return None
        return 1000 * self.found / self.registered

    def published(self) -> GroupCount:
        return replace(
            self, found=suppress_count(self.found), registered=suppress_count(self.registered)
        )


@dataclass(frozen=True)
class CaseFindingResult:
    """One run of a list: the people found (Arrow rows, ROW_COLUMNS), counts and the rules.

    `within_practices` is the set of practices the run was restricted to (None: the whole
    area); `suppressed` says the counts are as published, for views beyond direct care."""

    definition: ListDefinition
    index_date: dt.date
    engine: str
    rows: pa.Table
    by_practice: tuple[GroupCount, ...]
    by_neighbourhood: tuple[GroupCount, ...]
    practice: str | None = None
    neighbourhood: str | None = None
    practices: tuple[GroupCount, ...] = field(default=(), repr=False)  # every practice in scope
    neighbourhoods: tuple[GroupCount, ...] = field(default=(), repr=False)
    registered: int = 0  # registered people in the chosen scope (after any exclusions)
    within_practices: frozenset[str] | None = None
    suppressed: bool = False
    run_id: str | None = None  # the stratification run a list that reads one was taken from

    @property
    def total(self) -> int:
        return self.rows.num_rows

    @property
    def columns(self) -> tuple[ListColumn, ...]:
        """The list's own columns this result holds (top_factors only when the run had them)."""
        return tuple(c for c in self.definition.columns if c.name in self.rows.column_names)

    @property
    def shown_total(self) -> int | None:
        """The number of people found as the page shows it (suppressed when `suppressed`)."""
        return suppress_count(self.total) if self.suppressed else self.total

    @property
    def shown_registered(self) -> int | None:
        return suppress_count(self.registered) if self.suppressed else self.registered

    @property
    def per_1000(self) -> float | None:
        """People found per 1,000 registered, from the counts as shown."""
        found, registered = self.shown_total, self.shown_registered
        return None if found is None or not registered else 1000 * found / registered

    def people(self) -> list[dict[str, Any]]:
        return self.rows.to_pylist()

    def published(self) -> CaseFindingResult:
        """The same result with every count as published (small numbers suppressed)."""

        def each(groups: tuple[GroupCount, ...]) -> tuple[GroupCount, ...]:
            return tuple(g.published() for g in groups)

        return replace(
            self,
            by_practice=each(self.by_practice),
            by_neighbourhood=each(self.by_neighbourhood),
            practices=each(self.practices),
            neighbourhoods=each(self.neighbourhoods),
            suppressed=True,
        )


def extract_date(store: PopulationStore) -> dt.date:
    value = store.metadata().get("extract_date")
    if not value:
        raise StoreError(f"the population store at {store.root} does not say its extract date")
    return dt.date.fromisoformat(str(value)[:10])


def _stamp(store: PopulationStore) -> float:
    """Changes when the store is regenerated (the metadata file is rewritten)."""
    return (store.root / "area.json").stat().st_mtime_ns if store.exists() else 0.0


@functools.lru_cache(maxsize=64)
def _run_area(
    root: str,
    stamp: float,
    list_id: str,
    engine: Engine,
    index_date: dt.date,
    run_path: str | None,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The whole area's rows, sorted, with no one on the coordinated care register (a list that
    leaves the register out has it taken away per view: `_off_register`); the registered
    population by practice; and each registered person's practice (person_id, practice_code),
    to leave people out of it. Kept per process: it changes only with the store (`stamp`) or
    the run (a run folder is never rewritten, so its path is a safe cache key), and working it
    out reads the whole area (about a CPU-second a list for 300,000 people)."""
    store = PopulationStore(Path(root))
    definition = get_definition(list_id)
    needed = list(TABLES) + (list(GP_TABLES) if list_id == "high-gp-users" else [])
    missing = [t for t in needed if not store.path(t).is_file()]
    if missing:
        raise StoreError(
            f"the population store at {store.root} has no {', '.join(missing)} table; "
            "run `joinedup generate` or `joinedup ingest` first"
        )
    with connection(engine) as con:
        tables = read_store(con, store, needed)
        if run_path is not None:
            tables[RUN_SCORES] = put_table(
                con, f"joinedup_{RUN_SCORES}_{secrets.token_hex(4)}", run_scores(_run_at(run_path))
            )
        expr = case_finding_pipeline(list_id, tables, index_date)
        rows = con.to_pyarrow(expr)
        people = population(tables, index_date)
        sizes = con.to_pyarrow(
            people.group_by(["practice_code", "practice_name", "neighbourhood_code"])
            .aggregate(
                neighbourhood_name=people.neighbourhood_name.max(), registered=people.count()
            )
            .order_by("practice_code")
        )
        registered = con.to_pyarrow(people.select("person_id", "practice_code"))
    rows = rows.cast(_row_schema(rows.schema)).sort_by(
        [(c, "ascending") for c in definition.order_by]
    )
    return rows, sizes, registered


def _run_at(path: str) -> StratificationRun:
    return run_at(Path(path))


def _row_schema(schema: pa.Schema) -> pa.Schema:
    types = {
        "person_id": pa.int64(),
        "age": pa.int64(),
        "evidence_date": pa.date32(),
        "risk_percent": pa.float64(),
        "rank": pa.int64(),
        "rank_percentile": pa.float64(),
        "run_index_date": pa.date32(),
    }
    return pa.schema([pa.field(n, types.get(n, pa.string())) for n in schema.names])


def run_list(
    store: PopulationStore,
    list_id: str,
    *,
    engine: Engine = "duckdb",
    index_date: dt.date | str | None = None,
    practice: str | None = None,
    neighbourhood: str | None = None,
    within_practices: Collection[str] | None = None,
    excluding: Collection[int] = (),
    run: StratificationRun | None = None,
    on_register: Collection[int] = frozenset(),
) -> CaseFindingResult:
    """Run one list over the store as of `index_date` (default: the store's extract date),
    optionally for one practice or one neighbourhood (organisation codes).

    `within_practices` restricts everything — rows, counts and the practices and
    neighbourhoods offered — to those practices (an identifiable list shows only the user's
    own); `excluding` leaves those people out of the rows and the registered counts (objectors,
    in views beyond direct care).

    A list that reads a stratification run (`run_columns`) reads `run` (the latest, from
    `joinedup.analytics.stratify.latest_run`), as of the run's index date; other lists ignore
    it. `on_register` holds the people already on the coordinated care register: lists that
    leave them out do so after ranking, and they still count as registered.

    Raises UnknownListError, ListUnavailableError (also for a run list with no run holding its
    columns), UnknownOrganisationError (a code the area does not have) or
    OrganisationOutOfScopeError (one outside `within_practices`), all UserErrors, and
    StoreError when the store is missing.
    """
    definition = get_definition(list_id)
    reason = unavailable_reason(definition, run)
    if reason:
        raise ListUnavailableError(f"{definition.title}: {reason}")
    if not store.exists():
        raise StoreError(f"no population store at {store.root}; run `joinedup generate` first")
    when = _index_date(store, definition, run, index_date)
    rows, sizes, registered = _run_area(
        str(store.root),
        _stamp(store),
        list_id,
        engine,
        when,
        str(run.path) if run is not None and definition.run_columns else None,
    )
    rows = _off_register(list_id, rows, on_register)
    _check_known(sizes, practice, neighbourhood)
    rows, sizes = _leaving_out(rows, sizes, registered, excluding)
    allowed = None if within_practices is None else frozenset(within_practices)
    rows, sizes = _within(rows, sizes, allowed)
    practices = _practice_counts(rows, sizes)
    hoods = _neighbourhood_counts(practices, sizes)
    _check_in_scope(practices, hoods, practice, neighbourhood)
    rows, scoped_practices, scoped_hoods = _scoped(rows, practices, hoods, practice, neighbourhood)
    return CaseFindingResult(
        definition=definition,
        index_date=when,
        engine=engine,
        rows=rows,
        by_practice=scoped_practices,
        by_neighbourhood=scoped_hoods,
        practice=practice or None,
        neighbourhood=neighbourhood or None,
        practices=practices,
        neighbourhoods=hoods,
        registered=sum(p.registered or 0 for p in scoped_practices),
        within_practices=allowed,
        run_id=run.run_id if run is not None and definition.run_columns else None,
    )


def _off_register(list_id: str, rows: pa.Table, on_register: Collection[int]) -> pa.Table:
    """The rows less the people on the register, for a list whose rule leaves them out as its
    last step (`REGISTER_LEFT_OUT_LAST`): the same rows as the pipeline given the register."""
    if list_id not in REGISTER_LEFT_OUT_LAST or not on_register:
        return rows
    register = pa.array(sorted(on_register), pa.int64())
    return rows.filter(pc.invert(pc.is_in(rows["person_id"], value_set=register)))


def _leaving_out(
    rows: pa.Table, sizes: pa.Table, registered: pa.Table, excluding: Collection[int]
) -> tuple[pa.Table, pa.Table]:
    """Rows and registered counts with the `excluding` people (objectors) taken away."""
    if not excluding:
        return rows, sizes
    left_out = pa.array(sorted(excluding), pa.int64())
    rows = rows.filter(pc.invert(pc.is_in(rows["person_id"], value_set=left_out)))
    return rows, _registered_without(sizes, registered, left_out)


def _within(
    rows: pa.Table, sizes: pa.Table, allowed: frozenset[str] | None
) -> tuple[pa.Table, pa.Table]:
    """Rows and registered counts of the `allowed` practices only (None: every practice)."""
    if allowed is None:
        return rows, sizes
    codes = pa.array(sorted(allowed), pa.string())
    rows = rows.filter(pc.is_in(rows["practice_code"], value_set=codes))
    return rows, sizes.filter(pc.is_in(sizes["practice_code"], value_set=codes))


def _check_in_scope(
    practices: tuple[GroupCount, ...],
    hoods: tuple[GroupCount, ...],
    practice: str | None,
    neighbourhood: str | None,
) -> None:
    if practice and practice not in {p.code for p in practices}:
        raise OrganisationOutOfScopeError(f"practice {practice!r} is outside this list's scope")
    if neighbourhood and neighbourhood not in {h.code for h in hoods}:
        raise OrganisationOutOfScopeError(
            f"neighbourhood {neighbourhood!r} is outside this list's scope"
        )


def _scoped(
    rows: pa.Table,
    practices: tuple[GroupCount, ...],
    hoods: tuple[GroupCount, ...],
    practice: str | None,
    neighbourhood: str | None,
) -> tuple[pa.Table, tuple[GroupCount, ...], tuple[GroupCount, ...]]:
    """The rows, practices and neighbourhoods of the chosen neighbourhood and practice."""
    scoped_practices, scoped_hoods = practices, hoods
    if neighbourhood:
        rows = rows.filter(pc.equal(rows["neighbourhood_code"], neighbourhood))
        scoped_practices = tuple(p for p in practices if p.neighbourhood_code == neighbourhood)
        scoped_hoods = tuple(h for h in hoods if h.code == neighbourhood)
    if practice:
        rows = rows.filter(pc.equal(rows["practice_code"], practice))
        scoped_practices = tuple(p for p in scoped_practices if p.code == practice)
        hood = next(p.neighbourhood_code for p in practices if p.code == practice)
        scoped_hoods = tuple(h for h in scoped_hoods if h.code == hood)
    return rows, scoped_practices, scoped_hoods


def _index_date(
    store: PopulationStore,
    definition: ListDefinition,
    run: StratificationRun | None,
    asked: dt.date | str | None,
) -> dt.date:
    """The date the list is as of: the one asked for, else the run's index date for a list
    that reads a run (its risk is as of that date), else the store's extract date."""
    when = (
        None
        if asked is None
        else asked
        if isinstance(asked, dt.date)
        else dt.date.fromisoformat(asked)
    )
    if run is None or not definition.run_columns:
        return extract_date(store) if when is None else when
    if when is not None and when != run.index_date:
        raise CaseFindingError(
            f"{definition.title} is as of its stratification run's index date, "
            f"{run.index_date.isoformat()}, not {when.isoformat()}: run "
            f"`joinedup stratify --index-date {when.isoformat()}` for another date"
        )
    return run.index_date


def _check_known(sizes: pa.Table, practice: str | None, neighbourhood: str | None) -> None:
    if practice and practice not in set(sizes["practice_code"].to_pylist()):
        raise UnknownOrganisationError(f"the area has no practice {practice!r}")
    if neighbourhood and neighbourhood not in set(sizes["neighbourhood_code"].to_pylist()):
        raise UnknownOrganisationError(f"the area has no neighbourhood {neighbourhood!r}")


def _registered_without(sizes: pa.Table, registered: pa.Table, left_out: pa.Array) -> pa.Table:
    """The registered population by practice with `left_out` people taken away."""
    gone = registered.filter(pc.is_in(registered["person_id"], value_set=left_out))
    counts = gone.group_by("practice_code").aggregate([("person_id", "count")])
    by_code = dict(
        zip(counts["practice_code"].to_pylist(), counts["person_id_count"].to_pylist(), strict=True)
    )
    remaining = [
        int(n) - int(by_code.get(code, 0))
        for code, n in zip(
            sizes["practice_code"].to_pylist(), sizes["registered"].to_pylist(), strict=True
        )
    ]
    column = sizes.schema.get_field_index("registered")
    return sizes.set_column(column, "registered", pa.array(remaining, pa.int64()))


def _practice_counts(rows: pa.Table, sizes: pa.Table) -> tuple[GroupCount, ...]:
    found: dict[str, int] = {}
    for code in rows["practice_code"].to_pylist():
        found[code] = found.get(code, 0) + 1
    groups = [
        GroupCount(
            code=s["practice_code"],
            name=s["practice_name"] or s["practice_code"],
            found=found.get(s["practice_code"], 0),
            registered=int(s["registered"]),
            neighbourhood_code=s["neighbourhood_code"],
        )
        for s in sizes.to_pylist()
    ]
    return tuple(sorted(groups, key=lambda g: (g.name, g.code)))


def _neighbourhood_counts(
    practices: tuple[GroupCount, ...], sizes: pa.Table
) -> tuple[GroupCount, ...]:
    names = {
        s["neighbourhood_code"]: s["neighbourhood_name"]
        for s in sizes.to_pylist()
        if s["neighbourhood_code"]
    }
    found: dict[str, int] = {}
    registered: dict[str, int] = {}
    for p in practices:
        if p.neighbourhood_code:
            found[p.neighbourhood_code] = found.get(p.neighbourhood_code, 0) + (p.found or 0)
            registered[p.neighbourhood_code] = registered.get(p.neighbourhood_code, 0) + (
                p.registered or 0
            )
    groups = [GroupCount(code, names[code], found[code], registered[code]) for code in names]
    return tuple(sorted(groups, key=lambda g: (g.name, g.code)))


def list_counts(
    store: PopulationStore,
    *,
    engine: Engine = "duckdb",
    index_date: dt.date | str | None = None,
    within_practices: Collection[str] | None = None,
    excluding: Collection[int] = (),
    run: StratificationRun | None = None,
    on_register: Collection[int] = frozenset(),
) -> dict[str, int | None]:
    """People found by every list (None for a list that cannot be run: `unavailable_reason`):
    the whole area, or only `within_practices`, leaving out `excluding` (see `run_list`)."""
    return {
        d.id: (
            None
            if unavailable_reason(d, run)
            else run_list(
                store,
                d.id,
                engine=engine,
                index_date=None if d.run_columns else index_date,
                within_practices=within_practices,
                excluding=excluding,
                run=run,
                on_register=on_register,
            ).total
        )
        for d in list_definitions()
    }
