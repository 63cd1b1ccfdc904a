"""The audit trail's read side and the recording of views.

Writes are audited by `joinedup.carestore.uow.unit_of_work` in their own transaction; a *view*
of an identifiable record or an *export* has no other change to commit, so `record_view` and
`record_export` write the audit event alone, before the data is shown or sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.roles import Principal

DIRECT_CARE = "direct care"


def record_view(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    person_id: int,
    what: str,
    purpose: str = DIRECT_CARE,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that `principal` is about to see `what` (e.g. "person.scores") of `person_id`."""
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action=f"view.{what}",
        entity_type="person",
        entity_id=str(person_id),
        person_id=person_id,
        purpose=purpose,
        detail=detail,
    ):
        pass


def record_export(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    what: str,
    purpose: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that `principal` is about to download `what` (an export: rows, scope in detail)."""
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action=f"export.{what}",
        entity_type="export",
        entity_id=what,
        purpose=purpose,
        detail=detail,
    ):
        pass
