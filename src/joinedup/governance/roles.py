"""Roles and permissions, as named data (`roles.yaml`), and the signed-in principal.

Routes ask for a permission by name (`joinedup.web.security.require`); a role is a set of
permissions; pages are given booleans computed from `Principal.can`, never the role itself, so
who may do what is decided in one file and tested as a whole (tests/unit/test_access_matrix.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from joinedup.errors import UserError

ROLES_FILE = Path(__file__).with_name("roles.yaml")


class UnknownRoleError(UserError, LookupError):
    """A role or permission name that roles.yaml does not define."""


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    description: str
    permissions: frozenset[str]
    #: The page sign-in lands the role on, when not the first area it may open (roles.yaml).
    landing: str | None = None


@dataclass(frozen=True)
class RoleBook:
    """Every permission (with its description) and every role, as roles.yaml defines them."""

    permissions: dict[str, str]
    roles: dict[str, Role]

    def role(self, role_id: str) -> Role:
        try:
            return self.roles[role_id]
        except KeyError:
            known = ", ".join(self.roles)
            raise UnknownRoleError(f"no role {role_id!r}; the roles are: {known}") from None

    def check_permission(self, permission: str) -> str:
        if permission not in self.permissions:
            raise UnknownRoleError(f"no permission {permission!r} in {ROLES_FILE.name}")
        return permission


@cache
def role_book(path: Path = ROLES_FILE) -> RoleBook:
    """roles.yaml, checked: every role names only permissions the file declares."""
    data = yaml.safe_load(path.read_text())
    permissions = {str(k): " ".join(str(v).split()) for k, v in data["permissions"].items()}
    roles = {}
    for role_id, spec in data["roles"].items():
        unknown = sorted(set(spec["permissions"]) - set(permissions))
        if unknown:
            raise UnknownRoleError(f"role {role_id} names unknown permissions: {unknown}")
        roles[role_id] = Role(
            id=role_id,
            name=spec["name"],
            description=spec["description"],
            permissions=frozenset(spec["permissions"]),
            landing=spec.get("landing"),
        )
    return RoleBook(permissions=permissions, roles=roles)


ROLE_IDS: tuple[str, ...] = tuple(role_book().roles)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the signed-in user, their role and where they work.

    `organisations` are the org codes the user works in (practices, neighbourhoods or a whole
    federation); the legitimate-relationship rule reads them. `csrf_token` is the token their
    session expects back on every state-changing request.
    """

    user_id: int
    username: str
    display_name: str
    role: str
    organisations: tuple[str, ...] = ()
    csrf_token: str = field(default="", repr=False)
    session_id: str = field(default="", repr=False)
    #: Whether the session held a one-shot message when this request looked it up (False: the
    #: page need not ask the care store for one; a message set later waits for the next page).
    flash_waiting: bool = field(default=True, repr=False)
    # Set when the request came with a system token (`joinedup.governance.system_tokens`).
    token_id: int | None = None

    @property
    def permissions(self) -> frozenset[str]:
        return role_book().role(self.role).permissions

    @property
    def role_name(self) -> str:
        return role_book().role(self.role).name

    def can(self, permission: str) -> bool:
        return role_book().check_permission(permission) in self.permissions

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return self.username
