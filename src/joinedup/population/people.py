"""One person from the population store: who they are and where they are registered.

Identifiable (NHS number, date of birth): callers show it only to users with a legitimate
relationship (`joinedup.governance.relationships`) and audit the view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from joinedup.population.store import PopulationStore


@dataclass(frozen=True)
class PersonIdentity:
    person_id: int
    nhs_number: str
    date_of_birth: dt.date
    sex: str
    date_of_death: dt.date | None
    #: The practice of the registration open at the extract date that started last, or None.
    practice_code: str | None
    practice_name: str | None
    neighbourhood_code: str | None
    neighbourhood_name: str | None

    def age_on(self, day: dt.date) -> int:
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - int(before_birthday)


_QUERY = """
with reg as (
    select practice_code from read_parquet($registrations)
    where person_id = $person and start_date <= $on and (end_date is null or end_date > $on)
    order by start_date desc limit 1
)
select p.person_id, p.nhs_number, p.date_of_birth, p.sex, p.date_of_death,
       reg.practice_code, pr.name, nb.org_code, nb.name
from read_parquet($patients) p
left join reg on true
left join read_parquet($organisations) pr on pr.org_code = reg.practice_code
left join read_parquet($organisations) nb
       on nb.org_code = pr.parent_code and nb.org_type = 'neighbourhood'
where p.person_id = $person
"""


def find_person(store: PopulationStore, person_id: int) -> PersonIdentity | None:
    """The person with `person_id`, registered as at the store's extract date; None if unknown."""
    extract = dt.date.fromisoformat(str(store.metadata()["extract_date"])[:10])
    with duckdb.connect() as con:
        row = con.execute(
            _QUERY,
            {
                "person": person_id,
                "on": extract,
                "patients": str(store.path("patients")),
                "registrations": str(store.path("registrations")),
                "organisations": str(store.path("organisations")),
            },
        ).fetchone()
    if row is None:
        return None
    return PersonIdentity(*row)
