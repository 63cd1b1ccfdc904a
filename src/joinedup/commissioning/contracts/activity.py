"""Who is in a contract's cohort, when, and what care they had: read from the population store.

Membership: the cohort rule is applied to the person summary on the day before each contract
year (registered and alive at the end of that day), so the cohort is refreshed yearly. A member
counts from the first day of the year to its last day, or to the day they die or their
registration in the area ends (moves away), inclusive; a change of practice inside the area is
not leaving. People meeting the rule at a refresh who were not members the year before are
joiners.

Activity is the cohort's own, on the days each person was a member, by the date it is priced on
(admission, arrival, appointment, contact or issue date); social care packages are split over
the days of each month they ran. Everything but that split and the registration chains runs as
Ibis on the engine seam (DuckDB by default); the results are small aggregates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import ibis
import numpy as np
import pandas as pd

from joinedup.analytics.engine import read_store
from joinedup.analytics.person_summary import TABLES, person_summary
from joinedup.analytics.scores import efi
from joinedup.analytics.segmentation import Condition, Group
from joinedup.commissioning.contracts.definition import Contract
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore

Rows = Callable[[dict[str, ibis.Table]], ibis.Table]
STORE_TABLES = tuple(TABLES)
MEMBERSHIP_COLUMNS = (
    "person_id",
    "year",
    "first_day",
    "last_day",
    "left_how",  # "died", "moved" or "" (still a member at the year's end)
    "age",
    "sex",
    "need",
)


def _row(t: ibis.Table, day: ibis.Value, *, bed_days: ibis.Value | None = None) -> ibis.Table:
    zero = ibis.literal(0.0)
    return t.select(
        person_id=t.person_id.cast("int64"),
        day=day.cast("date"),
        units=ibis.literal(1.0),
        bed_days=zero if bed_days is None else bed_days.cast("float64"),
        cost=t.cost.cast("float64"),
    )


def _spells(method: str) -> Rows:
    def rows(tables: dict[str, ibis.Table]) -> ibis.Table:
        t = tables["hospital_spells"]
        t = t.filter(t.admission_method == method)
        return _row(t, t.admission_date, bed_days=t.length_of_stay)

    return rows


def _ae(tables: dict[str, ibis.Table]) -> ibis.Table:
    t = tables["ae_attendances"]
    return _row(t, t.arrival_date)


def _outpatients(tables: dict[str, ibis.Table]) -> ibis.Table:
    t = tables["outpatient_appointments"]
    return _row(t.filter(t.attended), t.appointment_date)


def _community(social_care: bool) -> Rows:
    def rows(tables: dict[str, ibis.Table]) -> ibis.Table:
        t = tables["community_contacts"]
        wanted = t.service == "social_care"
        return _row(t.filter(wanted if social_care else ~wanted), t.contact_date)

    return rows


def _prescribing(tables: dict[str, ibis.Table]) -> ibis.Table:
    t = tables["medications"]
    return _row(t, t.issue_date)


def _gp(tables: dict[str, ibis.Table]) -> ibis.Table:
    t = tables["gp_appointments"]
    return _row(t.filter(t.attended), t.appointment_date)


# service → its rows (person_id, day, units, bed_days, cost); care packages are split by month.
ACTIVITY: dict[str, Rows] = {
    "emergency_admissions": _spells("emergency"),
    "elective_admissions": _spells("elective"),
    "ae_attendances": _ae,
    "outpatients": _outpatients,
    "community": _community(social_care=False),
    "social_care_contacts": _community(social_care=True),
    "prescribing": _prescribing,
    "gp_appointments": _gp,
}
# Outcome measure → its rows (the value counted is `units`, or `bed_days`).
OUTCOME_ROWS: dict[str, tuple[Rows, str]] = {
    "emergency_admissions": (_spells("emergency"), "units"),
    "emergency_bed_days": (_spells("emergency"), "bed_days"),
    "ae_attendances": (_ae, "units"),
}


def store_tables(con: ibis.BaseBackend, store: PopulationStore) -> dict[str, ibis.Table]:
    return read_store(con, store, list(STORE_TABLES))


# --- membership ---------------------------------------------------------------------------------


# Person-summary columns a lean summary gives by the same rules and defaults as `person_summary`
# (tests/unit/test_capitated_contract_ledger.py holds the two together on the small area): most
# cohort rules need only these, and the whole summary takes several times as long.
LEAN_COLUMNS = frozenset(
    {
        "person_id",
        "practice_code",
        "age",
        "sex",
        "imd_decile",
        "care_home",
        "housebound",
        "efi_deficits",
        "efi_score",
        "efi_category",
    }
)


def rule_columns(contract: Contract) -> set[str]:
    """The person-summary columns the cohort rule and the need weight read."""
    columns = {contract.capitation.need_column, "person_id", "age", "sex"}
    pending: list[Condition] = list(
        contract.cohort_scheme.segment(contract.cohort_segment).conditions
    )
    for segment in contract.cohort_scheme.segments:  # earlier segments decide too
        pending.extend(segment.conditions)
    while pending:
        condition = pending.pop()
        if isinstance(condition, Group):
            pending.extend(condition.conditions)
        else:
            columns.add(condition.column)
    return columns


def lean_summary(tables: dict[str, ibis.Table], day: dt.date) -> ibis.Table:
    """The person summary's demographic and eFI columns only (same rules, same defaults)."""
    people = registered_population(tables["registrations"], tables["patients"], day)
    flags = tables["patients"].select("person_id", "care_home", "housebound")
    frailty = efi.from_store(tables, day)
    frailty = frailty.select(
        "person_id",
        efi_deficits=frailty.deficits,
        efi_score=frailty.efi,
        efi_category=frailty.category,
    )
    t = people.left_join(flags, "person_id").drop("person_id_right")
    t = t.left_join(frailty, "person_id").drop("person_id_right")
    return t.select(
        person_id=t.person_id.cast("int64"),
        practice_code=t.practice_code,
        age=t.age.cast("int64"),
        sex=t.sex,
        imd_decile=t.imd_decile.cast("int64"),
        care_home=t.care_home.fill_null(False),
        housebound=t.housebound.fill_null(False),
        efi_deficits=t.efi_deficits.fill_null(0).cast("int64"),
        efi_score=t.efi_score.fill_null(0.0).cast("float64"),
        efi_category=t.efi_category.fill_null("fit"),
    )


def cohort_on(tables: dict[str, ibis.Table], contract: Contract, day: dt.date) -> pd.DataFrame:
    """The people meeting the contract's cohort rule at the end of `day`, with what their
    capitation is weighted by: person_id, age, sex, need (the need-weight category)."""
    lean = rule_columns(contract) <= LEAN_COLUMNS
    summary = lean_summary(tables, day) if lean else person_summary(tables, day)
    need = contract.capitation.need_column
    scheme = contract.cohort_scheme
    t = summary.filter(scheme.expression(summary) == contract.cohort_segment)
    t = t.select("person_id", "age", "sex", need=t[need])
    return t.to_pandas().sort_values("person_id", ignore_index=True)


def membership(
    tables: dict[str, ibis.Table],
    contract: Contract,
    until: dt.date,
    leave_out: Iterable[int] = (),
    history_start: dt.date | None = None,
) -> pd.DataFrame:
    """One row per member and contract year begun on or before `until` (the extract date).
    Year 0 is the baseline year: the same rule applied a year before the contract starts and
    followed the same way, for the outcome measures; it is left out when the store's history
    (from `history_start`) does not cover it."""
    excluded = set(leave_out)
    years = []
    first_year = 0 if history_start is None or contract.year_start(0) >= history_start else 1
    for year in range(first_year, contract.years + 1):
        start = contract.year_start(year)
        if start > until:
            break
        cohort = cohort_on(tables, contract, start - dt.timedelta(days=1))
        cohort = cohort[~cohort["person_id"].isin(excluded)].copy()
        cohort["year"] = year
        years.append(cohort)
    if not years:
        return pd.DataFrame(columns=list(MEMBERSHIP_COLUMNS))
    members = pd.concat(years, ignore_index=True)
    members["first_day"] = members["year"].map(lambda y: contract.year_start(int(y)))
    # A year not over yet runs to the extract date: nothing after it is known.
    year_last = members["year"].map(lambda y: min(contract.year_end(int(y)), until))
    members = members.merge(_spans(tables, members), on=["person_id", "year"], how="left")
    death = members["date_of_death"]
    leave = members["registered_to"]
    died = death.notna() & (death <= year_last) & (leave.isna() | (death <= leave))
    moved = ~died & leave.notna() & (leave <= year_last)
    members["last_day"] = np.where(died, death, np.where(moved, leave, year_last))
    members["left_how"] = np.where(died, "died", np.where(moved, "moved", ""))
    members["last_day"] = pd.to_datetime(members["last_day"]).dt.date
    return members[list(MEMBERSHIP_COLUMNS)].sort_values(["year", "person_id"], ignore_index=True)


def _spans(tables: dict[str, ibis.Table], members: pd.DataFrame) -> pd.DataFrame:
    """Each member-year's unbroken registration in the area around the year's first day (a
    change of practice inside the area does not break it), and the date of death."""
    ids = ibis.memtable(pd.DataFrame({"person_id": members["person_id"].unique()}))
    regs = tables["registrations"]
    regs = regs.join(ids, "person_id").select("person_id", "start_date", "end_date")
    regs_frame = regs.to_pandas().sort_values(["person_id", "start_date"])
    patients = tables["patients"].join(ids, "person_id").select("person_id", "date_of_death")
    deaths_frame = patients.to_pandas()
    deaths = dict(
        zip(deaths_frame["person_id"], _dates(deaths_frame["date_of_death"]), strict=True)
    )
    by_person: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    for pid, start, end in zip(
        regs_frame["person_id"],
        _dates(regs_frame["start_date"]),
        _dates(regs_frame["end_date"]),
        strict=True,
    ):
        by_person.setdefault(int(pid), []).append((start, end))  # type: ignore[arg-type]
    rows = []
    for pid, year_start in zip(members["person_id"], members["first_day"], strict=True):
        frm, to = _chain(by_person.get(int(pid), []), year_start)
        rows.append((pid, frm, to, deaths.get(int(pid))))
    spans = pd.DataFrame(
        rows, columns=["person_id", "registered_from", "registered_to", "date_of_death"]
    )
    spans["year"] = members["year"].to_numpy()
    return spans


def _dates(values: pd.Series) -> list[dt.date | None]:
    """A column of dates as `datetime.date`, missing as None (engines return timestamps)."""
    return [None if pd.isna(v) else pd.Timestamp(v).date() for v in values]


def _chain(
    registrations: list[tuple[dt.date, dt.date | None]], day: dt.date
) -> tuple[dt.date, dt.date | None]:
    """The first and last day of the unbroken run of registrations covering `day` (last: None
    while registered); a registration starting by the day after another ends continues it."""
    frm: dt.date | None = None
    to: dt.date | None = None
    for start, end in registrations:  # sorted by start
        if frm is None:
            if start <= day and (end is None or end >= day):
                frm, to = start, end
        elif to is not None and start <= to + dt.timedelta(days=1):
            to = None if end is None else max(to, end)
        if frm is not None and to is None:
            break
    if frm is None:  # registered the day before by the cohort rule, so this cannot happen
        return day, day
    for start, end in sorted(registrations, key=lambda r: r[0], reverse=True):
        if start < frm and end is not None and end >= frm - dt.timedelta(days=1):
            frm = start
    return frm, to


# --- activity ---------------------------------------------------------------------------------


def _member_days(members: pd.DataFrame) -> ibis.Table:
    frame = members[["person_id", "year", "first_day", "last_day"]].copy()
    frame["first_day"] = pd.to_datetime(frame["first_day"])
    frame["last_day"] = pd.to_datetime(frame["last_day"])
    return ibis.memtable(frame)


def monthly_activity(
    tables: dict[str, ibis.Table], members: pd.DataFrame, services: Iterable[str]
) -> pd.DataFrame:
    """Per contract year, calendar month and service: units, bed days and recorded cost of the
    members' activity on the days they were members."""
    wanted = [s for s in services if s in ACTIVITY]
    parts = []
    if wanted and len(members):
        rows = ibis.union(
            *[ACTIVITY[s](tables).mutate(service=ibis.literal(s)) for s in wanted], distinct=False
        )
        span = _member_days(members)
        joined = rows.join(
            span,
            [
                rows.person_id == span.person_id,
                rows.day >= span.first_day.cast("date"),
                rows.day <= span.last_day.cast("date"),
            ],
        )
        grouped = joined.group_by(
            year=joined.year,
            calendar_year=joined.day.year(),
            calendar_month=joined.day.month(),
            service=joined.service,
        ).aggregate(
            units=joined.units.sum(), bed_days=joined.bed_days.sum(), cost=joined.cost.sum()
        )
        parts.append(grouped.to_pandas())
    if "care_packages" in services and len(members):
        parts.append(_care_packages(tables, members))
    columns = ["year", "calendar_year", "calendar_month", "service", "units", "bed_days", "cost"]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True)[columns]
    return frame.astype({"year": int, "calendar_year": int, "calendar_month": int})


def _care_packages(tables: dict[str, ibis.Table], members: pd.DataFrame) -> pd.DataFrame:
    """Package-weeks and cost (weekly cost × days / 7) per month of each package's days inside
    the members' membership; an open package runs on."""
    t = tables["care_packages"]
    span = _member_days(members)
    joined = t.join(span, t.person_id == span.person_id)
    joined = joined.filter(
        (joined.start_date <= joined.last_day.cast("date"))
        & (joined.end_date.isnull() | (joined.end_date >= joined.first_day.cast("date")))
    )
    rows = joined.select(
        "year", "start_date", "end_date", "weekly_cost", "first_day", "last_day"
    ).to_pandas()
    out: dict[tuple[int, int, int], list[float]] = {}
    for year, starts, ends, weekly, member_from, member_to in zip(
        rows["year"],
        _dates(rows["start_date"]),
        _dates(rows["end_date"]),
        rows["weekly_cost"],
        _dates(rows["first_day"]),
        _dates(rows["last_day"]),
        strict=True,
    ):
        first = max(starts, member_from)  # type: ignore[type-var]
        last = member_to if ends is None else min(ends, member_to)  # type: ignore[type-var]
        day = dt.date(first.year, first.month, 1)
        while day <= last:
            following = _next_month(day)
            days = (min(last, following - dt.timedelta(days=1)) - max(first, day)).days + 1
            entry = out.setdefault((int(year), day.year, day.month), [0.0, 0.0])
            entry[0] += days / 7
            entry[1] += float(weekly) * days / 7
            day = following
    return pd.DataFrame(
        [
            (year, cy, cm, "care_packages", weeks, 0.0, cost)
            for (year, cy, cm), (weeks, cost) in sorted(out.items())
        ],
        columns=["year", "calendar_year", "calendar_month", "service", "units", "bed_days", "cost"],
    )


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def outcome_counts(tables: dict[str, ibis.Table], members: pd.DataFrame) -> pd.DataFrame:
    """Per year (0, the baseline year, included) and outcome measure: the members' count while
    they were members: year, measure, value."""
    if not len(members):
        return pd.DataFrame(columns=["year", "measure", "value"])
    span = _member_days(members)
    parts = []
    for measure, (rows_of, value) in OUTCOME_ROWS.items():
        rows = rows_of(tables)
        joined = rows.join(
            span,
            [
                rows.person_id == span.person_id,
                rows.day >= span.first_day.cast("date"),
                rows.day <= span.last_day.cast("date"),
            ],
        )
        counted = joined.group_by("year").aggregate(value=joined[value].sum())
        parts.append(counted.to_pandas().assign(measure=measure))
    return pd.concat(parts, ignore_index=True)[["year", "measure", "value"]]
