"""The seam for signing in through an area's own identity provider (OpenID Connect).

joinedup signs people in with a local username and password (`LocalPasswordProvider`, which
the sign-in form uses). Most areas will want their staff to sign in with the accounts they
already have (NHS Care Identity Service 2, an ICB's Microsoft Entra ID, Keycloak…), through
the OpenID Connect authorisation-code flow. That is not implemented yet; this module fixes the
shape it will take so that nothing else has to change when it is.

How an area will plug in its identity provider
----------------------------------------------
1. Register joinedup with the provider as a confidential client whose redirect URI is
   ``https://<joinedup host>/sign-in/oidc/callback``, and set:

   * ``JOINEDUP_OIDC_ISSUER`` — the issuer URL (its ``/.well-known/openid-configuration``
     gives the authorisation, token and JWKS endpoints);
   * ``JOINEDUP_OIDC_CLIENT_ID`` and ``JOINEDUP_OIDC_CLIENT_SECRET``;
   * optionally ``JOINEDUP_OIDC_NAME`` — the provider's short name stored on each user
     (default ``oidc``).

2. An `IdentityProvider` implementation (``OpenIDConnectProvider``) builds the authorisation
   URL with a ``state`` and ``nonce`` the sign-in route keeps in a short-lived cookie
   (`authorisation_url`), and on the callback exchanges the code, checks the ID token's
   signature, issuer, audience, expiry and nonce (OpenID Connect Core 1.0 §3.1.3.7), and
   returns the `ExternalIdentity` (`complete`).

3. Users map to joinedup accounts by the columns already on ``users``:
   ``identity_provider`` (the provider's short name) and ``external_subject`` (the ID token's
   ``sub``, which the provider never reuses). An administrator adds the account first, with
   its role and organisations (``joinedup user add``); the provider says who someone is,
   joinedup's roles say what they may do. A subject with no account is refused with the same
   message as a wrong password. Such accounts have no password hash, so the local form can
   never sign them in.

4. After `complete`, the callback starts a session exactly as the form does
   (`joinedup.governance.sessions.start_session`), so sessions, time-outs, CSRF and the audit
   of sign-in are the same whichever way the user came in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.models import User
from joinedup.governance.users import authenticate

OIDC_ISSUER_SETTING = "JOINEDUP_OIDC_ISSUER"
OIDC_CLIENT_ID_SETTING = "JOINEDUP_OIDC_CLIENT_ID"
OIDC_CLIENT_SECRET_SETTING = "JOINEDUP_OIDC_CLIENT_SECRET"


@dataclass(frozen=True)
class ExternalIdentity:
    """Who the identity provider says signed in."""

    subject: str  # the provider's stable, never-reused identifier (``sub``)
    username: str
    display_name: str


class IdentityProvider(Protocol):
    """An OpenID Connect provider, as the sign-in routes use it (see the module docstring)."""

    name: str

    def authorisation_url(self, state: str, nonce: str) -> str:
        """Where to send the browser to sign in; `state` and `nonce` come back to `complete`."""
        ...

    def complete(self, code: str, state: str) -> ExternalIdentity:
        """Exchange the callback's code for the checked identity of who signed in."""
        ...


class RedirectNotSupported(NotImplementedError):
    """The local provider signs in with the form on joinedup's own page, not by redirect."""


@dataclass(frozen=True)
class LocalPasswordProvider:
    """joinedup's own username-and-password sign-in (the form at /sign-in)."""

    sessions: sessionmaker[Session]
    name: str = "local"

    def authorisation_url(self, state: str, nonce: str) -> str:
        raise RedirectNotSupported("local accounts sign in with the form at /sign-in")

    def complete(self, code: str, state: str) -> ExternalIdentity:
        raise RedirectNotSupported("local accounts sign in with the form at /sign-in")

    def sign_in(self, username: str, password: str, now: dt.datetime) -> User:
        """Check the username and password (lock-out and all): `users.authenticate`."""
        return authenticate(self.sessions, username, password, now)
