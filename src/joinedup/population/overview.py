"""Population overview: who is registered with the area's practices at the extract date.

The registered population at the extract date is everyone registered at the end of that day
by the one registration rule (`joinedup.population.reads.registered_population`; glossary:
"registered at the extract date"), each at one practice. Age is in whole years at the extract
date.

The counting runs as one Ibis query on DuckDB over the Parquet files: it groups people by
practice, age band, sex and deprivation decile (a few thousand cells at most, whatever the
population) and every breakdown is summed from those cells, so each breakdown adds up to the
total. Small-number suppression belongs to governance (`governance.aggregates.aggregate_overview`):
`PopulationOverview.with_counts` passes every count through one rule, the one place to apply it,
so this bottom layer imports nothing of governance.

People who object to secondary use (`joinedup.governance.objections`) are left out by passing
their person_id as `exclude`: the same query marks each registered person as excluded or not
(a semi-join against an in-memory table), so leaving them out costs one hash join, and the
overview says how many were left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from joinedup.dates import years_before
from joinedup.population.reads import organisations, registered_population
from joinedup.population.store import PopulationStore, StoreError

#: Age bands as (key, label, lowest age); each runs up to the next band's lowest age.
AGE_BANDS: tuple[tuple[str, str, int], ...] = (
    ("0-4", "0 to 4", 0),
    ("5-17", "5 to 17", 5),
    ("18-44", "18 to 44", 18),
    ("45-64", "45 to 64", 45),
    ("65-74", "65 to 74", 65),
    ("75-84", "75 to 84", 75),
    ("85+", "85 and over", 85),
)
SEX_LABELS = {"F": "Female", "M": "Male"}
NOT_KNOWN = "Not known"
NO_NEIGHBOURHOOD = "Not in a neighbourhood"

#: A rule applied to every count of an overview: the count to show, or None to withhold it.
CountRule = Callable[[int], int | None]


class NeighbourhoodNotFound(LookupError):
    """The overview was asked for a neighbourhood the area does not have."""


class Neighbourhood(BaseModel):
    code: str = Field(description="Organisation code of the neighbourhood.")
    name: str


class Count(BaseModel):
    """One group of a breakdown and the number of registered people in it."""

    key: str = Field(description="Stable key of the group: a code, band or value.")
    label: str = Field(description="The group in words, for people.")
    count: int | None = Field(
        description="Registered people in the group; null when withheld by small-number "
        "suppression."
    )


class PracticeCount(Count):
    """A practice's registered population (key is the practice code)."""

    neighbourhood_code: str | None = None
    neighbourhood_name: str | None = None


class PopulationOverview(BaseModel):
    """Registered population of the area (or one neighbourhood) at the extract date."""

    area_name: str
    extract_date: date = Field(description="The date the population is counted at.")
    synthetic: bool = Field(False, description="Whether the area is synthetic (no real people).")
    seed: int | None = Field(None, description="Seed of the synthetic area, if it is synthetic.")
    neighbourhood: Neighbourhood | None = Field(
        None, description="The neighbourhood the counts are limited to; null for the whole area."
    )
    neighbourhoods: list[Neighbourhood] = Field(description="Every neighbourhood of the area.")
    total: int | None = Field(description="Registered population at the extract date.")
    by_practice: list[PracticeCount]
    by_neighbourhood: list[Count]
    by_age_band: list[Count] = Field(description="Age in whole years at the extract date.")
    by_sex: list[Count]
    by_imd_decile: list[Count] = Field(
        description="Index of Multiple Deprivation 2019 decile of the person's LSOA "
        "(1 most deprived, 10 least)."
    )
    objectors_left_out: int | None = Field(
        0,
        description="Registered people in scope left out of every count because they object "
        "to the use of their data beyond their own care; null when withheld.",
    )

    def breakdowns(self) -> dict[str, list[Count]]:
        """Every breakdown by name, in display order."""
        return {
            "age_band": list(self.by_age_band),
            "sex": list(self.by_sex),
            "imd_decile": list(self.by_imd_decile),
            "neighbourhood": list(self.by_neighbourhood),
            "practice": list(self.by_practice),
        }

    def with_counts(self, rule: CountRule) -> PopulationOverview:
        """A copy whose every count (total and breakdowns) has been passed through `rule`.

        The one place to apply small-number suppression (or rounding) to the overview.
        """

        def apply(rows: list[Any]) -> list[Any]:
            return [
                row.model_copy(update={"count": None if row.count is None else rule(row.count)})
                for row in rows
            ]

        def one(count: int | None) -> int | None:
            return None if count is None else rule(count)

        return self.model_copy(
            update={
                "total": one(self.total),
                "objectors_left_out": one(self.objectors_left_out),
                "by_practice": apply(self.by_practice),
                "by_neighbourhood": apply(self.by_neighbourhood),
                "by_age_band": apply(self.by_age_band),
                "by_sex": apply(self.by_sex),
                "by_imd_decile": apply(self.by_imd_decile),
            }
        )


def population_overview(
    store: PopulationStore,
    neighbourhood: str | None = None,
    exclude: frozenset[int] = frozenset(),
) -> PopulationOverview:
    """Count the registered population at the store's extract date, optionally in one
    neighbourhood (its organisation code), leaving out the people whose person_id is in
    `exclude` (objectors) and counting how many of them were left out.

    Raises StoreError when the store or one of its tables is missing, and
    NeighbourhoodNotFound for a neighbourhood code the area does not have.
    """
    metadata = store.metadata()
    extract_date = _extract_date(metadata, store)
    orgs = _Organisations.read(store)
    scope: Neighbourhood | None = None
    if neighbourhood is not None:
        if neighbourhood not in orgs.neighbourhoods:
            raise NeighbourhoodNotFound(f"the area has no neighbourhood {neighbourhood!r}")
        scope = Neighbourhood(code=neighbourhood, name=orgs.names[neighbourhood])

    every_cell = _count_cells(
        store, extract_date, orgs.practices_in(neighbourhood) if scope else None, exclude
    )
    cells = [cell[:5] for cell in every_cell if not cell[5]]
    left_out = sum(cell[4] for cell in every_cell if cell[5])

    practices = orgs.practices_in(neighbourhood) if scope else orgs.practices
    by_practice: Counter[str] = Counter()
    by_age: Counter[str] = Counter()
    by_sex: Counter[str] = Counter()
    by_imd: Counter[str] = Counter()
    for practice, band, sex, imd, people in cells:
        by_practice[practice] += people
        by_age[AGE_BANDS[band][0]] += people
        by_sex[sex if sex is not None else NOT_KNOWN] += people
        by_imd[str(imd) if imd is not None else NOT_KNOWN] += people

    practice_rows = [
        PracticeCount(
            key=code,
            label=orgs.names.get(code, code),
            count=by_practice[code],
            neighbourhood_code=orgs.neighbourhood_of.get(code),
            neighbourhood_name=orgs.names.get(orgs.neighbourhood_of.get(code) or ""),
        )
        for code in _ordered(practices, by_practice, key=lambda c: orgs.names.get(c, c))
    ]
    by_neighbourhood: Counter[str] = Counter()
    for row in practice_rows:
        by_neighbourhood[row.neighbourhood_code or NO_NEIGHBOURHOOD] += row.count or 0
    neighbourhoods = (
        [scope.code] if scope else sorted(orgs.neighbourhoods, key=lambda c: orgs.names[c])
    )
    neighbourhood_rows = [
        Count(key=code, label=orgs.names.get(code, code), count=by_neighbourhood[code])
        for code in _ordered(neighbourhoods, by_neighbourhood, key=str)
    ]

    return PopulationOverview(
        area_name=str(metadata.get("area_name") or "Unnamed area"),
        extract_date=extract_date,
        synthetic=bool(metadata.get("synthetic", False)),
        seed=metadata.get("seed"),
        neighbourhood=scope,
        neighbourhoods=[
            Neighbourhood(code=code, name=orgs.names[code])
            for code in sorted(orgs.neighbourhoods, key=lambda c: orgs.names[c])
        ],
        total=sum(people for *_, people in cells),
        objectors_left_out=left_out,
        by_practice=practice_rows,
        by_neighbourhood=neighbourhood_rows,
        by_age_band=[Count(key=k, label=label, count=by_age[k]) for k, label, _ in AGE_BANDS],
        by_sex=[
            Count(key=k, label=SEX_LABELS.get(k, k), count=by_sex[k])
            for k in _ordered(list(SEX_LABELS), by_sex, key=str)
        ],
        by_imd_decile=[
            Count(key=k, label=_decile_label(k), count=by_imd[k])
            for k in _ordered([str(d) for d in range(1, 11)], by_imd, key=str)
        ],
    )


def _extract_date(metadata: dict[str, Any], store: PopulationStore) -> date:
    value = metadata.get("extract_date")
    if not value:
        raise StoreError(f"the population store at {store.root} does not say its extract date")
    return date.fromisoformat(str(value)[:10])


def _ordered(expected: Iterable[str], counts: Counter[str], key: Callable[[str], Any]) -> list[str]:
    """The expected groups in order, then any unexpected group that has people."""
    expected = list(expected)
    extra = sorted((k for k in counts if k not in set(expected) and counts[k]), key=key)
    return expected + extra


def _decile_label(key: str) -> str:
    return {"1": "1 (most deprived)", "10": "10 (least deprived)"}.get(key, key)


class _Organisations:
    """The area's organisations, small enough to hold in memory."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.names = {r["org_code"]: r["name"] for r in rows}
        types = {r["org_code"]: r["org_type"] for r in rows}
        self.neighbourhoods = {code for code, kind in types.items() if kind == "neighbourhood"}
        practice_rows = [r for r in rows if r["org_type"] == "practice"]
        self.practices = [
            r["org_code"] for r in sorted(practice_rows, key=lambda r: (r["name"], r["org_code"]))
        ]
        self.neighbourhood_of = {
            r["org_code"]: r["parent_code"]
            for r in practice_rows
            if r["parent_code"] in self.neighbourhoods
        }

    @classmethod
    def read(cls, store: PopulationStore) -> _Organisations:
        return cls(
            [
                {
                    "org_code": o.code,
                    "name": o.name,
                    "org_type": o.org_type,
                    "parent_code": o.parent_code,
                }
                for o in organisations(store).values()
            ]
        )

    def practices_in(self, neighbourhood: str | None) -> list[str]:
        return [p for p in self.practices if self.neighbourhood_of.get(p) == neighbourhood]


def age_band_index(date_of_birth: ibis.DateValue, on: date) -> ibis.IntegerValue:
    """The position in AGE_BANDS of the band of someone born on `date_of_birth`, at `on`.

    Someone is at least k years old on `on` when born on or before the same day k years
    earlier, so each band boundary is one date comparison (cheaper than computing ages).
    """
    steps = (
        (date_of_birth <= ibis.literal(years_before(on, lowest), type="date")).cast("int64")
        for _, _, lowest in AGE_BANDS[1:]
    )
    return sum(steps, start=ibis.literal(0, type="int64"))


def _count_cells(
    store: PopulationStore,
    extract_date: date,
    practices: list[str] | None,
    exclude: frozenset[int] = frozenset(),
) -> list[tuple[str, int, str | None, int | None, int, bool]]:
    """Registered people at the extract date by (practice, age band index, sex, IMD decile,
    excluded), the last being whether their person_id is in `exclude`."""
    for table in ("patients", "registrations"):
        if not store.path(table).is_file():
            raise StoreError(
                f"the population store at {store.root} has no {table} table; "
                "run `joinedup generate` or `joinedup ingest` first"
            )
    con = ibis.duckdb.connect()
    try:
        people = registered_population(
            con.read_parquet(store.path("registrations")),
            con.read_parquet(store.path("patients")),
            extract_date,
        )
        if practices is not None:  # after choosing each person's practice, so views agree
            people = people.filter(people.practice_code.isin(practices))
        if exclude:
            excluded = ibis.memtable(pa.table({"person_id": pa.array(sorted(exclude), pa.int64())}))
            is_excluded = people.person_id.isin(excluded.person_id)
        else:
            is_excluded = ibis.literal(False)
        cells = people.group_by(
            "practice_code",
            band=age_band_index(people.date_of_birth, extract_date),
            sex=people.sex,
            imd=people.imd_decile,
            excluded=is_excluded,
        ).aggregate(people=people.count())
        result = cells.to_pyarrow()
    finally:
        con.disconnect()
    columns = [result.column(n).to_pylist() for n in ("practice_code", "band", "sex", "imd")]
    counts = pc.cast(result.column("people"), "int64").to_pylist()
    excluded_flags = [bool(flag) for flag in result.column("excluded").to_pylist()]
    return list(zip(*columns, counts, excluded_flags, strict=True))
