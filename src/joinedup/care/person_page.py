"""What the person page reads from the care store, in one read-only session (issue 14).

The page shows the register entry and its moves, the named professional, the care team, the
consent in force, the care plan in brief and the open actions; its patient banner shows the
named professional and register entry again, the objections and the user's break-glass grant.
Each service read opened a session of its own (a transaction begun and rolled back: three round
trips to PostgreSQL for one query) and the banner read two of them again. Here they are read
once, in one session that only reads: nothing is written through it, so no write can be lost
in it (writes keep their own unit of work, and the view's audit event is written by the gate
before this runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.banner import BannerFacts, banner_facts_in
from joinedup.care.named_professionals import TeamMember, care_team_in
from joinedup.care.person_record import OpenAction, PlanSummary, open_actions_in, plan_summary_in
from joinedup.care.register import TransitionRecord, transitions_in
from joinedup.carestore.db import reading
from joinedup.governance.consent import ConsentRecord, current_consent_in


@dataclass(frozen=True)
class PersonPageFacts:
    banner: BannerFacts
    transitions: list[TransitionRecord]
    team: list[TeamMember]
    consent: ConsentRecord | None
    plan: PlanSummary | None
    actions: list[OpenAction]


def person_page_facts(
    sessions: sessionmaker[Session], person_id: int, user_id: int
) -> PersonPageFacts:
    """Everything the person page and its banner read from the care store about `person_id`,
    as `user_id` sees it."""
    with reading(sessions)() as session:
        banner = banner_facts_in(session, person_id, user_id)
        entry = banner.entry
        return PersonPageFacts(
            banner=banner,
            transitions=transitions_in(session, entry.id) if entry else [],
            team=care_team_in(session, person_id),
            consent=current_consent_in(session, person_id),
            plan=plan_summary_in(session, person_id),
            actions=open_actions_in(session, person_id),
        )
