"""Signing in within in-process tests, without the sign-in form.

`sign_in_as(app, "gp", organisations=("SYNN01",))` makes every request to `app` come from a
user of that role (it overrides `current_principal`); state-changing requests must send
`CSRF_TOKEN` (header ``X-CSRF-Token`` or form field ``csrf_token``), as a browser would.
The real sign-in form, sessions and cookies are tested in tests/integration/test_sign_in.py.
"""

from __future__ import annotations

from fastapi import FastAPI

from joinedup.governance.roles import Principal
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.security import current_principal

CSRF_TOKEN = "test-csrf-token"


def principal(
    role: str,
    *,
    user_id: int = 1,
    username: str | None = None,
    organisations: tuple[str, ...] = (),
) -> Principal:
    return Principal(
        user_id=user_id,
        username=username or f"test-{role}",
        display_name=f"Test {role.replace('_', ' ')}",
        role=role,
        organisations=organisations,
        csrf_token=CSRF_TOKEN,
    )


def sign_in_as(app: FastAPI, who: str | Principal, **kwargs: object) -> Principal:
    """Make every request to `app` come from `who` (a role, or a whole Principal)."""
    user = principal(who, **kwargs) if isinstance(who, str) else who  # type: ignore[arg-type]
    app.dependency_overrides[current_principal] = lambda: user
    return user


def sign_out(app: FastAPI) -> None:
    app.dependency_overrides.pop(current_principal, None)


def signed_in_app(settings: Settings, role: str = "gp", **kwargs: object) -> FastAPI:
    """The web app for `settings` with every request signed in as `role` (see `sign_in_as`)."""
    app = create_app(settings)
    sign_in_as(app, role, **kwargs)
    return app
