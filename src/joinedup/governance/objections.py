"""Objections to secondary use (type-1 and national data opt-out), and who they leave out.

Objectors are left out of every commissioning aggregate and export and stay visible for their
own direct care. See `joinedup.governance.models.Objection`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.models import Objection


def active_objectors(sessions: sessionmaker[Session]) -> frozenset[int]:
    """person_id of everyone with an objection in force (recorded and not withdrawn)."""
    with sessions() as session:
        return frozenset(
            session.scalars(
                select(Objection.person_id).where(Objection.withdrawn_at.is_(None)).distinct()
            )
        )
