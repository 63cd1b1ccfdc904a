"""The population overview through an inequalities lens: segments, cost concentration and risk
for each deprivation quintile, ethnic group or age band — for the area, each neighbourhood or
each practice.

Read from the latest stratification run's person results (`joinedup.analytics.stratify`;
ethnicity from the population store's patients table), with everyone who objects to secondary
use left out (`joinedup.governance.objections`). For each lens group:

* people, and the % of them in each segment of a segmentation scheme;
* the % of the unit's cost (12 months) the group accounts for, and its share of the unit's
  **top-5% cost group** (the ⌈5% × n⌉ highest-cost people, ties broken by person_id, as in
  `joinedup.analytics.pareto`), with the % of the group in that top 5%;
* mean and median risk of an emergency admission, and the % of the group in the unit's top 5%
  by risk (same ranking rule);
* for the % in the top 5% (cost and risk): the **rate ratio** against the reference group (the
  least deprived quintile, White, or age 18–39) with its 95% confidence interval by the log
  method (Katz D, et al. Biometrics 1978;34:469-474), and a 95% **Wilson score interval** for
  each group's proportion (Wilson EB. J Am Stat Assoc 1927;22:209-212; recommended by Newcombe
  RG. Stat Med 1998;17:857-872).

Disclosure control (`joinedup.governance.suppression`): every count is published rounded (1–7
withheld, others to the nearest 5); every share, rate, ratio and interval is worked out **from
the published counts**, so nothing withheld can be recovered; a group's cost share and risk
summaries are withheld when its own count is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from joinedup.analytics.stratify import latest_run
from joinedup.errors import UserError
from joinedup.governance.suppression import suppress_count, suppressed_share, withheld_unless
from joinedup.population.reads import organisation_names
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings

LEVELS = ("area", "neighbourhood", "practice")
TOP_PERCENT = 5
Z95 = 1.959963984540054  # the 97.5th centile of the standard normal
NOT_KNOWN = "Not known"
NO_NEIGHBOURHOOD = "No neighbourhood"


class UnknownChoice(UserError, ValueError):
    """A lens, level or scheme this page does not offer."""


@dataclass(frozen=True)
class Lens:
    id: str
    title: str
    groups: tuple[str, ...]  # in display order ("Not known" last, where it can occur)
    reference: str
    assign: Callable[[pd.DataFrame], pd.Series]
    note: str


def _imd_quintile(people: pd.DataFrame) -> pd.Series:
    decile = people["imd_decile"]
    quintile = ((decile + 1) // 2).astype("Int64")
    labels = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}
    return quintile.map(labels).astype(object).where(decile.notna(), NOT_KNOWN)


AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0–17", 0, 17),
    ("18–39", 18, 39),
    ("40–64", 40, 64),
    ("65–79", 65, 79),
    ("80 and over", 80, 200),
)


def _age_band(people: pd.DataFrame) -> pd.Series:
    bands = pd.Series(NOT_KNOWN, index=people.index, dtype=object)
    for label, low, high in AGE_BANDS:
        bands = bands.where(~people["age"].between(low, high), label)
    return bands


def _ethnicity(people: pd.DataFrame) -> pd.Series:
    return people["ethnicity"].fillna("Not stated").astype(object)


LENSES: dict[str, Lens] = {
    lens.id: lens
    for lens in (
        Lens(
            "imd_quintile",
            "Deprivation (IMD 2019 quintile of residence)",
            ("1 (most deprived)", "2", "3", "4", "5 (least deprived)", NOT_KNOWN),
            "5 (least deprived)",
            _imd_quintile,
            "Quintiles of the Index of Multiple Deprivation 2019 of the person's LSOA; rate "
            "ratios are against the least deprived fifth.",
        ),
        Lens(
            "ethnicity",
            "Ethnic group (ONS 2021 high-level categories)",
            ("White", "Asian", "Black", "Mixed", "Other", "Not stated"),
            "White",
            _ethnicity,
            "Ethnic group as recorded by the practice; rate ratios are against the White group, "
            "the largest, as in ONS and NHS England analyses.",
        ),
        Lens(
            "age_band",
            "Age band",
            tuple(label for label, _, _ in AGE_BANDS),
            "18–39",
            _age_band,
            "Age at the run's index date; rate ratios are against people aged 18 to 39.",
        ),
    )
}


@dataclass(frozen=True)
class Proportion:
    """A published count out of a published total, with its share and Wilson 95% interval."""

    count: int | None
    total: int | None
    share: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class RateRatio:
    ratio: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class GroupFigures:
    group: str
    is_reference: bool
    people: int | None
    segments: tuple[tuple[str, float | None], ...]  # (segment id, share of the group)
    cost_share: float | None  # of the unit's cost
    top_cost: Proportion  # the group's people in the unit's top-5% cost group
    top_cost_share: float | None  # the group's share of the top-5% cost group
    top_cost_ratio: RateRatio
    mean_risk: float | None
    median_risk: float | None
    top_risk: Proportion
    top_risk_ratio: RateRatio


@dataclass(frozen=True)
class UnitFigures:
    level: str
    code: str
    name: str
    people: int | None
    groups: tuple[GroupFigures, ...]


@dataclass(frozen=True)
class Segment:
    id: str
    name: str


@dataclass(frozen=True)
class InequalitiesResult:
    lens: Lens
    level: str
    scheme_id: str
    scheme_name: str
    schemes: tuple[tuple[str, str], ...]  # (id, name) of every scheme the run holds
    segments: tuple[Segment, ...]
    run_id: str
    index_date: str
    has_risk: bool
    area: UnitFigures
    units: tuple[UnitFigures, ...]  # the chosen level's units ([] for the area)
    objectors_left_out: int | None


# --- statistics on published counts -------------------------------------------------------------


def wilson_interval(count: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for count/total (Wilson 1927; Newcombe 1998, method 3)."""
    if total <= 0:
        raise ValueError("a proportion needs a total above 0")
    p = count / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_ratio(a: int, n1: int, c: int, n0: int, z: float = Z95) -> RateRatio:
    """(a/n1) ÷ (c/n0) with the Katz log-method interval: exp(ln RR ± z·√(1/a − 1/n1 + 1/c −
    1/n0)). No interval when either count is 0 (the log is undefined)."""
    if n1 <= 0 or n0 <= 0 or c <= 0:
        return RateRatio(None, None, None)
    ratio = (a / n1) / (c / n0)
    if a <= 0:
        return RateRatio(ratio, None, None)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return RateRatio(ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se))


def published_proportion(count: int, total: int) -> Proportion:
    shown, whole = suppress_count(count), suppress_count(total)
    if shown is None or not whole:
        return Proportion(shown, whole, None, None, None)
    low, high = wilson_interval(shown, whole)
    return Proportion(shown, whole, shown / whole, low, high)


def published_ratio(mine: Proportion, reference: Proportion | None) -> RateRatio:
    if reference is None or None in (mine.count, mine.total, reference.count, reference.total):
        return RateRatio(None, None, None)
    assert mine.count is not None and mine.total is not None
    assert reference.count is not None and reference.total is not None
    return rate_ratio(mine.count, mine.total, reference.count, reference.total)


# --- the figures ------------------------------------------------------------------------------


def top_flags(values: pd.Series, person_ids: pd.Series, percent: int = TOP_PERCENT) -> pd.Series:
    """True for the ⌈percent% × n⌉ highest values (ties broken by the lower person_id)."""
    n = len(values)
    if n == 0:
        return pd.Series(False, index=values.index)
    k = math.ceil(percent * n / 100)
    order = pd.DataFrame({"v": values.fillna(-np.inf), "id": person_ids}).sort_values(
        ["v", "id"], ascending=[False, True]
    )
    flags = pd.Series(False, index=values.index)
    flags.loc[order.index[:k]] = True
    return flags


def unit_figures(
    people: pd.DataFrame,
    lens: Lens,
    scheme_id: str,
    segments: tuple[Segment, ...],
    *,
    level: str,
    code: str,
    name: str,
    has_risk: bool,
) -> UnitFigures:
    """One unit's published figures for each lens group. `people` has person_id, cost_12m,
    the scheme column, `_group` and (if has_risk) risk."""
    top_cost = top_flags(people["cost_12m"], people["person_id"])
    top_risk = (
        top_flags(people["risk"], people["person_id"])
        if has_risk
        else pd.Series(False, index=people.index)
    )
    total_cost = float(people["cost_12m"].sum())
    top_cost_total = int(top_cost.sum())
    raw = {}
    for group in lens.groups:
        members = people["_group"] == group
        raw[group] = (
            people[members],
            published_proportion(int(top_cost[members].sum()), int(members.sum())),
            published_proportion(int(top_risk[members].sum()), int(members.sum())),
            int(top_cost[members].sum()),
        )
    reference = raw.get(lens.reference)
    groups = []
    for group in lens.groups:
        members, cost_prop, risk_prop, in_top_cost = raw[group]
        n = len(members)
        counts = members[scheme_id].value_counts()
        cost = float(members["cost_12m"].sum())
        risk = members["risk"] if has_risk else pd.Series(dtype=float)
        groups.append(
            GroupFigures(
                group=group,
                is_reference=group == lens.reference,
                people=suppress_count(n),
                segments=tuple(
                    (s.id, suppressed_share(int(counts.get(s.id, 0)), n)) for s in segments
                ),
                cost_share=withheld_unless(n, cost / total_cost if total_cost > 0 else None),
                top_cost=cost_prop,
                top_cost_share=suppressed_share(in_top_cost, top_cost_total),
                top_cost_ratio=_ratio(group, lens, cost_prop, reference[1] if reference else None),
                mean_risk=withheld_unless(n, _finite(risk.mean()) if has_risk and n else None),
                median_risk=withheld_unless(n, _finite(risk.median()) if has_risk and n else None),
                top_risk=risk_prop if has_risk else Proportion(None, None, None, None, None),
                top_risk_ratio=_ratio(group, lens, risk_prop, reference[2] if reference else None)
                if has_risk
                else RateRatio(None, None, None),
            )
        )
    return UnitFigures(level, code, name, suppress_count(len(people)), tuple(groups))


def _ratio(group: str, lens: Lens, mine: Proportion, reference: Proportion | None) -> RateRatio:
    """The rate ratio against the reference group (1, with no interval, for the group itself)."""
    if group == lens.reference:
        return RateRatio(1.0 if mine.share else None, None, None)
    return published_ratio(mine, reference)


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def choose(lens_id: str | None, level: str | None) -> tuple[Lens, str]:
    lens_id, level = lens_id or "imd_quintile", level or "area"
    if lens_id not in LENSES:
        raise UnknownChoice(f"there is no lens called {lens_id!r}")
    if level not in LEVELS:
        raise UnknownChoice(f"figures are by area, neighbourhood or practice, not {level!r}")
    return LENSES[lens_id], level


def inequalities(
    settings: Settings,
    objectors: frozenset[int],
    lens_id: str | None = None,
    level: str | None = None,
    scheme_id: str | None = None,
) -> InequalitiesResult | None:
    """The lens's figures for the area and each unit of `level` (None: no run yet)."""
    lens, level = choose(lens_id, level)
    run = latest_run(settings)
    if run is None:
        return None
    stored: Mapping[str, dict] = run.metadata.get("segmentations", {})
    schemes = tuple((sid, str(s.get("name", sid))) for sid, s in stored.items())
    scheme_id = scheme_id or (schemes[0][0] if schemes else None)
    if scheme_id is None or scheme_id not in stored:
        raise UnknownChoice(f"the latest run has no segmentation scheme {scheme_id!r}")
    segments = tuple(
        Segment(s["id"], s.get("name", s["id"])) for s in stored[scheme_id]["segments"]
    )
    has_risk = "risk" in run.metadata.get("risk_columns", [])
    columns = ["person_id", "practice_code", "neighbourhood_code", "age", "imd_decile"]
    columns += ["cost_12m", scheme_id] + (["risk"] if has_risk else [])
    people = run.person_results(columns).to_pandas()
    objecting = people["person_id"].isin(list(objectors))
    left_out = int(objecting.sum())
    people = people[~objecting]
    store = PopulationStore(settings.population_dir)
    people = people.merge(_ethnicities(store), on="person_id", how="left")
    people = people.assign(_group=lens.assign(people))
    names = _names(store)

    def figures(members: pd.DataFrame, level: str, code: str, name: str) -> UnitFigures:
        return unit_figures(
            members,
            lens,
            scheme_id,
            segments,
            level=level,
            code=code,
            name=name,
            has_risk=has_risk,
        )

    area_name = str(run.metadata.get("population_store", {}).get("area_name") or "Whole area")
    area = figures(people, "area", "area", area_name)
    units = []
    if level != "area":
        key = f"{level}_code"
        for code, members in people.groupby(people[key].fillna(""), sort=True):
            code = str(code)
            name = names.get(code, code) if code else NO_NEIGHBOURHOOD
            units.append(figures(members, level, code, name))
        units.sort(key=lambda u: u.name)
    return InequalitiesResult(
        lens=lens,
        level=level,
        scheme_id=scheme_id,
        scheme_name=dict(schemes)[scheme_id],
        schemes=schemes,
        segments=segments,
        run_id=run.run_id,
        index_date=run.index_date.isoformat(),
        has_risk=has_risk,
        area=area,
        units=tuple(units),
        objectors_left_out=suppress_count(left_out),
    )


def _ethnicities(store: PopulationStore) -> pd.DataFrame:
    try:
        return store.read("patients", columns=["person_id", "ethnicity"]).to_pandas()
    except StoreError:
        return pd.DataFrame({"person_id": pd.Series(dtype="int64"), "ethnicity": []})


def _names(store: PopulationStore) -> Mapping[str, str]:
    try:
        return organisation_names(store)
    except StoreError:
        return {}


# --- CSV ----------------------------------------------------------------------------------------


def csv_columns(result: InequalitiesResult) -> list[str]:
    return [
        "lens",
        "level",
        "code",
        "name",
        "group",
        "reference",
        "people",
        *(f"segment_{s.id}_share" for s in result.segments),
        "cost_share",
        "top5_cost_people",
        "top5_cost_rate",
        "top5_cost_rate_low95",
        "top5_cost_rate_high95",
        "top5_cost_group_share",
        "top5_cost_rate_ratio",
        "top5_cost_rate_ratio_low95",
        "top5_cost_rate_ratio_high95",
        "mean_risk",
        "median_risk",
        "top5_risk_people",
        "top5_risk_rate",
        "top5_risk_rate_low95",
        "top5_risk_rate_high95",
        "top5_risk_rate_ratio",
        "top5_risk_rate_ratio_low95",
        "top5_risk_rate_ratio_high95",
    ]


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def csv_rows(result: InequalitiesResult) -> list[dict[str, object]]:
    """One row per unit and lens group; withheld figures are None."""
    rows = []
    for unit in [result.area, *result.units]:
        for g in unit.groups:
            row: dict[str, object] = {
                "lens": result.lens.id,
                "level": unit.level,
                "code": unit.code,
                "name": unit.name,
                "group": g.group,
                "reference": "yes" if g.is_reference else "",
                "people": g.people,
                **{f"segment_{sid}_share": _r(share) for sid, share in g.segments},
                "cost_share": _r(g.cost_share),
                "top5_cost_people": g.top_cost.count,
                "top5_cost_rate": _r(g.top_cost.share),
                "top5_cost_rate_low95": _r(g.top_cost.low),
                "top5_cost_rate_high95": _r(g.top_cost.high),
                "top5_cost_group_share": _r(g.top_cost_share),
                "top5_cost_rate_ratio": _r(g.top_cost_ratio.ratio, 3),
                "top5_cost_rate_ratio_low95": _r(g.top_cost_ratio.low, 3),
                "top5_cost_rate_ratio_high95": _r(g.top_cost_ratio.high, 3),
                "mean_risk": _r(g.mean_risk),
                "median_risk": _r(g.median_risk),
                "top5_risk_people": g.top_risk.count,
                "top5_risk_rate": _r(g.top_risk.share),
                "top5_risk_rate_low95": _r(g.top_risk.low),
                "top5_risk_rate_high95": _r(g.top_risk.high),
                "top5_risk_rate_ratio": _r(g.top_risk_ratio.ratio, 3),
                "top5_risk_rate_ratio_low95": _r(g.top_risk_ratio.low, 3),
                "top5_risk_rate_ratio_high95": _r(g.top_risk_ratio.high, 3),
            }
            rows.append(row)
    return rows
