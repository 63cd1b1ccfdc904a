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
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.population.contracts import SETTINGS
from joinedup.population.synthetic.calendar import FINANCIAL_YEARS, FY_EDGES, financial_year_index

YEARS = len(FINANCIAL_YEARS)


class Ledger:
    def __init__(self, people: int) -> None:
        self.people = people
        self.pence: dict[str, np.ndarray] = {}

    def add(self, setting: str, person: np.ndarray, day: np.ndarray, pence: np.ndarray) -> None:
        day = np.asarray(day)
        if day.size and (day.min() < FY_EDGES[0] or day.max() >= FY_EDGES[-1]):
            raise ValueError(f"{setting} activity dated outside the history window")
        self.add_by_year(setting, person, financial_year_index(day), pence)

    def add_by_year(
        self, setting: str, person: np.ndarray, year: np.ndarray, pence: np.ndarray
    ) -> None:
        if setting not in SETTINGS:
            raise ValueError(f"unknown cost setting {setting!r}")
        year = np.asarray(year, dtype=np.int64)
        if year.size and (year.min() < 0 or year.max() >= YEARS):
            raise ValueError(f"{setting} cost outside the financial years {FINANCIAL_YEARS}")
        key = np.asarray(person, dtype=np.int64) * YEARS + year
        # Whole pence summed in float64 are exact far beyond any area's total (2**53 pence).
        summed = np.bincount(
            key, weights=np.asarray(pence, dtype=np.float64), minlength=self.people * YEARS
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
        return pa.table(
            {
                "person_id": pa.array(key // YEARS + 1),
                "financial_year": pa.array(
                    np.asarray(FINANCIAL_YEARS)[key % YEARS].astype(np.int64)
                ),
                "setting": pa.array(list(SETTINGS), pa.string()).take(pa.array(setting)),
                "cost": pa.array(np.round(pence) / 100.0),
            }
        )


def pounds(pence: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(pence, dtype=np.float64) / 100.0)
