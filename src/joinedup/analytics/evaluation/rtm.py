"""Regression to the mean, shown in the same area with no programme at all.

People picked because they used a lot of care this year use less next year whatever is done:
part of a high year is bad luck that does not repeat. A before-and-after comparison of a
cohort chosen for being high-risk therefore shows a fall that no programme caused. This
module picks the top 5% of people by emergency admissions in the first of the two years
before the programme started, in units *without* the programme, and shows their fall in the
second year beside everyone's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from joinedup.analytics.engine import connect, read_store
from joinedup.analytics.evaluation.outcomes import _add_months
from joinedup.analytics.evaluation.programme import Programme
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore

TOP_SHARE = 0.05
WARNING = (
    "Regression to the mean: people selected for being high-risk or high-use now will, on "
    "average, use less care later with no intervention at all. A before-and-after fall in a "
    "cohort picked that way is not evidence that a programme worked; compare with similar "
    "people who did not get it (difference-in-differences matches on prior admissions for "
    "this reason)."
)


@dataclass(frozen=True)
class RegressionToTheMean:
    year_one: str
    year_two: str
    people: int
    selected: int
    selected_year_one: float  # mean emergency admissions per person
    selected_year_two: float
    everyone_year_one: float
    everyone_year_two: float

    @property
    def selected_change(self) -> float:
        return self.selected_year_two / self.selected_year_one - 1.0

    @property
    def everyone_change(self) -> float:
        return (
            self.everyone_year_two / self.everyone_year_one - 1.0 if self.everyone_year_one else 0.0
        )

    def sentence(self) -> str:
        return (
            f"With no programme, in units without it: the top {TOP_SHARE:.0%} of "
            f"{self.people:,} people by emergency admissions in {self.year_one} had "
            f"{self.selected_year_one:.2f} each that year and {self.selected_year_two:.2f} the "
            f"next ({self.selected_change:+.0%}); everyone: {self.everyone_year_one:.3f} then "
            f"{self.everyone_year_two:.3f} ({self.everyone_change:+.0%})."
        )


def demonstrate(store: PopulationStore, programme: Programme) -> RegressionToTheMean:
    first, middle, end = (
        _add_months(programme.start, -24),
        _add_months(programme.start, -12),
        programme.start,
    )
    con = connect("duckdb")
    tables = read_store(
        con, store, ["registrations", "patients", "hospital_spells", "organisations"]
    )
    # Registered at both ends of the two years, in a unit without the programme.
    start_people = registered_population(tables["registrations"], tables["patients"], first)
    end_people = registered_population(
        tables["registrations"], tables["patients"], end - dt.timedelta(days=1)
    )
    people = (
        start_people.select("person_id", "practice_code")
        .join(end_people.select("person_id"), "person_id")
        .to_pandas()
    )
    orgs = tables["organisations"].to_pandas()
    parent = dict(zip(orgs["org_code"], orgs["parent_code"], strict=True))
    unit = people["practice_code"] if programme.practices else people["practice_code"].map(parent)
    people = people[~unit.isin(programme.units)]
    spells = tables["hospital_spells"]
    when = spells.admission_date
    emergency = spells.filter(
        (spells.admission_method == "emergency")
        & (when >= ibis.literal(first))
        & (when < ibis.literal(end))
    )
    counts = (
        emergency.mutate(second=when >= ibis.literal(middle))
        .group_by(["person_id", "second"])
        .aggregate(n=ibis._.count())
        .to_pandas()
    )
    table = counts.pivot_table(index="person_id", columns="second", values="n", fill_value=0)
    table = table.reindex(people["person_id"], fill_value=0)
    one = table.get(False, pd.Series(0, index=table.index)).to_numpy(dtype=float)
    two = table.get(True, pd.Series(0, index=table.index)).to_numpy(dtype=float)
    n_top = max(1, round(TOP_SHARE * one.shape[0]))
    # Most admissions first; ties at the cut broken by person id, which is unrelated to use.
    top = np.lexsort((table.index.to_numpy(), -one))[:n_top]
    return RegressionToTheMean(
        year_one=f"{first:%b %Y}–{_add_months(middle, -1):%b %Y}",
        year_two=f"{middle:%b %Y}–{_add_months(end, -1):%b %Y}",
        people=int(one.shape[0]),
        selected=n_top,
        selected_year_one=float(one[top].mean()),
        selected_year_two=float(two[top].mean()),
        everyone_year_one=float(one.mean()),
        everyone_year_two=float(two.mean()),
    )
