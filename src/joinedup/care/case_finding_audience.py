"""Who sees what of the case-finding lists: one rule for the web pages and the CLI export.

The rule itself is governance's (`joinedup.governance.audience`: named people in the user's
practices for direct care, else the whole area by pseudonym without objectors); the lists also
leave out the people already on the coordinated care register, which is care's data, so the
case-finding audience is put together here, above both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import StratificationRun
from joinedup.care.register import register_members
from joinedup.governance.audience import Audience, list_audience
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings


@dataclass(frozen=True)
class CaseFindingAudience(Audience):
    """The list audience, and the people on the coordinated care register now."""

    on_register: frozenset[int] = frozenset()

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
) -> CaseFindingAudience:
    """The audience `user` belongs to for the case-finding lists (see the module docstring)."""
    rule = list_audience(user, sessions, settings)
    return CaseFindingAudience(
        rule.identifiable,
        rule.practices,
        rule.excluding,
        rule.pseudonym_key,
        rule.k,
        on_register=register_members(sessions),
    )
