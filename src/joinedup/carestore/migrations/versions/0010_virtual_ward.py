"""The virtual ward: wards with capacity, admissions (one open per person, by a partial unique
index), observation schedules, reading sets with their NEWS2 result, and the alert queue.

Revision ID: 0010
Revises: 0009 (session flash messages)
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "virtual_wards",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_code", sa.String(length=12), nullable=False),
        sa.Column("capacity_beds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity_beds > 0", name=op.f("ck_virtual_wards_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["org_code"],
            ["organisations.org_code"],
            name=op.f("fk_virtual_wards_org_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_wards")),
        sa.UniqueConstraint("name", name=op.f("uq_virtual_wards_name")),
    )
    op.create_table(
        "ward_admissions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ward_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pathway", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("expected_stay_days", sa.Integer(), nullable=False),
        sa.Column(
            "responsible_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "admitted_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("scale2_decided_by", sa.String(length=200), nullable=True),
        sa.Column("scale2_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scale2_target_low", sa.Integer(), nullable=True),
        sa.Column("scale2_target_high", sa.Integer(), nullable=True),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "discharged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("discharge_outcome", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "discharge_outcome IS NULL OR "
            "discharge_outcome IN ('home', 'caseload', 'hospital', 'died')",
            name=op.f("ck_ward_admissions_discharge_outcome"),
        ),
        sa.CheckConstraint(
            "pathway IN ('step_up', 'step_down')", name=op.f("ck_ward_admissions_pathway")
        ),
        sa.CheckConstraint(
            "source IN ('gp', 'community_team', 'urgent_community_response', "
            "'ambulance', 'hospital')",
            name=op.f("ck_ward_admissions_source"),
        ),
        sa.CheckConstraint(
            "(discharged_at IS NULL) = (discharge_outcome IS NULL)",
            name=op.f("ck_ward_admissions_discharge_complete"),
        ),
        sa.CheckConstraint(
            "expected_stay_days BETWEEN 1 AND 90", name=op.f("ck_ward_admissions_expected_stay")
        ),
        sa.ForeignKeyConstraint(
            ["admitted_by"], ["users.id"], name=op.f("fk_ward_admissions_admitted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["discharged_by"], ["users.id"], name=op.f("fk_ward_admissions_discharged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_user_id"],
            ["users.id"],
            name=op.f("fk_ward_admissions_responsible_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ward_id"], ["virtual_wards.id"], name=op.f("fk_ward_admissions_ward_id_virtual_wards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward_admissions")),
    )
    with op.batch_alter_table("ward_admissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ward_admissions_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ward_admissions_ward_id"), ["ward_id"], unique=False)
        batch_op.create_index(
            "uq_ward_admissions_open_person",
            ["person_id"],
            unique=True,
            postgresql_where=sa.text("discharged_at IS NULL"),
            sqlite_where=sa.text("discharged_at IS NULL"),
        )

    op.create_table(
        "ward_observation_schedules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "admission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("every_minutes", sa.Integer(), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint(
            "every_minutes > 0", name=op.f("ck_ward_observation_schedules_every_positive")
        ),
        sa.CheckConstraint(
            "grace_minutes >= 0", name=op.f("ck_ward_observation_schedules_grace_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["admission_id"],
            ["ward_admissions.id"],
            name=op.f("fk_ward_observation_schedules_admission_id_ward_admissions"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_ward_observation_schedules_created_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward_observation_schedules")),
    )
    with op.batch_alter_table("ward_observation_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ward_observation_schedules_admission_id"), ["admission_id"], unique=False
        )

    op.create_table(
        "ward_reading_sets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "admission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("resp_rate", sa.Float(), nullable=True),
        sa.Column("spo2", sa.Float(), nullable=True),
        sa.Column("on_oxygen", sa.Boolean(), nullable=True),
        sa.Column("systolic_bp", sa.Float(), nullable=True),
        sa.Column("pulse", sa.Float(), nullable=True),
        sa.Column("consciousness", sa.String(length=1), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("spo2_scale", sa.Integer(), nullable=False),
        sa.Column(
            "sub_scores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "missing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("partial_sum", sa.Integer(), nullable=False),
        sa.Column("red_score", sa.Boolean(), nullable=False),
        sa.Column("news2_total", sa.Integer(), nullable=True),
        sa.Column("news2_risk", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "consciousness IS NULL OR consciousness IN ('A', 'C', 'V', 'P', 'U')",
            name=op.f("ck_ward_reading_sets_consciousness"),
        ),
        sa.CheckConstraint(
            "news2_risk IS NULL OR news2_risk IN ('low', 'low-medium', 'medium', 'high')",
            name=op.f("ck_ward_reading_sets_news2_risk"),
        ),
        sa.CheckConstraint(
            "taken_by IN ('staff', 'person', 'carer', 'device')",
            name=op.f("ck_ward_reading_sets_taken_by"),
        ),
        sa.CheckConstraint(
            "(news2_total IS NULL) = (news2_risk IS NULL)",
            name=op.f("ck_ward_reading_sets_total_and_risk"),
        ),
        sa.CheckConstraint("spo2_scale IN (1, 2)", name=op.f("ck_ward_reading_sets_spo2_scale")),
        sa.ForeignKeyConstraint(
            ["admission_id"],
            ["ward_admissions.id"],
            name=op.f("fk_ward_reading_sets_admission_id_ward_admissions"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_ward_reading_sets_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward_reading_sets")),
    )
    with op.batch_alter_table("ward_reading_sets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ward_reading_sets_admission_taken", ["admission_id", "taken_at"], unique=False
        )

    op.create_table(
        "ward_alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "admission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "reading_set_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "escalation_chain",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_to_role", sa.String(length=32), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "acknowledged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_taken", sa.String(length=32), nullable=True),
        sa.Column(
            "actioned_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("actioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.Column("changed_management", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "action_taken IS NULL OR "
            "action_taken IN ('call', 'visit', 'medication_change', 'hospital')",
            name=op.f("ck_ward_alerts_action_taken"),
        ),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'actioned', 'closed')",
            name=op.f("ck_ward_alerts_state"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_ward_alerts_version_positive")),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_ward_alerts_acknowledged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["actioned_by"], ["users.id"], name=op.f("fk_ward_alerts_actioned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["admission_id"],
            ["ward_admissions.id"],
            name=op.f("fk_ward_alerts_admission_id_ward_admissions"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_ward_alerts_closed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["reading_set_id"],
            ["ward_reading_sets.id"],
            name=op.f("fk_ward_alerts_reading_set_id_ward_reading_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward_alerts")),
        sa.UniqueConstraint(
            "admission_id", "rule_id", "raised_at", name="uq_ward_alerts_admission_rule_raised"
        ),
    )
    with op.batch_alter_table("ward_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ward_alerts_admission_id"), ["admission_id"], unique=False
        )
        batch_op.create_index("ix_ward_alerts_state_due", ["state", "due_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ward_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_ward_alerts_state_due")
        batch_op.drop_index(batch_op.f("ix_ward_alerts_admission_id"))

    op.drop_table("ward_alerts")
    with op.batch_alter_table("ward_reading_sets", schema=None) as batch_op:
        batch_op.drop_index("ix_ward_reading_sets_admission_taken")

    op.drop_table("ward_reading_sets")
    with op.batch_alter_table("ward_observation_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ward_observation_schedules_admission_id"))

    op.drop_table("ward_observation_schedules")
    with op.batch_alter_table("ward_admissions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ward_admissions_open_person",
            postgresql_where=sa.text("discharged_at IS NULL"),
            sqlite_where=sa.text("discharged_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_ward_admissions_ward_id"))
        batch_op.drop_index(batch_op.f("ix_ward_admissions_person_id"))

    op.drop_table("ward_admissions")
    op.drop_table("virtual_wards")
