"""Hospital discharges as suggested intakes to a neighbourhood caseload (issue 15: "intake
from referrals, the register and hospital discharges").

A person discharged from an **emergency** hospital spell in the last `DISCHARGE_DAYS` days
who is **65 or older** or on the coordinated care register, registered at one of the user's
practices in the neighbourhood and not already on its caseload, is suggested for intake. The
suggestion is only a list: taking someone on goes through their caseload page, where the
person gate applies the legitimate-relationship rule, and the intake source is
``hospital_discharge``.

Why these: the weeks after an unplanned discharge carry the most risk of readmission, and the
Department of Health and Social Care's "Hospital discharge and community support guidance"
(2022) expects community health and social care to follow up people's recovery at home. The
age of 65 is this project's setting (where emergency readmission and frailty climb), not a
published cut-off; the register brings in anyone younger the team already coordinates.

"Today" for the look-back is the earlier of today and the population store's extract date:
a store is a snapshot, so its latest discharges sit on or before its extract date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from joinedup.population.reads import (
    emergency_discharges,
    extract_date,
    find_person,
    practices_of,
)
from joinedup.population.store import PopulationStore

DISCHARGE_DAYS = 14
OLDER_AGE = 65
MOST = 100  # a page's worth; the newest discharges first


@dataclass(frozen=True)
class Suggestion:
    person_id: int
    discharged_on: dt.date
    age: int
    on_register: bool


@dataclass(frozen=True)
class Suggestions:
    first: dt.date
    last: dt.date
    people: tuple[Suggestion, ...]


def look_back_end(store: PopulationStore, today: dt.date) -> dt.date:
    """The last day of the look-back: today, or the store's extract date if earlier."""
    return min(today, extract_date(store))


def suggested_intakes(
    store: PopulationStore,
    practices: Iterable[str],
    *,
    today: dt.date,
    on_register: Iterable[int] = (),
    on_caseload: Iterable[int] = (),
    days: int = DISCHARGE_DAYS,
) -> Suggestions:
    """Recent emergency discharges of `practices`' people, 65+ or on the register, not on the
    caseload; newest discharge first."""
    last = look_back_end(store, today)
    first = last - dt.timedelta(days=days)
    discharged = emergency_discharges(store, first, last)
    mine = set(practices)
    registered_here = {p for p, c in practices_of(store, discharged).items() if c in mine}
    register, caseload = set(on_register), set(on_caseload)
    people: list[Suggestion] = []
    for person_id in sorted(
        registered_here - caseload, key=lambda p: (-discharged[p].toordinal(), p)
    ):
        who = find_person(store, person_id)
        if who is None or who.date_of_death is not None:
            continue
        age = who.age_on(last)
        if age >= OLDER_AGE or person_id in register:
            people.append(Suggestion(person_id, discharged[person_id], age, person_id in register))
        if len(people) >= MOST:
            break
    return Suggestions(first, last, tuple(people))
