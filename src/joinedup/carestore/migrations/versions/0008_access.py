"""Extended access: hubs, rooms, clinicians, rota sessions, slots, appointments (at most one
booked appointment per slot, by a partial unique index) and system tokens for booking clients.

Revision ID: 0008
Revises: 0007 (the directory)
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hubs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("pcn_code", sa.String(length=12), nullable=False),
        sa.Column(
            "opening_hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hubs")),
        sa.UniqueConstraint("code", name=op.f("uq_hubs_code")),
    )
    with op.batch_alter_table("hubs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hubs_pcn_code"), ["pcn_code"], unique=False)

    op.create_table(
        "hub_clinicians",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("hub_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "role IN ('gp', 'nurse', 'pharmacist', 'physiotherapist', 'paramedic', "
            "'healthcare_assistant', 'mental_health_practitioner', 'social_prescriber')",
            name=op.f("ck_hub_clinicians_role"),
        ),
        sa.ForeignKeyConstraint(
            ["hub_id"], ["hubs.id"], name=op.f("fk_hub_clinicians_hub_id_hubs")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hub_clinicians_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_clinicians")),
        sa.UniqueConstraint("hub_id", "name", name="uq_hub_clinicians_hub_name"),
    )
    with op.batch_alter_table("hub_clinicians", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_clinicians_hub_id"), ["hub_id"], unique=False)

    op.create_table(
        "hub_rooms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("hub_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_hub_rooms_hub_id_hubs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_rooms")),
        sa.UniqueConstraint("hub_id", "name", name="uq_hub_rooms_hub_name"),
    )
    with op.batch_alter_table("hub_rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_rooms_hub_id"), ["hub_id"], unique=False)

    op.create_table(
        "system_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_system_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_system_tokens_token_hash")),
    )
    with op.batch_alter_table("system_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_system_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rota_sessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("hub_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "clinician_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_rota_sessions_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["hub_clinicians.id"],
            name=op.f("fk_rota_sessions_clinician_id_hub_clinicians"),
        ),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_rota_sessions_hub_id_hubs")),
        sa.ForeignKeyConstraint(
            ["room_id"], ["hub_rooms.id"], name=op.f("fk_rota_sessions_room_id_hub_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_sessions")),
        sa.UniqueConstraint("clinician_id", "starts_at", name="uq_rota_sessions_clinician_start"),
    )
    with op.batch_alter_table("rota_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rota_sessions_clinician_id"), ["clinician_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rota_sessions_hub_id"), ["hub_id"], unique=False)

    op.create_table(
        "slots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("hub_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("bookable_practices", sa.Boolean(), nullable=False),
        sa.Column("bookable_nhs111", sa.Boolean(), nullable=False),
        sa.Column("bookable_person", sa.Boolean(), nullable=False),
        sa.Column("released_to_nhs111_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "mode IN ('face_to_face', 'telephone', 'video', 'home_visit')",
            name=op.f("ck_slots_mode"),
        ),
        sa.CheckConstraint("status IN ('free', 'booked')", name=op.f("ck_slots_status")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_slots_ends_after_start")),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_slots_hub_id_hubs")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["rota_sessions.id"], name=op.f("fk_slots_session_id_rota_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sa.UniqueConstraint("session_id", "starts_at", name="uq_slots_session_start"),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index("ix_slots_hub_id_starts_at", ["hub_id", "starts_at"], unique=False)
        batch_op.create_index("ix_slots_status_starts_at", ["status", "starts_at"], unique=False)

    op.create_table(
        "appointments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("slot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("booked_by", sa.String(length=64), nullable=False),
        sa.Column("booker_kind", sa.String(length=10), nullable=False),
        sa.Column("booking_org", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "booker_kind IN ('practice', 'nhs111', 'person')",
            name=op.f("ck_appointments_booker_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'attended', 'dna')",
            name=op.f("ck_appointments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_appointments_slot_id_slots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index(
            "uq_appointments_booked_slot",
            ["slot_id"],
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_appointments_booked_slot",
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index(batch_op.f("ix_appointments_slot_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_person_id"))

    op.drop_table("appointments")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index("ix_slots_status_starts_at")
        batch_op.drop_index("ix_slots_hub_id_starts_at")

    op.drop_table("slots")
    with op.batch_alter_table("rota_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_sessions_hub_id"))
        batch_op.drop_index(batch_op.f("ix_rota_sessions_clinician_id"))

    op.drop_table("rota_sessions")
    with op.batch_alter_table("system_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_tokens_user_id"))

    op.drop_table("system_tokens")
    with op.batch_alter_table("hub_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_rooms_hub_id"))

    op.drop_table("hub_rooms")
    with op.batch_alter_table("hub_clinicians", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_clinicians_hub_id"))

    op.drop_table("hub_clinicians")
    with op.batch_alter_table("hubs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hubs_pcn_code"))

    op.drop_table("hubs")
