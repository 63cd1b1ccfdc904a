"""The shadow budget ledger: month by month, the cohort's capitated budget against its activity
priced at the contract's tariff, by setting; then each year's reconciliation statement.

Budget. Each member's yearly capitation is the year's base rate × their age-sex weight × each of
their need weights (weighted capitation in the manner of the NHS England fair-shares formula: an
age-sex cost curve times additional-need adjustments; the contract cites each set of weights, see
its `capitation` and ADR 0024, 0036), rounded to pence. A month's budget for a member is
a twelfth of it × the share of the month's days they were a member.

Spend. Each service's units × its unit price (+ bed days × the bed-day price for admissions), or
its recorded cost where the tariff says so. Only whole months up to the extract date count; a
year not yet over is marked provisional.

`assemble` is the pure part (tested by hand-priced known answers); `build_ledger` reads the
store on the engine seam and calls it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from joinedup.analytics.engine import connect
from joinedup.commissioning.contracts import activity
from joinedup.commissioning.contracts.definition import (
    Contract,
    ContractError,
    OutcomeMeasure,
    RiskShare,
)
from joinedup.commissioning.contracts.risk_share import Settlement, settle
from joinedup.population.reads import extract_date
from joinedup.population.store import PopulationStore


@dataclass(frozen=True)
class LedgerMonth:
    year: int  # contract year, 1, 2, …
    month: dt.date  # its first day
    member_months: float  # members × share of the month's days they were members
    budget: float
    spend: dict[str, float]  # service → £
    units: dict[str, float]  # service → units (admissions: spells; packages: weeks)

    @property
    def total_spend(self) -> float:
        return round(sum(self.spend.values()), 2)

    @property
    def variance(self) -> float:
        return round(self.budget - self.total_spend, 2)


@dataclass(frozen=True)
class OutcomeResult:
    measure: OutcomeMeasure
    baseline_rate: float | None  # per 1,000 member-years in the baseline year (year 0)
    rate: float | None  # per 1,000 member-years in the year
    change: float | None  # relative change, rate / baseline − 1
    met: bool
    available: float  # £ of the value at risk this measure carries
    earned: float  # £
    reason: str  # in plain words, why earned or not


@dataclass(frozen=True)
class Movement:
    members_at_start: int
    joiners: int  # members this year who were not members the year before
    no_longer_eligible: int  # members last year (who did not leave) not meeting the rule now
    died: int
    moved: int


@dataclass(frozen=True)
class YearStatement:
    year: int
    first_day: dt.date
    last_day: dt.date
    months: int  # whole months in the ledger (12 once the year is over)
    complete: bool
    base_rate: float
    member_years: float
    movement: Movement
    budget: float
    spend: dict[str, float]  # service → £
    units: dict[str, float]
    settlement: Settlement
    value_at_risk: float  # £ withheld against outcomes
    outcomes: tuple[OutcomeResult, ...]

    @property
    def total_spend(self) -> float:
        return round(sum(self.spend.values()), 2)

    @property
    def outcome_payments(self) -> float:
        return round(sum(o.earned for o in self.outcomes), 2)

    @property
    def payable(self) -> float:
        """What the commissioner pays the provider for the year: the settled value, less the
        value at risk withheld, plus the outcome payments earned."""
        return round(self.settlement.settled_value - self.value_at_risk + self.outcome_payments, 2)


@dataclass(frozen=True)
class Ledger:
    contract: Contract
    extract_date: dt.date
    months: tuple[LedgerMonth, ...]
    years: tuple[YearStatement, ...]
    left_out: int = 0  # people left out (objectors), counted, never named
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(t.service for t in self.contract.tariffs)


# --- reading the store --------------------------------------------------------------------------


def build_ledger(
    store: PopulationStore, contract: Contract, leave_out: Iterable[int] = ()
) -> Ledger:
    """The contract's ledger on this store: membership and activity read with Ibis on DuckDB."""
    extract = extract_date(store)
    excluded = frozenset(leave_out)
    con = connect("duckdb")
    try:
        tables = activity.store_tables(con, store)
        history = store.metadata().get("history_start")
        members = activity.membership(
            tables,
            contract,
            extract,
            excluded,
            None if history is None else dt.date.fromisoformat(str(history)[:10]),
        )
        used = activity.monthly_activity(
            tables, members[members["year"] >= 1], [t.service for t in contract.tariffs]
        )
        outcomes = activity.outcome_counts(tables, members)
    finally:
        con.disconnect()
    return assemble(contract, extract, members, used, outcomes, left_out=len(excluded))


# --- the pure part ------------------------------------------------------------------------------


def annual_capitation(contract: Contract, members: pd.DataFrame) -> np.ndarray:
    """Each member-year's capitation in £: base rate × age-sex weight × each need weight,
    rounded to pence."""
    cap = contract.capitation
    age = members["age"].to_numpy(dtype=np.int64)
    female = (members["sex"] == "F").to_numpy()
    age_sex = np.full(len(members), np.nan)
    for band in cap.age_sex:
        inside = (age >= band.age_from) & (True if band.age_to is None else age <= band.age_to)
        age_sex = np.where(inside, np.where(female, band.female, band.male), age_sex)
    if np.isnan(age_sex).any():
        youngest = int(age[np.isnan(age_sex)].min())
        raise ContractError(
            f"contract {contract.name}: no age-sex weight covers age {youngest}, yet the cohort "
            "rule lets such people in: start the first age band lower"
        )
    need = np.ones(len(members))
    for factor in cap.needs:
        weights = members[factor.column].astype("string").map(dict(factor.weights))
        need = need * weights.astype("Float64").fillna(1.0).to_numpy(dtype=float)
    rates = {int(y): cap.base_rate_in(int(y)) for y in members["year"].unique()}
    base = members["year"].map(rates).to_numpy(dtype=float)
    return np.round(base * age_sex * need, 2)


def ledger_months(contract: Contract, extract: dt.date) -> list[tuple[int, dt.date]]:
    """(contract year, first day of month) of every whole month of the contract by `extract`."""
    months: list[tuple[int, dt.date]] = []
    for year in range(1, contract.years + 1):
        day = contract.year_start(year)
        while day <= contract.year_end(year):
            following = _next_month(day)
            if following - dt.timedelta(days=1) > extract:
                return months
            months.append((year, day))
            day = following
    return months


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _covered_days(first: np.ndarray, last: np.ndarray, month: dt.date) -> np.ndarray:
    """Days of `month` each member-year was a member (`first`, `last`: datetime64[D] days)."""
    month_first = np.datetime64(month, "D")
    month_last = np.datetime64(_next_month(month), "D") - np.timedelta64(1, "D")
    days = np.minimum(last, month_last) - np.maximum(first, month_first)
    return np.clip(days.astype(np.int64) + 1, 0, None)


def assemble(
    contract: Contract,
    extract: dt.date,
    members: pd.DataFrame,
    used: pd.DataFrame,
    outcome_counts: pd.DataFrame,
    *,
    left_out: int = 0,
) -> Ledger:
    """The ledger from membership (activity.MEMBERSHIP_COLUMNS), monthly activity (year,
    calendar_year, calendar_month, service, units, bed_days, cost) and outcome counts (year,
    measure, period, value)."""
    capitation = annual_capitation(contract, members) if len(members) else np.array([])
    first = np.array(list(members["first_day"]), dtype="datetime64[D]")
    last = np.array(list(members["last_day"]), dtype="datetime64[D]")
    member_year = members["year"].to_numpy(dtype=np.int64)
    months = []
    for year, month in ledger_months(contract, extract):
        rows = member_year == year
        days_in_month = calendar.monthrange(month.year, month.month)[1]
        covered = _covered_days(first[rows], last[rows], month)
        budget = float(np.sum(capitation[rows] / 12 * covered / days_in_month))
        spend, units = _priced(contract, used, year, month)
        months.append(
            LedgerMonth(
                year=year,
                month=month,
                member_months=round(float(np.sum(covered)) / days_in_month, 2),
                budget=round(budget, 2),
                spend=spend,
                units=units,
            )
        )
    years = tuple(
        _statement(contract, year, months, members, capitation, outcome_counts, contract.risk_share)
        for year in sorted({m.year for m in months})
    )
    return Ledger(contract, extract, tuple(months), years, left_out)


def _priced(
    contract: Contract, used: pd.DataFrame, year: int, month: dt.date
) -> tuple[dict[str, float], dict[str, float]]:
    here = used[
        (used["year"] == year)
        & (used["calendar_year"] == month.year)
        & (used["calendar_month"] == month.month)
    ]
    spend: dict[str, float] = {}
    units: dict[str, float] = {}
    for tariff in contract.tariffs:
        rows = here[here["service"] == tariff.service]
        count = float(rows["units"].sum())
        if tariff.price is None:
            amount = float(rows["cost"].sum())
        else:
            amount = count * tariff.price + float(rows["bed_days"].sum()) * tariff.bed_day_price
        spend[tariff.service] = round(amount, 2)
        units[tariff.service] = round(count, 2)
    return spend, units


def _statement(
    contract: Contract,
    year: int,
    months: list[LedgerMonth],
    members: pd.DataFrame,
    capitation: np.ndarray,
    outcome_counts: pd.DataFrame,
    terms: RiskShare,
) -> YearStatement:
    mine = [m for m in months if m.year == year]
    budget = round(sum(m.budget for m in mine), 2)
    spend = {s: round(sum(m.spend[s] for m in mine), 2) for s in mine[0].spend}
    units = {s: round(sum(m.units[s] for m in mine), 2) for s in mine[0].units}
    member_years = round(sum(m.member_months for m in mine) / 12, 2)
    settlement = settle(budget, sum(spend.values()), terms)
    value_at_risk = round(contract.outcomes.value_at_risk * budget, 2)
    complete = len(mine) == 12
    return YearStatement(
        year=year,
        first_day=contract.year_start(year),
        last_day=contract.year_end(year),
        months=len(mine),
        complete=complete,
        base_rate=contract.capitation.base_rate_in(year),
        member_years=member_years,
        movement=_movement(members, year),
        budget=budget,
        spend=spend,
        units=units,
        settlement=settlement,
        value_at_risk=value_at_risk,
        outcomes=_outcomes(contract, year, members, outcome_counts, value_at_risk, complete),
    )


def _movement(members: pd.DataFrame, year: int) -> Movement:
    now = members[members["year"] == year]
    before = members[members["year"] == year - 1]
    stayed_before = set(before.loc[before["left_how"] == "", "person_id"])
    current = set(now["person_id"])
    later = year > 1  # the baseline year's cohort is not the contract's
    return Movement(
        members_at_start=len(now),
        joiners=len(current - set(before["person_id"])) if later else 0,
        no_longer_eligible=len(stayed_before - current) if later else 0,
        died=int((now["left_how"] == "died").sum()),
        moved=int((now["left_how"] == "moved").sum()),
    )


def member_years(first: Iterable[dt.date], last: Iterable[dt.date]) -> float:
    """Person-years between inclusive first and last days (365.25 days a year)."""
    days = np.array(list(last), dtype="datetime64[D]") - np.array(
        list(first), dtype="datetime64[D]"
    )
    return float(np.clip(days.astype(np.int64) + 1, 0, None).sum()) / 365.25


def _outcomes(
    contract: Contract,
    year: int,
    members: pd.DataFrame,
    counts: pd.DataFrame,
    value_at_risk: float,
    complete: bool,
) -> tuple[OutcomeResult, ...]:
    """Each measure's rate per 1,000 member-years in `year` against the baseline year's (year
    0: the same rule applied a year before the contract, followed the same way)."""
    years_in = _member_years_of(members, year)
    years_before = _member_years_of(members, 0)
    results = []
    for measure in contract.outcomes.measures:
        available = round(value_at_risk * measure.share, 2)
        here = counts[counts["measure"] == measure.measure]
        count = float(here.loc[here["year"] == year, "value"].sum())
        before = float(here.loc[here["year"] == 0, "value"].sum())
        rate = 1000 * count / years_in if years_in else None
        baseline = 1000 * before / years_before if years_before else None
        if rate is None or not baseline:
            why = (
                "no baseline year in the store"
                if not years_before
                else "no events in the baseline year"
            )
            results.append(OutcomeResult(measure, baseline, rate, None, False, available, 0.0, why))
            continue
        change = rate / baseline - 1
        met = change <= measure.target_change
        reason = (
            f"{change:+.1%} against a target of {measure.target_change:+.1%}: "
            + ("met" if met else "not met")
            + ("" if complete else " so far (the year is not over)")
        )
        results.append(
            OutcomeResult(
                measure,
                round(baseline, 1),
                round(rate, 1),
                change,
                met,
                available,
                available if met else 0.0,
                reason,
            )
        )
    return tuple(results)


def _member_years_of(members: pd.DataFrame, year: int) -> float:
    rows = members[members["year"] == year]
    return member_years(rows["first_day"], rows["last_day"])


def what_if(ledger: Ledger, terms: RiskShare) -> tuple[Settlement, ...]:
    """Each year's settlement under other risk-share terms (nothing is read again)."""
    return tuple(settle(y.budget, y.total_spend, terms) for y in ledger.years)
