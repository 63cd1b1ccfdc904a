"""Social prescribing: referrals to the link worker service (one open per person, by a partial
unique index), follow-up contacts, onward referrals to directory services with their outcome, and
outcome measures (ONS4, WEMWBS, SWEMWBS).

Revision ID: 0011
Revises: 0010 (virtual ward)
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "sp_referrals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("practice_code", sa.String(length=12), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "needs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("snomed_code", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "referred_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "link_worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_mode", sa.String(length=16), nullable=True),
        sa.Column("what_matters", sa.Text(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("plan_agreed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discharge_reason", sa.String(length=24), nullable=True),
        sa.CheckConstraint(
            "discharge_reason IS NULL OR discharge_reason IN "
            "('goals_met', 'disengaged', 'moved_away', 'referred_elsewhere', 'died')",
            name=op.f("ck_sp_referrals_discharge_reason"),
        ),
        sa.CheckConstraint(
            "snomed_code IN ('871731000000106', '871711000000103')",
            name=op.f("ck_sp_referrals_snomed_code"),
        ),
        sa.CheckConstraint(
            "source IN ('professional', 'register', 'mdt', 'self')",
            name=op.f("ck_sp_referrals_source"),
        ),
        sa.CheckConstraint(
            "status IN ('referred', 'active', 'declined', 'discharged')",
            name=op.f("ck_sp_referrals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["link_worker_id"], ["users.id"], name=op.f("fk_sp_referrals_link_worker_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referred_by"], ["users.id"], name=op.f("fk_sp_referrals_referred_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_referrals")),
    )
    with op.batch_alter_table("sp_referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sp_referrals_link_worker_id"), ["link_worker_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sp_referrals_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sp_referrals_referred_at"), ["referred_at"], unique=False
        )
        batch_op.create_index(
            "uq_sp_referrals_open_person",
            ["person_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('referred', 'active')"),
            sqlite_where=sa.text("status IN ('referred', 'active')"),
        )

    op.create_table(
        "sp_contacts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "referral_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("contact_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column(
            "recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint(
            "mode IN ('in_person', 'phone', 'video')", name=op.f("ck_sp_contacts_mode")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_sp_contacts_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["sp_referrals.id"],
            name=op.f("fk_sp_contacts_referral_id_sp_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_contacts")),
    )
    with op.batch_alter_table("sp_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sp_contacts_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "sp_measures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "referral_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("instrument", sa.String(length=8), nullable=False),
        sa.Column("timepoint", sa.String(length=8), nullable=False),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("raw_score", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint(
            "instrument IN ('ons4', 'wemwbs', 'swemwbs')", name=op.f("ck_sp_measures_instrument")
        ),
        sa.CheckConstraint(
            "timepoint IN ('start', 'review', 'end')", name=op.f("ck_sp_measures_timepoint")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_sp_measures_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["sp_referrals.id"],
            name=op.f("fk_sp_measures_referral_id_sp_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_measures")),
    )
    with op.batch_alter_table("sp_measures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sp_measures_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "sp_onward_referrals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "referral_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "referred_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('attended', 'not_taken_up', 'service_full')",
            name=op.f("ck_sp_onward_referrals_outcome"),
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (outcome_at IS NULL)",
            name=op.f("ck_sp_onward_referrals_outcome_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["sp_referrals.id"],
            name=op.f("fk_sp_onward_referrals_referral_id_sp_referrals"),
        ),
        sa.ForeignKeyConstraint(
            ["referred_by"], ["users.id"], name=op.f("fk_sp_onward_referrals_referred_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_sp_onward_referrals_service_id_directory_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_onward_referrals")),
    )
    with op.batch_alter_table("sp_onward_referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sp_onward_referrals_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sp_onward_referrals_service_id"), ["service_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("sp_onward_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sp_onward_referrals_service_id"))
        batch_op.drop_index(batch_op.f("ix_sp_onward_referrals_referral_id"))

    op.drop_table("sp_onward_referrals")
    with op.batch_alter_table("sp_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sp_measures_referral_id"))

    op.drop_table("sp_measures")
    with op.batch_alter_table("sp_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sp_contacts_referral_id"))

    op.drop_table("sp_contacts")
    with op.batch_alter_table("sp_referrals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_sp_referrals_open_person",
            postgresql_where=sa.text("status IN ('referred', 'active')"),
            sqlite_where=sa.text("status IN ('referred', 'active')"),
        )
        batch_op.drop_index(batch_op.f("ix_sp_referrals_referred_at"))
        batch_op.drop_index(batch_op.f("ix_sp_referrals_person_id"))
        batch_op.drop_index(batch_op.f("ix_sp_referrals_link_worker_id"))

    op.drop_table("sp_referrals")
