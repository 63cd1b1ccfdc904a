"""Recording that a user is about to see a list of people (a worklist, not one record).

`joinedup.governance.audit.record_view` names one person; a case-finding list names many, so
its view is one event naming the list, its scope and how many rows were shown, written alone
(nothing else changes) before the list is rendered. People on the list are not named in the
event: the list's rule, scope and the index date reproduce exactly who was shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.uow import unit_of_work
from joinedup.governance.audit import DIRECT_CARE
from joinedup.governance.roles import Principal

COMMISSIONING = "commissioning: pseudonymised, objectors left out"


def record_list_view(
    sessions: sessionmaker[Session],
    principal: Principal,
    *,
    what: str,
    list_id: str,
    scope: Mapping[str, Any],
    rows: int,
    identifiable: bool,
    purpose: str | None = None,
) -> None:
    """Record that `principal` is about to see `rows` people of list `list_id` in `scope`.

    `what` names the kind of list (e.g. "case_finding_list"); the action is ``view.<what>``.
    """
    with unit_of_work(
        sessions,
        actor=principal.actor,
        actor_role=principal.role,
        action=f"view.{what}",
        entity_type=what,
        entity_id=list_id,
        purpose=purpose or (DIRECT_CARE if identifiable else COMMISSIONING),
        detail={"list": list_id, "scope": dict(scope), "rows": rows, "identifiable": identifiable},
    ):
        pass
