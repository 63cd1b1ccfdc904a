"""One row per registered person at a year end: who they are and what the indicators count.

The people behind every practice-variation indicator, built with the same functions the
stratification run uses, so the figures agree with `person_summary` at the same index date:

* who: ``population.reads.registered_population`` (registered and alive at the end of the
  index date; the practice of their latest open registration);
* activity in the 365 days ending on the index date (``index − 365 < date ≤ index``, the window
  of `person_summary`): emergency admissions (hospital spells admitted as emergencies), A&E
  attendances (arrivals), outpatient first attendances (first appointments *attended*);
* long-term conditions recorded on or before the index date and polypharmacy (10 or more
  medicines in the 12 months): ``scores.conditions.from_store``;
* frailty: the eFI category (Clegg 2016) from ``scores.efi.from_store``.

Plain computations on Ibis and pandas tables: `kept` works them out on DuckDB once per store
version, keeps them on disk and the latest tables in memory (`kept.load_people`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import pandas as pd

from joinedup.analytics.person_summary import WINDOW_DAYS
from joinedup.analytics.scores import conditions, efi
from joinedup.analytics.scores.conditions import window_start
from joinedup.analytics.variation.indicators import INDICATORS, Indicator
from joinedup.analytics.variation.standardisation import STRATA, age_band, imd_quintile
from joinedup.population.reads import registered_population

TABLES: tuple[str, ...] = (
    "patients",
    "registrations",
    "clinical_events",
    "medications",
    "hospital_spells",
    "ae_attendances",
    "outpatient_appointments",
)
CONDITIONS: tuple[str, ...] = ("hypertension", "diabetes", "atrial_fibrillation", "copd")
COUNTS: tuple[str, ...] = ("emergency_admissions", "ae_attendances", "outpatient_first")


def _in_window(date: ibis.DateValue, index_date: dt.date) -> ibis.BooleanValue:
    start = window_start(index_date, WINDOW_DAYS)
    return (date > ibis.literal(start)) & (date <= ibis.literal(index_date))


def _count(table: ibis.Table, date: str, index_date: dt.date, name: str, keep) -> ibis.Table:  # type: ignore[no-untyped-def]
    t = table.filter(_in_window(table[date], index_date) & keep(table))
    return t.group_by(person_id=t.person_id.cast("int64")).aggregate(**{name: t.count()})


def indicator_people(tables: Mapping[str, ibis.Table], index_date: dt.date) -> ibis.Table:
    """The Ibis pipeline: one row per person registered at `index_date` (see module doc)."""
    people = registered_population(tables["registrations"], tables["patients"], index_date)
    t = people.select(
        person_id=people.person_id.cast("int64"),
        practice_code=people.practice_code,
        age=people.age.cast("int64"),
        sex=people.sex,
        imd_decile=people.imd_decile.cast("int64"),
    )
    parts = (
        _count(
            tables["hospital_spells"],
            "admission_date",
            index_date,
            "emergency_admissions",
            lambda s: s.admission_method == "emergency",
        ),
        _count(
            tables["ae_attendances"],
            "arrival_date",
            index_date,
            "ae_attendances",
            lambda a: ibis.literal(True),
        ),
        _count(
            tables["outpatient_appointments"],
            "appointment_date",
            index_date,
            "outpatient_first",
            lambda o: o.first_attendance & o.attended,
        ),
    )
    for part in parts:
        t = t.left_join(part, "person_id").drop("person_id_right")
    ltc = conditions.from_store(tables, index_date)
    t = t.left_join(
        ltc.select("person_id", *CONDITIONS, "ltc_count", "polypharmacy_10"), "person_id"
    ).drop("person_id_right")
    frailty = efi.from_store(tables, index_date)
    t = t.left_join(frailty.select("person_id", efi_category=frailty.category), "person_id").drop(
        "person_id_right"
    )
    zero = ibis.literal(0, "int64")
    return t.select(
        "person_id",
        "practice_code",
        "age",
        "sex",
        "imd_decile",
        **{c: t[c].fill_null(zero).cast("int64") for c in COUNTS},
        **{c: t[c].fill_null(False) for c in CONDITIONS},
        ltc_count=t.ltc_count.fill_null(zero).cast("int64"),
        polypharmacy_10=t.polypharmacy_10.fill_null(False),
        efi_category=t.efi_category.fill_null("fit"),
    )


def with_strata(people: pd.DataFrame) -> pd.DataFrame:
    """`people` with the standardisation strata and the derived 0/1 indicator columns."""
    older = people["age"] >= 65
    return people.assign(
        age_band=age_band(people["age"]),
        imd_quintile=imd_quintile(people["imd_decile"]),
        aged_65_plus=older.astype("int64"),
        frail_moderate_severe=(older & people["efi_category"].isin(["moderate", "severe"])).astype(
            "int64"
        ),
        multimorbidity=(people["ltc_count"] >= 2).astype("int64"),
        **{c: people[c].astype("int64") for c in (*CONDITIONS, "polypharmacy_10")},
    )


STANDARDISED: tuple[Indicator, ...] = tuple(i for i in INDICATORS if i.kind == "ratio")


def indicator_cells(people: pd.DataFrame) -> pd.DataFrame:
    """Every standardised indicator's people and events in each practice × stratum cell, in one
    pass over the indicator-people table (objectors already out): columns practice_code, the
    strata, registered (people), ``people:<id>`` and ``observed:<id>`` per indicator, sorted as
    `stratum_cells`. Sums, so the cells of everyone less the cells of objectors are the cells
    without them."""
    counted: dict[str, pd.Series] = {}
    for ind in STANDARDISED:
        among = 1 if ind.among is None else people[ind.among]
        counted[f"people:{ind.id}"] = pd.Series(among, index=people.index, dtype="int64")
        counted[f"observed:{ind.id}"] = (people[ind.events] * among).astype("int64")
    frame = pd.DataFrame({"practice_code": people["practice_code"]}).assign(
        **{s: people[s] for s in STRATA},
        registered=pd.Series(1, index=people.index, dtype="int64"),
        **counted,
    )
    return frame.groupby(["practice_code", *STRATA], observed=True).sum().reset_index()
