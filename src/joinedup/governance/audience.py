"""Who sees which people, and how, on a list drawn from the population: one rule for every list.

The case-finding lists (page, CSV, `joinedup export case-finding`) and the people behind a
practice-variation count apply the same rule: a user with ``case_finding.view_identifiable``
sees named people in the practices they work in (objectors stay on direct-care lists); anyone
else sees the whole area by keyed-hash pseudonym with objectors left out (and the caller
suppresses the counts). Everything the rule reads is governance's own (roles, where users
work, objections, the area's pseudonym key), so this module imports nothing above governance;
the case-finding lists add the register in `joinedup.care.case_finding_audience`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.audit import COMMISSIONING, DIRECT_CARE
from joinedup.governance.disclosure import DEFAULT_K, disclosure_k
from joinedup.governance.objections import active_objectors
from joinedup.governance.pseudonyms import area_key
from joinedup.governance.relationships import user_practices
from joinedup.governance.roles import Principal
from joinedup.settings import Settings

IDENTIFIABLE = "case_finding.view_identifiable"
PSEUDONYMISED = "case_finding.view_pseudonymised"


@dataclass(frozen=True)
class Audience:
    """What this user may see of a list: which practices, which people, named or not."""

    identifiable: bool
    practices: frozenset[str] | None  # None: the whole area
    excluding: frozenset[int]  # people left out (objectors, beyond direct care)
    pseudonym_key: bytes | None  # set when people are shown by pseudonym
    k: int = DEFAULT_K  # pseudonymised rows leave only in groups of at least k (disclosure)

    @property
    def purpose(self) -> str:
        return DIRECT_CARE if self.identifiable else COMMISSIONING

    def sees_practice(self, practice_code: str) -> bool:
        """Whether this audience may see the people of `practice_code` at all."""
        return self.practices is None or practice_code in self.practices


def may_see_people(user: Principal) -> bool:
    """Whether `user` may see people on a list at all, named or by pseudonym."""
    return user.can(IDENTIFIABLE) or user.can(PSEUDONYMISED)


def list_audience(user: Principal, sessions: sessionmaker[Session], settings: Settings) -> Audience:
    """The audience `user` belongs to for lists of people (see the module docstring)."""
    if user.can(IDENTIFIABLE):
        with sessions() as session:
            practices = user_practices(session, user.user_id)
        return Audience(True, practices, frozenset(), None)
    return Audience(
        False, None, active_objectors(sessions), area_key(settings), disclosure_k(settings)
    )
