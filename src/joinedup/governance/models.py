"""Care-store tables of information governance: users and their sessions, where they work,
care-team membership, break-glass grants, consent and objections.

The audit trail itself is `joinedup.carestore.models.AuditEvent` (shared by every domain).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey

USERNAME = String(64)


class User(Base):
    """A person who signs in to joinedup. Never deleted: disabled, so the audit stays readable."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(USERNAME, unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), index=True)
    # argon2id hash; NULL for accounts that sign in only through an identity provider.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # "local", or the name of an OpenID Connect provider with `external_subject` its `sub`.
    identity_provider: Mapped[str] = mapped_column(String(50), default="local")
    external_subject: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A password an administrator generated (ADR 0043): pages lead to "Change your password"
    # until the user has.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class UserOrganisation(Base):
    """An organisation a user works in: a practice, a neighbourhood or a whole federation.

    The legitimate-relationship rule lets a user see people registered at any practice at or
    under these organisations.
    """

    __tablename__ = "user_organisations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    org_code: Mapped[str] = mapped_column(
        ORG_CODE, ForeignKey("organisations.org_code"), primary_key=True
    )


class WebSession(Base):
    """A signed-in browser session. The cookie holds a random token; only its SHA-256 is kept."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The one-shot message for the next page ({"kind": "notice"|"error", "text": ...}).
    flash: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))


class CareTeamMember(Base):
    """A user on a person's care team: a legitimate relationship wherever the person lives.

    The coordinated-care work manages membership; governance only reads current members
    (`ended_at` empty).
    """

    __tablename__ = "care_team_members"
    __table_args__ = (Index("ix_care_team_members_person_user", "person_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_role: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BreakGlassGrant(Base):
    """Time-limited access to one person's record without a legitimate relationship.

    Granted on a stated reason, recorded in the audit trail, and flagged until a governance
    lead reviews it (`reviewed_at`, `review_outcome`: appropriate | inappropriate).
    """

    __tablename__ = "break_glass_grants"
    __table_args__ = (Index("ix_break_glass_grants_user_person", "user_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_outcome: Mapped[str | None] = mapped_column(String(20))
    review_note: Mapped[str | None] = mapped_column(Text)


class Consent(Base):
    """A person's decision about sharing, kept as history: the latest row per kind stands.

    kind: ``share_care_plan`` (share the care plan across organisations);
    decision: ``given`` | ``refused`` | ``withdrawn``.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_person_kind", "person_id", "kind"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(USERNAME)
    note: Mapped[str | None] = mapped_column(Text)


class Objection(Base):
    """An objection to secondary use of the person's data (active while `withdrawn_at` is empty).

    kind: ``type_1`` (recorded at the GP practice: no identifiable data leaves it for purposes
    other than direct care) or ``national_data_opt_out``. Objectors are left out of every
    commissioning aggregate and export, and stay visible for their direct care.
    """

    __tablename__ = "objections"
    __table_args__ = (UniqueConstraint("person_id", "kind", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(40))  # "recorded" in joinedup, or "imported"
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(USERNAME)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SystemToken(Base):
    """A bearer token for a system client (NHS 111, another practice's system) acting as `user_id`.

    The token itself is shown once when issued; only its SHA-256 is kept, so a copy of the
    database cannot be replayed. It gives exactly its user's role and organisations, and stops
    working when it expires, is revoked, or its user is disabled.
    """

    __tablename__ = "system_tokens"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
