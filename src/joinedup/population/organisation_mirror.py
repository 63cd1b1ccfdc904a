"""The care store's organisations: mirrored from the population store, read by every domain.

`sync_organisations` is the write service (one unit of work, one audit event); it is
idempotent — a second run with the same population store changes nothing. Organisations that
disappear from the population store are made inactive, never deleted.

It lives with the population store it mirrors: the care store (`joinedup.carestore`) is the
bottom layer every domain writes through, so it reads nothing of the domains above it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import unit_of_work
from joinedup.errors import UserError
from joinedup.population.contracts import ORGANISATIONS
from joinedup.population.store import PopulationStore
from joinedup.population.validation import reference_violations, validate_table

SYNC_PURPOSE = "reference data: mirror the organisations of the population store"
_MIRRORED = ("name", "org_type", "parent_code")


class OrganisationSyncError(UserError, ValueError):
    """The population store's organisations cannot be mirrored as they are."""


@dataclass(frozen=True)
class SyncSummary:
    """How many organisations one synchronisation added, changed and made inactive."""

    added: int
    updated: int
    deactivated: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deactivated)

    def __str__(self) -> str:
        return (
            f"{self.added} organisations added, {self.updated} updated, "
            f"{self.deactivated} made inactive"
        )


@dataclass(frozen=True)
class OrganisationRecord:
    """An organisation as read from the care store."""

    org_code: str
    name: str
    org_type: str
    parent_code: str | None
    active: bool
    synced_at: dt.datetime


def sync_organisations(
    store: PopulationStore,
    sessions: sessionmaker[Session],
    *,
    actor: str = "system",
    actor_role: str = "system",
) -> SyncSummary:
    """Bring the care store's organisations in line with the population store's.

    Raises `OrganisationSyncError` (writing nothing) if the store's organisations break their
    contract or their parent references, and `StoreError` if the store has none.
    """
    incoming = _read_organisations(store)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="organisations.sync",
        entity_type="organisation",
        purpose=SYNC_PURPOSE,
    ) as uow:
        existing = {o.org_code: o for o in uow.session.scalars(select(Organisation))}
        added = _add_new(uow.session, existing, incoming, uow.now)
        uow.session.flush()  # new parents exist before existing rows are pointed at them
        updated = _update_existing(existing, incoming, uow.now)
        deactivated = _deactivate_missing(existing, incoming, uow.now)
        summary = SyncSummary(added=added, updated=updated, deactivated=deactivated)
        uow.audit.detail.update(asdict(summary), organisations=len(incoming))
    return summary


def list_organisations(
    sessions: sessionmaker[Session],
    org_type: str | None = None,
    *,
    include_inactive: bool = False,
) -> list[OrganisationRecord]:
    """Organisations by name, optionally of one type; active ones only unless asked."""
    query = select(Organisation).order_by(Organisation.name, Organisation.org_code)
    if org_type is not None:
        query = query.where(Organisation.org_type == org_type)
    if not include_inactive:
        query = query.where(Organisation.active.is_(True))
    with sessions() as session:
        return [_record(o) for o in session.scalars(query)]


def _record(org: Organisation) -> OrganisationRecord:
    return OrganisationRecord(
        org.org_code, org.name, org.org_type, org.parent_code, org.active, org.synced_at
    )


def _read_organisations(store: PopulationStore) -> dict[str, dict[str, Any]]:
    """The store's organisations by code, parents before children, checked first."""
    table = store.read(ORGANISATIONS.name)
    problems = validate_table(ORGANISATIONS, table)
    problems += reference_violations({ORGANISATIONS.name: table})
    if problems:
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise OrganisationSyncError(f"cannot mirror organisations: {shown}{more}")
    rows = {r["org_code"]: {k: r[k] for k in _MIRRORED} for r in table.to_pylist()}
    return {code: rows[code] for code in _parents_first(rows)}


def _parents_first(rows: dict[str, dict[str, Any]]) -> list[str]:
    """Codes ordered so every parent comes before its children; a cycle is an error."""
    ordered: list[str] = []
    placed: set[str] = set()
    for code in sorted(rows):
        chain: list[str] = []
        while code is not None and code not in placed:
            if code in chain:
                raise OrganisationSyncError(f"organisations form a cycle through {code}")
            chain.append(code)
            code = rows[code]["parent_code"]
        ordered.extend(reversed(chain))
        placed.update(chain)
    return ordered


def _add_new(
    session: Session,
    existing: dict[str, Organisation],
    incoming: dict[str, dict[str, Any]],
    now: dt.datetime,
) -> int:
    new = [code for code in incoming if code not in existing]
    for code in new:  # in `incoming` order: parents first
        existing[code] = Organisation(org_code=code, active=True, synced_at=now, **incoming[code])
        session.add(existing[code])
    return len(new)


def _update_existing(
    existing: dict[str, Organisation], incoming: dict[str, dict[str, Any]], now: dt.datetime
) -> int:
    updated = 0
    for code, values in incoming.items():
        org = existing[code]
        wanted = {**values, "active": True}
        if all(getattr(org, k) == v for k, v in wanted.items()):
            continue
        updated += 1
        for key, value in wanted.items():
            setattr(org, key, value)
        org.synced_at = now
    return updated


def _deactivate_missing(
    existing: dict[str, Organisation], incoming: dict[str, dict[str, Any]], now: dt.datetime
) -> int:
    gone = [o for code, o in existing.items() if code not in incoming and o.active]
    for org in gone:
        org.active = False
        org.synced_at = now
    return len(gone)
