"""The cohort and its monthly outcomes: the data every evaluation method starts from.

The cohort is found with the project's engine (Ibis over the population store: registered
population and eFI as of the programme's start); the monthly outcome and exposure matrices
(people × months) are small aggregates and are built with numpy. Exposure counts the part of
each month a person was registered in the area and alive, so people who die or leave stop
contributing rather than counting as zero use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.evaluation.programme import Programme, ProgrammeError
from joinedup.analytics.scores import efi
from joinedup.errors import UserError
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore

PRE_MONTHS = 24
# The cohort rule "65+ with moderate or severe frailty", read from the store's records (the
# generator plants the same rule from its own state: population/synthetic/programme.py).
COHORT_MIN_AGE = 65
COHORT_MIN_DEFICITS = 9  # eFI moderate or severe


def _spells(column: str | None) -> Callable[[dict[str, ibis.Table]], ibis.Table]:
    """Emergency spells by admission date: counted, or summing `column`."""

    def rows(tables: dict[str, ibis.Table]) -> ibis.Table:
        t = tables["hospital_spells"]
        t = t.filter(t.admission_method == "emergency")
        value = ibis.literal(1.0) if column is None else t[column].cast("float64")
        return t.select("person_id", day=t.admission_date, value=value)

    return rows


def _attendances(tables: dict[str, ibis.Table]) -> ibis.Table:
    t = tables["ae_attendances"]
    return t.select("person_id", day=t.arrival_date, value=ibis.literal(1.0))


# outcome → (tables it reads, its rows as person_id, day, value; label)
OUTCOMES: dict[str, tuple[tuple[str, ...], Callable[[dict[str, ibis.Table]], ibis.Table], str]] = {
    "emergency_admissions": (("hospital_spells",), _spells(None), "emergency admissions"),
    "ae_attendances": (("ae_attendances",), _attendances, "A&E attendances"),
    "bed_days": (("hospital_spells",), _spells("length_of_stay"), "emergency bed days"),
    "emergency_cost": (
        ("hospital_spells",),
        _spells("cost"),
        "emergency admission cost (£)",
    ),
}


class OutcomeError(UserError, ValueError):
    """An outcome or store the evaluation cannot use."""


@dataclass
class Panel:
    """One programme's cohort (treated and comparison people) month by month."""

    programme: Programme
    outcome: str
    cohort: pd.DataFrame  # person_id, practice_code, neighbourhood_code, treated, age, female,
    # imd_decile, efi_deficits, prior_admissions (emergency, 12 months before the start)
    months: list[dt.date]  # first day of each month, PRE_MONTHS before the start to the extract
    exposure: np.ndarray  # people × months: person-months at risk
    values: np.ndarray  # people × months: the outcome

    @property
    def first_post(self) -> int:
        return PRE_MONTHS

    @property
    def treated(self) -> np.ndarray:
        return self.cohort["treated"].to_numpy()

    @property
    def label(self) -> str:
        return OUTCOMES[self.outcome][2]


def check_outcome(outcome: str) -> str:
    if outcome not in OUTCOMES:
        raise OutcomeError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
    return outcome


def build_panel(store: PopulationStore, programme: Programme, outcome: str) -> Panel:
    check_outcome(outcome)
    metadata = store.metadata()
    months = _months(programme.start, dt.date.fromisoformat(metadata["extract_date"]))
    history = metadata.get("history_start")
    if history is not None and months[0] < dt.date.fromisoformat(history):
        raise ProgrammeError(
            f"the programme started {programme.start}: its {PRE_MONTHS} months before begin "
            f"before the store's history ({history}), so the comparison before the start is "
            "incomplete"
        )
    con = connect("duckdb")
    tables = read_store(
        con, store, ["registrations", "patients", "clinical_events", "organisations"]
    )
    cohort = _cohort(tables, programme)
    people = cohort["person_id"].to_numpy()
    exposure = _exposure(store, people, months)
    values = _monthly(store, outcome, people, months)
    admissions = (
        values
        if outcome == "emergency_admissions"
        else _monthly(store, "emergency_admissions", people, months)
    )
    cohort["prior_admissions"] = admissions[:, PRE_MONTHS - 12 : PRE_MONTHS].sum(axis=1)
    return Panel(programme, outcome, cohort, months, exposure, values)


def _months(start: dt.date, extract: dt.date) -> list[dt.date]:
    if start.day != 1:
        raise ProgrammeError(f"a programme must start on the first day of a month, not {start}")
    first = _add_months(start, -PRE_MONTHS)
    months = [first]
    while _add_months(months[-1], 1) <= extract + dt.timedelta(days=1):
        months.append(_add_months(months[-1], 1))
    months.pop()  # the last entry is the month after the extract: only whole months count
    if len(months) < PRE_MONTHS + 6:
        raise ProgrammeError(
            f"the programme started {start}: fewer than 6 whole months before the extract "
            f"date {extract}, too little follow-up to evaluate"
        )
    return months


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def _cohort(tables: dict[str, ibis.Table], programme: Programme) -> pd.DataFrame:
    """Everyone meeting the cohort rule on the start date, in treated or comparison units."""
    start = programme.start
    people = registered_population(tables["registrations"], tables["patients"], start)
    # "Recorded before the start": the eFI as of the day before.
    frailty = efi.from_store(
        {"clinical_events": tables["clinical_events"]}, start - dt.timedelta(days=1)
    )
    t = people.join(frailty.select("person_id", efi_deficits=frailty.deficits), "person_id")
    t = t.filter((t.age >= COHORT_MIN_AGE) & (t.efi_deficits >= COHORT_MIN_DEFICITS))
    cohort = t.select("person_id", "practice_code", "age", "sex", "imd_decile", "efi_deficits")
    frame = cohort.to_pandas().sort_values("person_id", ignore_index=True)
    orgs = tables["organisations"].to_pandas()
    parent = dict(zip(orgs["org_code"], orgs["parent_code"], strict=True))
    frame["neighbourhood_code"] = frame["practice_code"].map(parent)
    unit_column = f"{programme.unit_kind}_code"
    known = set(orgs["org_code"][orgs["org_type"] == programme.unit_kind])
    unknown = sorted(set(programme.units) - known)
    if unknown:
        raise ProgrammeError(
            f"programme {programme.name!r} names {programme.unit_kind}s not in this area: "
            + ", ".join(unknown)
        )
    frame["treated"] = frame[unit_column].isin(programme.units)
    frame["female"] = (frame["sex"] == "F").astype(float)
    if frame["treated"].all() or not frame["treated"].any():
        raise OutcomeError(
            f"programme {programme.name!r} needs cohort members both in and outside its "
            f"{programme.unit_kind}s to compare"
        )
    return frame


def _month_edges(months: list[dt.date]) -> np.ndarray:
    edges = [*months, _add_months(months[-1], 1)]
    return np.array(edges, dtype="datetime64[D]").astype(np.int64)


def _exposure(store: PopulationStore, people: np.ndarray, months: list[dt.date]) -> np.ndarray:
    """Person-months registered and alive, per person and month."""
    regs = pd.read_parquet(
        store.path("registrations"), columns=["person_id", "start_date", "end_date"]
    )
    regs = regs[regs["person_id"].isin(people)]
    deaths = pd.read_parquet(store.path("patients"), columns=["person_id", "date_of_death"])
    deaths = deaths[deaths["person_id"].isin(people)].set_index("person_id")["date_of_death"]
    edges = _month_edges(months)
    far = np.int64(edges[-1])
    start = _days(regs["start_date"], far)
    end = np.minimum(_days(regs["end_date"], far), _days(regs["person_id"].map(deaths), far))
    overlap = np.clip(
        np.minimum(end[:, None], edges[None, 1:]) - np.maximum(start[:, None], edges[None, :-1]),
        0,
        None,
    )
    row = np.searchsorted(people, regs["person_id"].to_numpy())
    days = np.zeros((people.shape[0], len(months)))
    np.add.at(days, row, overlap)
    return np.minimum(days / np.diff(edges)[None, :], 1.0)


def _days(dates: pd.Series, missing: np.int64) -> np.ndarray:
    """Dates as day numbers; a missing date (still registered, alive) as `missing`."""
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[D]")
    days = values.astype(np.int64)
    return np.where(np.isnat(values), missing, days)


def _monthly(
    store: PopulationStore, outcome: str, people: np.ndarray, months: list[dt.date]
) -> np.ndarray:
    """The outcome per person and month (people in `people` order)."""
    needs, rows_of, _ = OUTCOMES[outcome]
    rows = rows_of(read_store(connect("duckdb"), store, list(needs)))
    first, after = months[0], _add_months(months[-1], 1)
    rows = rows.filter((rows.day >= ibis.literal(first)) & (rows.day < ibis.literal(after)))
    frame = rows.to_pandas()
    frame = frame[frame["person_id"].isin(people)]
    edges = _month_edges(months)
    day = pd.to_datetime(frame["day"]).to_numpy(dtype="datetime64[D]").astype(np.int64)
    month = np.searchsorted(edges, day, side="right") - 1
    out = np.zeros((people.shape[0], len(months)))
    np.add.at(out, (np.searchsorted(people, frame["person_id"].to_numpy()), month), frame["value"])
    return out


def reassigned(panel: Panel, programme: Programme) -> Panel:
    """The same cohort and months with `programme`'s units treated instead: the cohort rule and
    start are unchanged, so nothing needs reading again (placebo and calibration runs)."""
    if programme.start != panel.programme.start or programme.cohort != panel.programme.cohort:
        raise ProgrammeError("a reassigned programme must keep the start date and cohort rule")
    cohort = panel.cohort.copy()
    cohort["treated"] = cohort[f"{programme.unit_kind}_code"].isin(programme.units)
    return Panel(programme, panel.outcome, cohort, panel.months, panel.exposure, panel.values)
