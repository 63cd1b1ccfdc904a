"""Capacity against demand for a neighbourhood's district nursing on a day (issue 16).

Measures:
* **caseload per whole-time nurse**: people on the caseload ÷ the whole-time equivalent of the
  team's visiting members;
* **visits per nurse**: the visits due on the day ÷ the visiting members on shift;
* **minutes of care by acuity** (a two-person visit counts twice: two nurses' time) against
  **staff minutes available** (each shift less its break; less the rest of the day for a nurse
  gone off sick).

Warnings where published thresholds are crossed — the Queen's Nursing Institute's Workforce
Standards for the District Nursing Service (QNI International Community Nursing Observatory,
2023): caution on caseloads of more than 150 per whole-time equivalent ("a tipping point into
more work left undone, and deferral"), and nine or ten visits a day already risk compromising
care (visits of at least 30 minutes, travel not included). Care minutes above the staff minutes
available is a warning of its own: the day cannot be done even with no travel.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.neighbourhood.caseload import caseload, team
from joinedup.neighbourhood.caseload_models import ACUITIES
from joinedup.neighbourhood.visit_day import is_due, rota

#: QNI Workforce Standards for the District Nursing Service: caution above this caseload per WTE.
CASELOAD_PER_WTE_LIMIT = 150
#: QNI Workforce Standards: nine or ten visits a day risks compromising care; warn above nine.
VISITS_PER_NURSE_LIMIT = 9


@dataclass(frozen=True)
class Capacity:
    neighbourhood_code: str
    day: dt.date
    caseload: int
    visiting_wte: float
    nurses_on_shift: int
    visits_due: int
    care_minutes: dict[str, int]  # by acuity
    staff_minutes: int

    @property
    def caseload_per_wte(self) -> float | None:
        return round(self.caseload / self.visiting_wte, 1) if self.visiting_wte else None

    @property
    def visits_per_nurse(self) -> float | None:
        return round(self.visits_due / self.nurses_on_shift, 1) if self.nurses_on_shift else None

    @property
    def total_care_minutes(self) -> int:
        return sum(self.care_minutes.values())

    @property
    def warnings(self) -> list[str]:
        found = []
        per_wte, per_nurse = self.caseload_per_wte, self.visits_per_nurse
        if per_wte is None:
            found.append("no visiting nurse in the team: the caseload has no one to carry it")
        elif per_wte > CASELOAD_PER_WTE_LIMIT:
            found.append(
                f"{per_wte:g} people per whole-time nurse: more than the "
                f"{CASELOAD_PER_WTE_LIMIT} the QNI standards caution against"
            )
        if per_nurse is None and self.visits_due:
            found.append("visits are due and no visiting nurse is on shift")
        elif per_nurse is not None and per_nurse > VISITS_PER_NURSE_LIMIT:
            found.append(
                f"{per_nurse:g} visits per nurse on shift: more than the "
                f"{VISITS_PER_NURSE_LIMIT} a day past which the QNI standards say care suffers"
            )
        if self.total_care_minutes > self.staff_minutes:
            found.append(
                f"{self.total_care_minutes} minutes of care due against {self.staff_minutes} "
                "staff minutes on shift, before any travel"
            )
        return found


def capacity(sessions: sessionmaker[Session], neighbourhood_code: str, day: dt.date) -> Capacity:
    """The neighbourhood's capacity against demand on `day`."""
    entries = caseload(sessions, neighbourhood_code)
    visiting = [m for m in team(sessions, neighbourhood_code) if m.visits]
    on_shift = [s for s in rota(sessions, neighbourhood_code, day) if s.member.visits]
    due = [e for e in entries if is_due(e.id, e.visits_per_week, day)]
    minutes = dict.fromkeys(ACUITIES, 0)
    for entry in due:
        minutes[entry.acuity] += entry.duration_min * (2 if entry.two_person else 1)
    return Capacity(
        neighbourhood_code=neighbourhood_code,
        day=day,
        caseload=len(entries),
        visiting_wte=round(sum(m.wte for m in visiting), 2),
        nurses_on_shift=sum(1 for s in on_shift if s.off_from is None),
        visits_due=len(due),
        care_minutes=minutes,
        staff_minutes=sum(s.available_min for s in on_shift),
    )
