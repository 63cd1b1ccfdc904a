"""The legitimate-relationship rule: may this user see this named person's record?

A user with ``record.view`` sees a person when

1. the person is registered at a practice at or under one of the organisations the user works
   in (`UserOrganisation`: a practice, its neighbourhood, or the whole federation), or
2. the user is on the person's care team (`CareTeamMember`, not ended), or
3. the user holds an unexpired break-glass grant for the person (`BreakGlassGrant`).

Anything else is refused; the user may then break glass (``record.break_glass``) by stating a
reason. This module only answers the question: the caller audits the view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.db import reading
from joinedup.carestore.models import Organisation
from joinedup.governance.models import BreakGlassGrant, CareTeamMember, UserOrganisation
from joinedup.governance.roles import Principal

Basis = Literal["organisation", "care_team", "break_glass"]


@dataclass(frozen=True)
class Access:
    """Whether the user may see the person, and on what basis."""

    allowed: bool
    basis: Basis | None = None
    break_glass_expires_at: dt.datetime | None = None

    @property
    def needs_break_glass(self) -> bool:
        return not self.allowed


@dataclass(frozen=True)
class OrganisationTree:
    """The care store's organisation tree as read once: each code's kind and children."""

    kinds: Mapping[str, str]
    children: Mapping[str | None, tuple[str, ...]]

    def practices_under(self, org_codes: Iterable[str]) -> frozenset[str]:
        """Every practice at or under `org_codes` (practices included)."""
        found: set[str] = set()
        todo = [c for c in org_codes if c in self.kinds]
        while todo:
            code = todo.pop()
            if self.kinds.get(code) == "practice":
                found.add(code)
            todo.extend(self.children.get(code, ()))
        return frozenset(found)


def organisation_tree(session: Session) -> OrganisationTree:
    """The organisation tree, in one query (read it once for many users' practices)."""
    rows = session.execute(
        select(Organisation.org_code, Organisation.org_type, Organisation.parent_code)
    ).all()
    children: dict[str | None, list[str]] = {}
    kinds = {}
    for code, kind, parent in rows:
        children.setdefault(parent, []).append(code)
        kinds[code] = kind
    return OrganisationTree(kinds, {k: tuple(v) for k, v in children.items()})


def practices_covered(session: Session, org_codes: Iterable[str]) -> frozenset[str]:
    """Every practice at or under `org_codes` in the organisation tree (practices included)."""
    return organisation_tree(session).practices_under(org_codes)


def user_practices(session: Session, user_id: int) -> frozenset[str]:
    """The practices whose registered people a user has a relationship with by where they work."""
    codes = session.scalars(
        select(UserOrganisation.org_code).where(UserOrganisation.user_id == user_id)
    ).all()
    return practices_covered(session, codes)


def person_access(
    sessions: sessionmaker[Session],
    principal: Principal,
    person_id: int,
    practice_code: str | None,
    *,
    now: dt.datetime | None = None,
) -> Access:
    """May `principal` see `person_id`, currently registered at `practice_code` (None: not
    registered in the area)? Users without ``record.view`` never may."""
    if not principal.can("record.view"):
        return Access(False)
    now = now or dt.datetime.now(dt.UTC)
    with reading(sessions)() as session:
        if practice_code and practice_code in user_practices(session, principal.user_id):
            return Access(True, "organisation")
        on_team = session.scalar(
            select(CareTeamMember.id).where(
                CareTeamMember.person_id == person_id,
                CareTeamMember.user_id == principal.user_id,
                CareTeamMember.ended_at.is_(None),
            )
        )
        if on_team is not None:
            return Access(True, "care_team")
        expires = _grant_expiry(session, principal.user_id, person_id, now)
        if expires is not None:
            return Access(True, "break_glass", expires)
    return Access(False)


def break_glass_expiry(
    sessions: sessionmaker[Session], user_id: int, person_id: int, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the user's unexpired break-glass grant for the person ends (None: none in force)."""
    with sessions() as session:
        return break_glass_expiry_in(session, user_id, person_id, now)


def break_glass_expiry_in(
    session: Session, user_id: int, person_id: int, now: dt.datetime | None = None
) -> dt.datetime | None:
    """`break_glass_expiry` in a session of the caller's (a page's reads together)."""
    return _grant_expiry(session, user_id, person_id, now or dt.datetime.now(dt.UTC))


def relationship_scope(
    sessions: sessionmaker[Session], user_id: int
) -> tuple[frozenset[str], frozenset[int]]:
    """Whom the user has a legitimate relationship with, break-glass aside: the practices whose
    registered people they may see, and the people whose care team they are on."""
    with sessions() as session:
        team = session.scalars(
            select(CareTeamMember.person_id).where(
                CareTeamMember.user_id == user_id, CareTeamMember.ended_at.is_(None)
            )
        )
        return user_practices(session, user_id), frozenset(team)


def _grant_expiry(
    session: Session, user_id: int, person_id: int, now: dt.datetime
) -> dt.datetime | None:
    return session.scalar(
        select(BreakGlassGrant.expires_at)
        .where(
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.user_id == user_id,
            BreakGlassGrant.expires_at > now,
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )
