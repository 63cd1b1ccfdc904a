"""Cost of care per person, financial year and setting, summed from the activity rows.

Every activity row carries its cost in whole pence, and the ledger adds those pence up, so the
`costs` table reconciles exactly with the activity tables:

  gp           gp_appointments.cost, by appointment date
  prescribing  medications.cost, by issue date
  ae           ae_attendances.cost, by arrival date
  inpatient    hospital_spells.cost, by admission date
  outpatient   outpatient_appointments.cost, by appointment date
  community    community_contacts.cost, by contact date
  social_care  care_packages: weekly_cost × (days of the package in the year) / 7, rounded to
               the penny; a package still open runs to the extract date. Years before the
               history window are not costed.

The financial years are the calendar's: the last may be a part year, up to the extract date.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.population.contracts import SETTINGS
from joinedup.population.synthetic.calendar import Calendar


class Ledger:
    def __init__(self, people: int, calendar: Calendar) -> None:
        self.people = people
        self.calendar = calendar
        self.years = len(calendar.financial_years)
        self.pence: dict[str, np.ndarray] = {}

    def add(self, setting: str, person: np.ndarray, day: np.ndarray, pence: np.ndarray) -> None:
        day = np.asarray(day)
        if day.size and (day.min() < self.calendar.start or day.max() > self.calendar.extract):
            raise ValueError(f"{setting} activity dated outside the history window")
        self.add_by_year(setting, person, self.calendar.financial_year_index(day), pence)

    def add_by_year(
        self, setting: str, person: np.ndarray, year: np.ndarray, pence: np.ndarray
    ) -> None:
        if setting not in SETTINGS:
            raise ValueError(f"unknown cost setting {setting!r}")
        year = np.asarray(year, dtype=np.int64)
        if year.size and (year.min() < 0 or year.max() >= self.years):
            raise ValueError(
                f"{setting} cost outside the financial years {self.calendar.financial_years}"
            )
        key = np.asarray(person, dtype=np.int64) * self.years + year
        # Whole pence summed in float64 are exact far beyond any area's total (2**53 pence).
        summed = np.bincount(
            key, weights=np.asarray(pence, dtype=np.float64), minlength=self.people * self.years
        )
        self.pence[setting] = self.pence.get(setting, 0) + summed

    def table(self) -> pa.Table:
        parts = []
        for index, name in enumerate(SETTINGS):
            totals = self.pence.get(name)
            if totals is None:
                continue
            key = np.flatnonzero(totals > 0)
            parts.append((key, np.full(key.shape[0], index, dtype=np.int8), totals[key]))
        key = np.concatenate([p[0] for p in parts])
        setting = np.concatenate([p[1] for p in parts])
        pence = np.concatenate([p[2] for p in parts])
        order = np.lexsort((setting, key))
        key, setting, pence = key[order], setting[order], pence[order]
        years = self.years
        return pa.table(
            {
                "person_id": pa.array(key // years + 1),
                "financial_year": pa.array(
                    np.asarray(self.calendar.financial_years)[key % years].astype(np.int64)
                ),
                "setting": pa.array(list(SETTINGS), pa.string()).take(pa.array(setting)),
                "cost": pa.array(np.round(pence) / 100.0),
            }
        )


def pounds(pence: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(pence, dtype=np.float64) / 100.0)
