"""Who sees what of the case-finding lists: one rule for the web pages and the CLI export.

Moved from `joinedup.web.case_finding` (issue 4) so `joinedup export case-finding` applies the
same rule as the page and its CSV: a user with ``case_finding.view_identifiable`` sees named
people in the practices they work in (objectors stay on direct-care lists); anyone else sees
the whole area by keyed-hash pseudonym with objectors left out (and the caller suppresses the
counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import StratificationRun
from joinedup.care.register import register_members
from joinedup.governance.audit import COMMISSIONING, DIRECT_CARE
from joinedup.governance.objections import active_objectors
from joinedup.governance.pseudonyms import area_key
from joinedup.governance.relationships import user_practices
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings


@dataclass(frozen=True)
class Audience:
    """What this user may see of the lists: which practices, which people, named or not."""

    identifiable: bool
    practices: frozenset[str] | None  # None: the whole area
    excluding: frozenset[int]  # people left out (objectors, beyond direct care)
    pseudonym_key: bytes | None  # set when people are shown by pseudonym
    on_register: frozenset[int]  # people on the coordinated care register now

    @property
    def purpose(self) -> str:
        return DIRECT_CARE if self.identifiable else COMMISSIONING

    def run_list(
        self,
        store: PopulationStore,
        list_id: str,
        *,
        practice: str | None,
        neighbourhood: str | None,
        run: StratificationRun | None,
    ) -> cf.CaseFindingResult:
        """The list as this audience may see it: their practices or the whole area, objectors
        out beyond direct care, the register left out, suppressed when not identifiable.
        Raises `case_finding`'s organisation errors for the caller to put in words."""
        result = cf.run_list(
            store,
            list_id,
            practice=practice,
            neighbourhood=neighbourhood,
            within_practices=self.practices,
            excluding=self.excluding,
            run=run,
            on_register=self.on_register,
        )
        return result if self.identifiable else result.published()


def case_finding_audience(
    user: Principal, sessions: sessionmaker[Session], settings: Settings
) -> Audience:
    """The audience `user` belongs to for the case-finding lists (see the module docstring)."""
    if user.can("case_finding.view_identifiable"):
        with sessions() as session:
            practices = user_practices(session, user.user_id)
        return Audience(True, practices, frozenset(), None, register_members(sessions))
    return Audience(
        False, None, active_objectors(sessions), area_key(settings), register_members(sessions)
    )
