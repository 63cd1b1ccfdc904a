"""Who is in a contract's cohort, when, and what care they had: read from the population store.

Membership: the cohort rule is applied to the person summary on the day before each contract
year (registered and alive at the end of that day), so the cohort is refreshed yearly. A member
counts from the first day of the year to its last day, or to the day they die or their
registration in the area ends (moves away), inclusive; a change of practice inside the area is
not leaving. People meeting the rule at a refresh who were not members the year before are
joiners.

Activity is the cohort's own, on the days each person was a member, by the date it is priced on
(admission, arrival, appointment, contact or issue date); social care packages are split over
the days of each month they ran. Everything, the registration runs and that split included, runs
as Ibis on the engine seam (DuckDB by default); the results are small aggregates, and no step
loops over people in Python.
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
from joinedup.analytics.segmentation import Comparison, Condition, Group, condition_expression
from joinedup.commissioning.contracts.definition import Contract
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore

Rows = Callable[[dict[str, ibis.Table]], ibis.Table]
ACTIVITY_COLUMNS = (
    "year",
    "calendar_year",
    "calendar_month",
    "service",
    "units",
    "bed_days",
    "cost",
)
FAR_FUTURE = dt.date(9999, 12, 31)  # an open registration's end, while runs are joined
STORE_TABLES = tuple(TABLES)
MEMBERSHIP_COLUMNS = (
    "person_id",
    "year",
    "first_day",
    "last_day",
    "left_how",  # "died", "moved" or "" (still a member at the year's end)
    "age",
    "sex",
)  # then the need-weight columns, `contract.capitation.need_columns`


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
    """The person-summary columns the cohort rule and the need weights read."""
    columns = {*contract.capitation.need_columns, "person_id", "age", "sex"}
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


# Columns of the registered population known before any score, so a rule's conditions on them
# can narrow who the eFI is computed for.
_BEFORE_SCORES = frozenset({"practice_code", "age", "sex", "imd_decile"})


def lean_summary(
    tables: dict[str, ibis.Table], day: dt.date, necessary: Iterable[Condition] = ()
) -> ibis.Table:
    """The person summary's demographic and eFI columns only (same rules, same defaults).

    `necessary`: conditions on registered-population columns (age, sex, IMD decile, practice)
    that everyone wanted meets; the summary then holds only those people, and their eFI is
    computed from their own records alone, which is the same for them and a fraction of the
    work (the cohort is usually 65+)."""
    people = registered_population(tables["registrations"], tables["patients"], day)
    wanted = [c for c in necessary if isinstance(c, Comparison) and c.column in _BEFORE_SCORES]
    if wanted:
        people = people.filter(*[condition_expression(c, people) for c in wanted])
        ids = people.select(person_id=people.person_id.cast("int64"))
        tables = {
            **tables,
            "clinical_events": _among(tables["clinical_events"], ids),
            **(
                {"medications": _among(tables["medications"], ids)}
                if "medications" in tables
                else {}
            ),
        }
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


def _among(rows: ibis.Table, ids: ibis.Table) -> ibis.Table:
    return rows.semi_join(ids, rows.person_id.cast("int64") == ids.person_id)


def necessary_conditions(contract: Contract) -> tuple[Condition, ...]:
    """Conditions every cohort member meets: the cohort segment's own, unless it is the
    scheme's last segment (which takes everyone the earlier ones leave, whatever it says)."""
    scheme = contract.cohort_scheme
    if scheme.segments[-1].id == contract.cohort_segment:
        return ()
    return scheme.segment(contract.cohort_segment).conditions


def cohort_on(tables: dict[str, ibis.Table], contract: Contract, day: dt.date) -> pd.DataFrame:
    """The people meeting the contract's cohort rule at the end of `day`, with what their
    capitation is weighted by: person_id, age, sex and each need-weight column (as text)."""
    lean = rule_columns(contract) <= LEAN_COLUMNS
    summary = (
        lean_summary(tables, day, necessary_conditions(contract))
        if lean
        else person_summary(tables, day)
    )
    scheme = contract.cohort_scheme
    t = summary.filter(scheme.expression(summary) == contract.cohort_segment)
    t = t.select(
        "person_id",
        "age",
        "sex",
        **{c: t[c].cast("string") for c in contract.capitation.need_columns},
    )
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
    columns = [*MEMBERSHIP_COLUMNS, *contract.capitation.need_columns]
    if not years:
        return pd.DataFrame(columns=columns)
    members = pd.concat(years, ignore_index=True)
    held = sorted(int(y) for y in members["year"].unique())
    members["first_day"] = members["year"].map({y: contract.year_start(y) for y in held})
    # A year not over yet runs to the extract date: nothing after it is known.
    year_last = pd.to_datetime(
        members["year"].map({y: min(contract.year_end(y), until) for y in held})
    )
    members = members.merge(_spans(tables, members), on=["person_id", "year"], how="left")
    death = pd.to_datetime(members["date_of_death"])
    leave = pd.to_datetime(members["registered_to"])
    died = death.notna() & (death <= year_last) & (leave.isna() | (death <= leave))
    moved = ~died & leave.notna() & (leave <= year_last)
    members["last_day"] = death.where(died, leave.where(moved, year_last)).dt.date
    members["left_how"] = np.where(died, "died", np.where(moved, "moved", ""))
    return members[columns].sort_values(["year", "person_id"], ignore_index=True)


def _spans(tables: dict[str, ibis.Table], members: pd.DataFrame) -> pd.DataFrame:
    """Each member-year's unbroken registration in the area around the year's first day, and
    the date of death: person_id, year, registered_to (None while registered), date_of_death.

    Registrations are joined into runs on the engine (gaps and islands): sorted by start, a
    registration starting by the day after every earlier one has ended begins a new run, so a
    change of practice inside the area, or overlapping registrations, do not break one. A
    member-year whose first day no run covers leaves on that day."""
    asked = members[["person_id", "year", "first_day"]].copy()
    asked["first_day"] = pd.to_datetime(asked["first_day"])
    years = ibis.memtable(asked)
    ids = years.select("person_id").distinct()
    regs = tables["registrations"].join(ids, "person_id")
    far = ibis.literal(FAR_FUTURE)
    regs = regs.select(
        person_id=regs.person_id.cast("int64"),
        start=regs.start_date,
        end=regs.end_date.fill_null(far),
    )
    order = [regs.start, regs.end]
    so_far = ibis.window(group_by=regs.person_id, order_by=order, preceding=None, following=0)
    regs = regs.mutate(ended=regs.end.max().over(so_far))
    in_order = ibis.window(group_by=regs.person_id, order_by=[regs.start, regs.end])
    ended_by = regs.ended.lag().over(in_order)  # the latest end of the registrations before
    regs = regs.mutate(
        new_run=(ended_by.isnull() | (regs.start > ended_by + ibis.interval(days=1))).cast("int64")
    )
    so_far = ibis.window(
        group_by=regs.person_id, order_by=[regs.start, regs.end], preceding=None, following=0
    )
    regs = regs.mutate(run=regs.new_run.sum().over(so_far))
    runs = regs.group_by("person_id", "run").aggregate(
        run_from=regs.start.min(), run_to=regs.end.max()
    )
    day = years.first_day.cast("date")
    covered = years.join(
        runs,
        [years.person_id == runs.person_id, runs.run_from <= day, runs.run_to >= day],
        how="left",
    )
    covered = covered.select(
        person_id=covered.person_id,
        year=covered.year,
        registered_to=ibis.cases(
            (covered.run_to.isnull(), day),
            (covered.run_to == far, ibis.null("date")),
            else_=covered.run_to,
        ),
    )
    patients = tables["patients"]
    dead = patients.select(
        person_id=patients.person_id.cast("int64"), date_of_death=patients.date_of_death
    )
    spans = covered.left_join(dead, "person_id").drop("person_id_right")
    return spans.to_pandas()


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
    the members' membership; an open package runs on. Split over months on the engine: each
    package's days inside membership joined to the calendar months they overlap."""
    t = tables["care_packages"]
    span = _member_days(members)
    joined = t.join(span, t.person_id == span.person_id)
    member_from, member_to = joined.first_day.cast("date"), joined.last_day.cast("date")
    joined = joined.filter(
        (joined.start_date <= member_to)
        & (joined.end_date.isnull() | (joined.end_date >= member_from))
    )
    inside = joined.select(
        year=joined.year,
        weekly_cost=joined.weekly_cost,
        first=ibis.greatest(joined.start_date, member_from),
        last=ibis.least(joined.end_date.fill_null(member_to), member_to),
    )
    first_day, last_day = min(members["first_day"]), max(members["last_day"])
    calendar = []
    month = dt.date(first_day.year, first_day.month, 1)
    while month <= last_day:
        following = _next_month(month)
        calendar.append((month, following - dt.timedelta(days=1)))
        month = following
    months = ibis.memtable(
        pd.DataFrame(
            {
                "month_first": pd.to_datetime([m for m, _ in calendar]),
                "month_last": pd.to_datetime([e for _, e in calendar]),
            }
        )
    )
    m_first, m_last = months.month_first.cast("date"), months.month_last.cast("date")
    split = inside.join(months, [m_first <= inside["last"], m_last >= inside["first"]])
    days = (
        ibis.least(split["last"], split.month_last.cast("date")).delta(
            ibis.greatest(split["first"], split.month_first.cast("date")), unit="day"
        )
        + 1
    ).cast("float64")
    split = split.mutate(weeks=days / 7, cost=split.weekly_cost.cast("float64") * days / 7)
    month_first = split.month_first.cast("date")
    grouped = split.group_by(
        year=split.year, calendar_year=month_first.year(), calendar_month=month_first.month()
    ).aggregate(units=split.weeks.sum(), cost=split.cost.sum())
    frame = grouped.to_pandas().sort_values(["year", "calendar_year", "calendar_month"])
    frame["service"] = "care_packages"
    frame["bed_days"] = 0.0
    return frame[
        ["year", "calendar_year", "calendar_month", "service", "units", "bed_days", "cost"]
    ]


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
