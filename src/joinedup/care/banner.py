"""What the patient banner shows on every person-level page: who this is, beyond doubt, and the
flags a clinician must see before acting.

The layout follows the NHS patient banner conventions (NHS Digital Common User Interface,
"Patient Banner" guidance, CUI-DS; NHS.UK service manual on names and NHS numbers): the family
name in capitals before the given name, the NHS number in 3 3 4 groups, the date of birth in
full with the age beside it, and sex. To these joinedup adds what coordinated care acts on:
the registered practice, the named professional, the register state, and the flags — an
objection to secondary use in force, and break-glass access in force with its expiry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.named_professionals import (
    NamedProfessionalRecord,
    current_named_professional_in,
)
from joinedup.care.register import RegisterRecord, entry_in
from joinedup.governance.objections import KINDS, objections_in
from joinedup.governance.relationships import break_glass_expiry_in
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import PersonIdentity

SEX_WORDS = {"F": "Female", "M": "Male"}


@dataclass(frozen=True)
class PatientBanner:
    person_id: int
    #: FAMILY, Given; None when the source carries no name (hospital extracts).
    name: str | None
    nhs_number: str  # 3 3 4
    date_of_birth: dt.date
    age: int
    date_of_death: dt.date | None
    sex: str
    practice: str | None
    named_professional: str | None
    register_state: str | None
    objections: tuple[str, ...]
    break_glass_until: dt.datetime | None


@dataclass(frozen=True)
class BannerFacts:
    """What the banner reads from the care store about the person and the user."""

    named: NamedProfessionalRecord | None
    entry: RegisterRecord | None
    #: The kinds of objection in force (`governance.objections.KINDS` keys, in that order).
    objection_kinds: tuple[str, ...]
    break_glass_until: dt.datetime | None


def banner_facts_in(session: Session, person_id: int, user_id: int) -> BannerFacts:
    """The banner's care-store facts, read in the caller's session: one transaction for the
    four, and a page that reads them too (the person page) reads them once (issue 14)."""
    return BannerFacts(
        named=current_named_professional_in(session, person_id),
        entry=entry_in(session, person_id),
        objection_kinds=tuple(objections_in(session, person_id)),
        break_glass_until=break_glass_expiry_in(session, user_id, person_id),
    )


def patient_banner(
    sessions: sessionmaker[Session],
    person: PersonIdentity,
    user_id: int,
    today: dt.date,
    facts: BannerFacts | None = None,
) -> PatientBanner:
    """The banner of `person` as `user_id` sees it on `today` (the age is on the day of death
    for someone who has died). `facts`: as the page read them in this request (None: read
    here)."""
    if facts is None:
        with sessions() as session:
            facts = banner_facts_in(session, person.person_id, user_id)
    named, entry = facts.named, facts.entry
    practice = person.practice_name
    if practice and person.practice_code:
        practice = f"{practice} ({person.practice_code})"
    return PatientBanner(
        person_id=person.person_id,
        name=person.display_name,
        nhs_number=format_nhs_number(person.nhs_number),
        date_of_birth=person.date_of_birth,
        age=person.age_on(min(today, person.date_of_death or today)),
        date_of_death=person.date_of_death,
        sex=SEX_WORDS.get(person.sex, person.sex),
        practice=practice,
        named_professional=f"{named.display_name} ({named.role_label})" if named else None,
        register_state=entry.status_label if entry else None,
        objections=tuple(KINDS[k] for k in facts.objection_kinds),
        break_glass_until=facts.break_glass_until,
    )
