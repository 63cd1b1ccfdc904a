"""Finding a person for direct care: by name, date of birth or NHS number, only among the
people the clinician has a legitimate relationship with, and audited.

* **Within relationships**: people registered at the practices the user works in (or under),
  and people whose care team the user is on (`relationships.relationship_scope`). Someone
  outside them is never found here, whatever is typed: break-glass is a separate, reviewed
  act on a known person (`governance.break_glass`), never a search.
* **Audited, without patient-level values**: one audit event per search (``search.people``)
  naming the kinds of key used and how many people were found; the typed name, date of birth
  or NHS number is never recorded or logged.
* **Keys**: names match as a case-insensitive prefix of the family or given name; a date of
  birth and an NHS number (ten digits, mod-11 check digit) match exactly. Every key given
  must match.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import UserError
from joinedup.governance.audit import record_search
from joinedup.governance.relationships import relationship_scope
from joinedup.governance.roles import Principal
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.nhs_numbers import is_valid as nhs_number_is_valid
from joinedup.population.reads import PersonSummary, search_people
from joinedup.population.store import PopulationStore

MOST_RESULTS = 50


class SearchError(UserError, ValueError):
    """The search cannot run as asked; `field` is the form field to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class SearchNotAllowed(UserError, PermissionError):
    """The user may not open records, so may not search for one."""


@dataclass(frozen=True)
class PersonQuery:
    family_name: str = ""
    given_name: str = ""
    date_of_birth: dt.date | None = None
    nhs_number: str = ""  # ten digits, spaces removed

    @property
    def kinds(self) -> list[str]:
        """The kinds of key given (what the audit records instead of the values)."""
        given = {
            "name": bool(self.family_name or self.given_name),
            "date_of_birth": self.date_of_birth is not None,
            "nhs_number": bool(self.nhs_number),
        }
        return [kind for kind, used in given.items() if used]


@dataclass(frozen=True)
class SearchResult:
    people: list[PersonSummary]
    #: More people matched than are shown: the user should add detail.
    more: bool


def person_query(
    family_name: str = "", given_name: str = "", date_of_birth: dt.date | None = None,
    nhs_number: str = "",
) -> PersonQuery:  # fmt: skip
    """The query from a form's values, or a `SearchError` saying what to fix."""
    digits = "".join(nhs_number.split())
    if digits and not (digits.isdigit() and len(digits) == 10):
        raise SearchError("Enter an NHS number with 10 digits, like 943 476 5919", "nhs_number")
    if digits and not nhs_number_is_valid(digits):
        raise SearchError("Enter a real NHS number: check the digits", "nhs_number")
    query = PersonQuery(family_name.strip(), given_name.strip(), date_of_birth, digits)
    if not query.kinds:
        raise SearchError("Enter a name, date of birth or NHS number", "family_name")
    return query


def find_people(
    sessions: sessionmaker[Session],
    store: PopulationStore,
    principal: Principal,
    query: PersonQuery,
) -> SearchResult:
    """The people matching `query` whom `principal` has a legitimate relationship with, by
    name; the search is audited before anything is shown."""
    if not principal.can("record.view"):
        raise SearchNotAllowed("Your role cannot open people's records, so cannot search them")
    practices, team = relationship_scope(sessions, principal.user_id)
    found = search_people(
        store,
        within_practices=practices,
        within_people=team,
        family_name=query.family_name,
        given_name=query.given_name,
        date_of_birth=query.date_of_birth,
        nhs_number=query.nhs_number,
        limit=MOST_RESULTS + 1,
    )
    record_search(sessions, principal, kinds=query.kinds, shown=min(len(found), MOST_RESULTS))
    return SearchResult(found[:MOST_RESULTS], more=len(found) > MOST_RESULTS)


def person_with_nhs_number(
    sessions: sessionmaker[Session], store: PopulationStore, principal: Principal, typed: str
) -> int:
    """The person with the NHS number `typed` (spaces allowed) among those `principal` may see,
    for a form that starts from one (admitting to a virtual ward, taking onto a caseload); the
    search is audited as any other. A `SearchError` says what to fix, or that no one they may
    see has that number (the same words whether the number is unknown or out of their reach)."""
    if not typed.strip():
        raise SearchError("Enter the person's NHS number", "nhs_number")
    query = person_query(nhs_number=typed)
    found = find_people(sessions, store, principal, query)
    if not found.people:
        raise SearchError(
            f"No one with NHS number {format_nhs_number(query.nhs_number)} is registered at "
            "your practices or on a care team you are on",
            "nhs_number",
        )
    return found.people[0].person_id
