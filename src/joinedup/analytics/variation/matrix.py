"""Practice variation on the area's own data: every indicator for every practice, judged fairly.

For one year end (the 12 months ending on it) and for each indicator of `indicators`:

1. objectors (`governance.objections.active_objectors`) are left out of every count, the area
   rates included;
2. the observed count, the people counted and (for standardised ratios) the expected count of
   each practice are worked out (`standardisation.expected_counts`);
3. counts pass through the small-number rule (`governance.suppression`); ratios, rates and
   shares are worked out **from the published counts**, and so are the funnel positions, so no
   withheld count can be recovered from anything shown;
4. funnel limits at 95% and 99.8% (Spiegelhalter 2005) come from `joinedup.analytics.funnel`,
   optionally adjusted for over-dispersion; a practice's RAG status says where it lies against
   them on the side that is a concern (`rag`).

Peer groups (`peer_groups`): practices of the same neighbourhood or PCN (the practice's parent
organisation), of the same deprivation quintile (the practice's IMD decile, halved), and of a
similar list size (within 25% of the practice's registered people, either way).

Trends: the same figures for every year end with 12 months of data behind it
(`year_ends`: the store's ``history_start`` metadata bounds them), each year standardised to
that year's area rates.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from joinedup.analytics import funnel as fp
from joinedup.analytics.continuity import PracticeContinuity, practice_continuity_from_rows
from joinedup.analytics.variation import kept
from joinedup.analytics.variation.indicators import (
    DOMAINS,
    INDICATORS,
    Domain,
    Indicator,
    indicator,
)
from joinedup.analytics.variation.people import STANDARDISED, indicator_cells, with_strata
from joinedup.analytics.variation.standardisation import STRATA, expected_from_cells
from joinedup.dates import years_before
from joinedup.governance.suppression import suppress_count, suppressed_share
from joinedup.population.reads import extract_date, organisation_names, organisations
from joinedup.population.store import PopulationStore

ADJUSTMENTS: tuple[fp.Adjustment, ...] = ("none", "multiplicative", "additive")
LIST_SIZE_BAND = 0.25
MAX_YEARS = 5


@dataclass(frozen=True)
class PracticeInfo:
    code: str
    name: str
    neighbourhood_code: str  # the parent organisation (neighbourhood or PCN); "" if none
    neighbourhood_name: str
    imd_quintile: int | None  # of the practice population (1 most deprived)
    list_size: int  # registered people less objectors, for peer groups (not shown as is)

    @property
    def list_size_published(self) -> int | None:
        return suppress_count(self.list_size)


@dataclass(frozen=True)
class Rag:
    status: str  # red, amber, within, favourable, higher, lower, none
    words: str
    tag: str  # NHS.UK tag colour modifier ("" for no tag)


@dataclass(frozen=True)
class Figure:
    """One practice on one indicator: published counts and the figures worked out from them."""

    practice_code: str
    people: int | None  # published denominator (people, or consultations for SLICC)
    observed: int | None  # published numerator
    expected: float | None  # standardised ratios only
    value: float | None  # the ratio, share or mean (None when withheld)
    rate_per_1000: float | None = None
    standardised_rate_per_1000: float | None = None
    flag95: int = 0
    flag998: int = 0
    z: float | None = None
    rag: Rag = field(default_factory=lambda: Rag("none", "Withheld", ""))


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    figures: dict[str, Figure]  # by practice code
    target: float | None  # 1 for ratios; the pooled share for proportions
    area_rate_per_1000: float | None  # crude, from published area totals
    adjustment: fp.Adjustment
    phi: float | None
    tau2: float | None
    funnel: fp.FunnelResult | None


@dataclass(frozen=True)
class YearVariation:
    as_of: dt.date
    practices: list[PracticeInfo]
    results: dict[str, IndicatorResult]
    adjustment: fp.Adjustment

    @property
    def domains(self) -> list[tuple[Domain, list[Indicator]]]:
        return [(d, [i for i in INDICATORS if i.domain == d.id]) for d in DOMAINS]

    def practice(self, code: str) -> PracticeInfo | None:
        return next((p for p in self.practices if p.code == code), None)


class UnknownAdjustment(ValueError):
    """An over-dispersion adjustment this module does not offer."""


# --- judging a position against the limits -----------------------------------------------------


def rag(ind: Indicator, flag95: int, flag998: int, withheld: bool = False) -> Rag:
    """The RAG status of a funnel position for an indicator with its direction."""
    if withheld:
        return Rag("none", "Withheld", "")
    if flag95 == 0:
        return Rag("within", "Within limits", "grey")
    side = "higher" if flag95 > 0 else "lower"
    beyond = "99.8%" if flag998 != 0 else "95%"
    if ind.direction == "neutral":
        return Rag(side, f"{side.capitalize()} than expected (beyond {beyond})", "blue")
    concern = (flag95 > 0) == (ind.direction == "high_is_concern")
    if not concern:
        return Rag("favourable", f"{side.capitalize()} (beyond 95%), favourable", "green")
    if flag998 != 0:
        return Rag("red", f"{side.capitalize()} than expected (beyond 99.8%)", "red")
    return Rag("amber", f"{side.capitalize()} than expected (beyond 95%)", "orange")


# --- one indicator -----------------------------------------------------------------------------


def _nan(values: Iterable[int | float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _funnel(
    ind: Indicator,
    codes: list[str],
    numerators: list[int | None],
    denominators: list[float | None],
    adjustment: fp.Adjustment,
) -> fp.FunnelResult | None:
    num, den = _nan(numerators), _nan(denominators)
    usable = np.isfinite(num) & np.isfinite(den) & (den > 0)
    if not usable.any():
        return None
    if ind.kind == "proportion":
        pooled = num[usable].sum() / den[usable].sum()
        if not 0 < pooled < 1:
            return None
    kind: fp.Kind = "proportion" if ind.kind == "proportion" else "ratio"
    return fp.funnel(num, den, kind=kind, adjustment=adjustment)


def standardised_tables(cells: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """People, observed and expected per practice for every standardised indicator, from
    `indicator_cells`, indexed by practice code."""
    found = expected_from_cells(cells, [i.id for i in STANDARDISED])
    return {k: v.set_index("practice_code") for k, v in found.items()}


def standardised_result(
    ind: Indicator, table: pd.DataFrame, codes: list[str], adjustment: fp.Adjustment
) -> IndicatorResult:
    """A standardised-ratio indicator from its `standardised_tables` entry (objectors out)."""
    area_rate = suppressed_share(int(table["observed"].sum()), int(table["people"].sum()))
    rows: dict[str, tuple[int | None, int | None, float | None]] = {}
    for code in codes:
        if code not in table.index:
            rows[code] = (0, 0, None)
            continue
        row = table.loc[code]
        rows[code] = (int(row["people"]), int(row["observed"]), float(row["expected"]))
    observed_pub = [suppress_count(rows[c][1]) for c in codes]
    expected = [
        rows[c][2] if o is not None else None for c, o in zip(codes, observed_pub, strict=True)
    ]
    result = _funnel(ind, codes, observed_pub, expected, adjustment)
    figures = {}
    for i, code in enumerate(codes):
        people_n, observed_n, expected_n = rows[code]
        o_pub = observed_pub[i]
        value = o_pub / expected_n if o_pub is not None and expected_n else None
        crude = suppressed_share(observed_n, people_n)
        figures[code] = _figure(
            ind,
            code,
            result,
            i,
            people=suppress_count(people_n),
            observed=o_pub,
            expected=expected_n,
            value=value,
            rate=crude * 1000 if crude is not None and ind.per_1000 else None,
            standardised=value * area_rate * 1000
            if value is not None and area_rate is not None and ind.per_1000
            else None,
        )
    return IndicatorResult(
        ind,
        figures,
        1.0,
        area_rate * 1000 if area_rate is not None and ind.per_1000 else None,
        adjustment,
        None if result is None else result.phi,
        None if result is None else result.tau2,
        result,
    )


#: Continuity indicator → (numerator, denominator) fields of `PracticeContinuity`.
CONTINUITY_COUNTS: dict[str, tuple[str, str]] = {
    "slicc": ("slicc_with_usual_gp", "slicc_consultations"),
    "upc": ("patients_high_upc", "patients"),
}


def continuity_result(
    ind: Indicator,
    continuity: Mapping[str, PracticeContinuity],
    codes: list[str],
    adjustment: fp.Adjustment,
) -> IndicatorResult:
    """A continuity share per practice, with binomial funnel limits: SLICC (consultations with
    the usual GP of all consultations) or high continuity (patients with UPC ≥ 0.75 of those
    with 3 or more GP consultations). Counts suppressed; each share from unsuppressed counts
    only where both are published (`suppressed_share`)."""
    numerator, denominator = CONTINUITY_COUNTS[ind.id]
    published = {c: continuity[c].published() for c in codes if c in continuity}
    nums = [getattr(published[c], numerator) if c in published else None for c in codes]
    dens = [getattr(published[c], denominator) if c in published else None for c in codes]
    dens = [d if n is not None else None for n, d in zip(nums, dens, strict=True)]
    result = _funnel(ind, codes, nums, [d for d in dens], adjustment)
    figures = {}
    for i, code in enumerate(codes):
        value = (
            suppressed_share(
                getattr(continuity[code], numerator), getattr(continuity[code], denominator)
            )
            if code in published
            else None
        )
        figures[code] = _figure(
            ind, code, result, i, people=dens[i], observed=nums[i], expected=None, value=value
        )
    target = None if result is None else result.target
    return IndicatorResult(
        ind,
        figures,
        target,
        None,
        adjustment,
        None if result is None else result.phi,
        None if result is None else result.tau2,
        result,
    )


def _figure(
    ind: Indicator,
    code: str,
    result: fp.FunnelResult | None,
    i: int,
    *,
    people: int | None,
    observed: int | None,
    expected: float | None,
    value: float | None,
    rate: float | None = None,
    standardised: float | None = None,
) -> Figure:
    usable = result is not None and value is not None and bool(np.isfinite(result.value[i]))
    f95 = int(result.flag95[i]) if usable and result is not None else 0
    f998 = int(result.flag998[i]) if usable and result is not None else 0
    z = float(result.z[i]) if usable and result is not None else None
    withheld = value is None
    return Figure(
        practice_code=code,
        people=people,
        observed=observed,
        expected=expected,
        value=value,
        rate_per_1000=rate,
        standardised_rate_per_1000=standardised,
        flag95=f95,
        flag998=f998,
        z=z,
        rag=rag(ind, f95, f998, withheld=withheld),
    )


# --- the practices -----------------------------------------------------------------------------


def practices(store: PopulationStore, sizes: Mapping[str, int]) -> list[PracticeInfo]:
    """Every practice of the area with its parent, deprivation quintile and list size
    (`sizes`: registered people by practice, objectors left out)."""
    names = organisation_names(store)
    found = []
    for o in organisations(store).values():
        if o.org_type != "practice":
            continue
        parent = o.parent_code or ""
        found.append(
            PracticeInfo(
                code=o.code,
                name=o.name,
                neighbourhood_code=parent,
                neighbourhood_name=names.get(parent, parent),
                imd_quintile=None if o.imd_decile is None else (o.imd_decile + 1) // 2,
                list_size=int(sizes.get(o.code, 0)),
            )
        )
    return sorted(found, key=lambda p: (p.neighbourhood_name, p.name))


@dataclass(frozen=True)
class PeerGroup:
    id: str
    title: str
    members: tuple[str, ...]  # practice codes, the practice itself excluded


def peer_groups(all_practices: list[PracticeInfo], code: str) -> list[PeerGroup]:
    """The practice's peers: same neighbourhood/PCN, same deprivation quintile, similar size."""
    me = next(p for p in all_practices if p.code == code)
    others = [p for p in all_practices if p.code != code]
    low, high = me.list_size * (1 - LIST_SIZE_BAND), me.list_size * (1 + LIST_SIZE_BAND)
    return [
        PeerGroup(
            "neighbourhood",
            f"Same neighbourhood or PCN ({me.neighbourhood_name or 'none'})",
            tuple(
                p.code
                for p in others
                if me.neighbourhood_code and p.neighbourhood_code == me.neighbourhood_code
            ),
        ),
        PeerGroup(
            "deprivation",
            f"Same deprivation quintile ({me.imd_quintile or 'not known'})",
            tuple(
                p.code
                for p in others
                if me.imd_quintile is not None and p.imd_quintile == me.imd_quintile
            ),
        ),
        PeerGroup(
            "list_size",
            "Similar list size (within 25%)",
            tuple(p.code for p in others if low <= p.list_size <= high),
        ),
    ]


@dataclass(frozen=True)
class PeerComparison:
    group: PeerGroup
    value: float | None  # the peers' pooled value (ratio ΣO/ΣE or share Σnum/Σden)
    rank: int | None  # 1 = highest value among the practice and its peers
    of: int


def compare_with_peers(result: IndicatorResult, code: str, group: PeerGroup) -> PeerComparison:
    """The peers' pooled figure (from published counts) and the practice's rank among them."""
    figures = [result.figures[c] for c in group.members if c in result.figures]
    ind = result.indicator
    value: float | None
    if ind.kind == "ratio":
        pairs = [(f.observed, f.expected) for f in figures if f.observed is not None and f.expected]
        e = sum(p[1] for p in pairs if p[1])
        value = sum(p[0] for p in pairs if p[0] is not None) / e if e else None
    else:
        pairs2 = [(f.observed, f.people) for f in figures if f.observed is not None and f.people]
        d = sum(p[1] for p in pairs2 if p[1])
        value = sum(p[0] for p in pairs2 if p[0] is not None) / d if d else None
    mine = result.figures.get(code)
    ranked = [f.value for f in [*figures, mine] if f is not None and f.value is not None]
    rank = None
    if mine is not None and mine.value is not None:
        rank = 1 + sum(1 for v in ranked if v > mine.value)
    return PeerComparison(group, value, rank, len(ranked))


# --- the whole year ----------------------------------------------------------------------------


_CACHE: dict[tuple, YearVariation] = {}
_LOCK = threading.Lock()


def year_ends(store: PopulationStore, as_of: dt.date | None = None) -> list[dt.date]:
    """The year ends with a full 12 months of data, latest first (at most `MAX_YEARS`)."""
    as_of = as_of or extract_date(store)
    start = store.metadata().get("history_start")
    first = dt.date.fromisoformat(str(start)[:10]) if start else as_of
    ends = []
    for k in range(MAX_YEARS):
        end = years_before(as_of, k)
        if end - dt.timedelta(days=365) < first - dt.timedelta(days=1):
            break
        ends.append(end)
    return ends or [as_of]


def check_adjustment(value: str | None) -> fp.Adjustment:
    value = value or "none"
    if value not in ADJUSTMENTS:
        raise UnknownAdjustment(
            f"over-dispersion adjustment must be one of {', '.join(ADJUSTMENTS)}"
        )
    return value  # type: ignore[return-value]


def year_variation(
    store: PopulationStore,
    *,
    objectors: frozenset[int],
    as_of: dt.date | None = None,
    adjustment: fp.Adjustment = "none",
) -> YearVariation:
    """Every indicator for every practice over the 12 months ending `as_of` (default: the
    store's extract date), objectors left out, counts suppressed."""
    as_of = as_of or extract_date(store)
    stamp = kept.fingerprint(store)
    key = (str(store.root), stamp, as_of, hash(objectors), adjustment)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    inputs = _year_inputs(store, stamp, as_of, objectors)
    found = practices(store, inputs.list_sizes)
    codes = [p.code for p in found]
    results = {}
    for ind in INDICATORS:
        if ind.domain == "continuity":
            results[ind.id] = continuity_result(ind, inputs.continuity, codes, adjustment)
        else:
            results[ind.id] = standardised_result(
                ind, inputs.standardised[ind.id], codes, adjustment
            )
    variation = YearVariation(as_of, found, results, adjustment)
    with _LOCK:
        if len(_CACHE) > 4 * MAX_YEARS:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = variation
    return variation


@dataclass(frozen=True)
class _YearInputs:
    """What a year's figures are worked out from, objectors already out: small, so kept in
    memory and on disk (`kept.for_objectors`) for the objections in force."""

    standardised: dict[str, pd.DataFrame]  # standardised_tables
    list_sizes: dict[str, int]
    continuity: dict[str, PracticeContinuity]

    def to_json(self) -> dict[str, Any]:
        return {
            "standardised": {
                k: v.reset_index().to_dict(orient="list") for k, v in self.standardised.items()
            },
            "list_sizes": self.list_sizes,
            "continuity": [asdict(c) for c in self.continuity.values()],
        }

    @classmethod
    def from_json(cls, found: Mapping[str, Any]) -> _YearInputs:
        kinds = {"people": "int64", "observed": "int64", "expected": "float64"}
        tables = {k: pd.DataFrame(v).astype(kinds) for k, v in found["standardised"].items()}
        return cls(
            {
                k: v.astype({"expected": "float64"}).set_index("practice_code")
                for k, v in tables.items()
            },
            {str(k): int(v) for k, v in found["list_sizes"].items()},
            {c["practice_code"]: PracticeContinuity(**c) for c in found["continuity"]},
        )


_INPUTS: dict[tuple, _YearInputs] = {}


def _year_inputs(
    store: PopulationStore, stamp: str, as_of: dt.date, objectors: frozenset[int]
) -> _YearInputs:
    """The year's standardised counts and continuity with objectors out, cached apart from
    the funnel choice (they do not depend on it)."""
    key = (str(store.root), stamp, as_of, hash(objectors))
    with _LOCK:
        if key in _INPUTS:
            return _INPUTS[key]
    inputs = _YearInputs.from_json(
        kept.for_objectors(
            store, as_of, objectors, lambda: _work_out_inputs(store, as_of, objectors).to_json()
        )
    )
    with _LOCK:
        if len(_INPUTS) > 2 * MAX_YEARS:
            _INPUTS.pop(next(iter(_INPUTS)))
        _INPUTS[key] = inputs
    return inputs


def _work_out_inputs(
    store: PopulationStore, as_of: dt.date, objectors: frozenset[int]
) -> _YearInputs:
    cells = _without_objectors(store, as_of, objectors)
    rows = kept.continuity_rows(store, as_of)
    return _YearInputs(
        standardised=standardised_tables(cells),
        list_sizes=_list_sizes(cells),
        continuity={
            c.practice_code: c for c in practice_continuity_from_rows(rows, excluding=objectors)
        },
    )


def _list_sizes(cells: pd.DataFrame) -> dict[str, int]:
    sizes = cells.groupby("practice_code")["registered"].sum()
    return {str(code): int(n) for code, n in sizes.items() if n > 0}


def _without_objectors(
    store: PopulationStore, as_of: dt.date, objectors: frozenset[int]
) -> pd.DataFrame:
    """`indicator_cells` at `as_of` with objectors left out: the area's cells less theirs."""
    cells = kept.cells(store, as_of).to_pandas()
    if not objectors:
        return cells
    theirs = with_strata(kept.people_among(store, as_of, objectors).to_pandas())
    return cells_without(cells, theirs)


def cells_without(cells: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """`indicator_cells` less the cells of `people` (rows of the indicator-people table with
    strata): exactly the cells of everyone else, as the counts are sums."""
    keys = ["practice_code", *STRATA]
    everyone = cells.set_index(keys)
    left_out = indicator_cells(people).set_index(keys).reindex(everyone.index, fill_value=0)
    net = (everyone - left_out).reset_index()
    # A cell of people left out only is dropped: the remaining people's grouping has none.
    return net[net["registered"] > 0].reset_index(drop=True)


def prepare(store: PopulationStore, *, objectors: frozenset[int] = frozenset()) -> None:
    """Work out and keep everything the pages read, for every year end, now: for a step after
    the store is written (generate, ingest, stratify, demo), so that no one waits on a first
    view. `objectors`: those in force, whose figures are kept too."""
    for year_end in year_ends(store):
        kept.prepare(store, [year_end])
        year_variation(store, objectors=objectors, as_of=year_end)


@dataclass(frozen=True)
class TrendPoint:
    year_end: dt.date
    figure: Figure | None


def practice_trend(
    store: PopulationStore,
    code: str,
    *,
    objectors: frozenset[int],
    adjustment: fp.Adjustment = "none",
) -> dict[str, list[TrendPoint]]:
    """Each indicator's figure for the practice at every year end, oldest first."""
    years = sorted(year_ends(store))
    by_year = {
        y: year_variation(store, objectors=objectors, as_of=y, adjustment=adjustment) for y in years
    }
    return {
        ind.id: [TrendPoint(y, by_year[y].results[ind.id].figures.get(code)) for y in years]
        for ind in INDICATORS
    }


# --- the people behind a count -----------------------------------------------------------------


@dataclass(frozen=True)
class CountedPerson:
    person_id: int
    age: int
    sex: str
    count: int  # events counted for them (1 for a condition)


def people_behind(
    store: PopulationStore,
    code: str,
    indicator_id: str,
    *,
    as_of: dt.date | None = None,
    excluding: frozenset[int] = frozenset(),
) -> list[CountedPerson]:
    """The practice's people counted in an indicator's numerator (person-level indicators)."""
    ind = indicator(indicator_id)
    if not ind.drillable:
        raise ValueError(f"{ind.title} is not counted in people")
    people = kept.load_people(store, as_of or extract_date(store))
    mine = people[(people["practice_code"] == code) & (people[ind.events] > 0)]
    if ind.among is not None:
        mine = mine[mine[ind.among] == 1]
    if excluding:
        mine = mine[~mine["person_id"].isin(list(excluding))]
    mine = mine.sort_values([ind.events, "person_id"], ascending=[False, True])
    return [
        CountedPerson(int(r.person_id), int(r.age), str(r.sex), int(getattr(r, ind.events)))
        for r in mine.itertuples(index=False)
    ]
