"""The people behind a practice-variation count, as the viewer may see them.

The service behind the "people behind a count" page: who the practice's count is made of
(`matrix.people_behind`, at the store's extract date), filtered and shown by the list-audience
rule of `joinedup.governance.audience` — named (formatted NHS number) only for a user who works
in the practice, otherwise by keyed-hash pseudonym with objectors left out, the number of
people suppressed and the rows k-anonymous over age band and sex (`joinedup.governance.disclosure`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from joinedup.analytics.variation import matrix as vm
from joinedup.governance.audience import Audience
from joinedup.governance.disclosure import Disclosed, QuasiIdentifiers, k_anonymise
from joinedup.governance.pseudonyms import pseudonyms
from joinedup.governance.suppression import suppress_count
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import organisations
from joinedup.population.store import PopulationStore


class PracticeNotFound(LookupError):
    """The area has no practice with that code."""


class PracticeOutOfScope(PermissionError):
    """The viewer may see named people, but not in this practice."""


def practice_name(store: PopulationStore, code: str) -> str:
    """The name of the area's practice `code`; `PracticeNotFound` if the area has none."""
    found = organisations(store).get(code)
    if found is None or found.org_type != "practice":
        raise PracticeNotFound(f"There is no practice {code} in this area.")
    return str(found.name or code)


@dataclass(frozen=True)
class PeopleBehind:
    """Everyone counted, most first, as of `as_of`, for one audience."""

    as_of: dt.date
    identifiable: bool
    people: list[vm.CountedPerson]

    @property
    def count(self) -> int | None:
        """The number to show: exact for direct care, suppressed otherwise."""
        return len(self.people) if self.identifiable else suppress_count(len(self.people))


def people_behind_count(
    store: PopulationStore, audience: Audience, practice_code: str, indicator_id: str
) -> PeopleBehind:
    """The people the practice's indicator counts, as `audience` may see them; raises
    `PracticeOutOfScope` for a named audience that does not work in the practice."""
    if not audience.sees_practice(practice_code):
        raise PracticeOutOfScope(practice_code)
    as_of = vm.extract_date(store)
    people = vm.people_behind(
        store, practice_code, indicator_id, as_of=as_of, excluding=audience.excluding
    )
    return PeopleBehind(as_of, audience.identifiable, people)


#: On one practice's page the practice is given, so only age and sex can be generalised.
PRACTICE_QUASI_IDENTIFIERS = QuasiIdentifiers(fixed=("sex",))


def pseudonymised_people(audience: Audience, people: list[vm.CountedPerson]) -> Disclosed:
    """Every person counted, by pseudonym with a 5-year age band, k-anonymous over age band
    and sex within the practice (`joinedup.governance.disclosure`: the residue withheld)."""
    assert audience.pseudonym_key is not None  # set for every audience that is not named
    keys = pseudonyms(audience.pseudonym_key, [p.person_id for p in people])
    plain = [
        {"pseudonym": k, "age": p.age, "sex": p.sex, "count": p.count}
        for k, p in zip(keys, people, strict=True)
    ]
    return k_anonymise(plain, PRACTICE_QUASI_IDENTIFIERS, audience.k)


def people_rows(
    store: PopulationStore, audience: Audience, people: list[vm.CountedPerson]
) -> list[dict[str, Any]]:
    """One row per person: NHS number for a named audience, else a pseudonym and an age band
    (k-anonymous over `people`, people in a small group left out)."""
    if not audience.identifiable:
        return pseudonymised_people(audience, people).rows
    numbers = _nhs_numbers(store, sorted({p.person_id for p in people}))
    return [
        {
            "person_id": p.person_id,
            "nhs_number": format_nhs_number(numbers.get(p.person_id)),
            "age": p.age,
            "sex": p.sex,
            "count": p.count,
        }
        for p in people
    ]


def _nhs_numbers(store: PopulationStore, wanted: list[int]) -> dict[int, str]:
    if not wanted:
        return {}
    # Only the listed people's rows: the store's small row groups let the filter skip the rest.
    patients = pq.read_table(
        store.path("patients"),
        columns=["person_id", "nhs_number"],
        filters=[("person_id", "in", wanted)],
    ).to_pylist()
    return {r["person_id"]: r["nhs_number"] for r in patients}
