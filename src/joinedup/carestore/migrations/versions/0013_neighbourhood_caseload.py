"""The neighbourhood caseload and its home visits: integrated team members, caseload entries
(one open per person per neighbourhood, by a partial unique index), rota shifts, the day's
plans (options and replans) and visit outcomes.

Revision ID: 0013
Revises: 0010 (the virtual ward)
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "neighbourhood_team_members",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("neighbourhood_code", sa.String(length=12), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("organisation_kind", sa.String(length=32), nullable=False),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("team_role", sa.String(length=32), nullable=False),
        sa.Column("band", sa.Integer(), nullable=True),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("wte", sa.Float(), nullable=False),
        sa.Column("base_lat", sa.Float(), nullable=True),
        sa.Column("base_lon", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "organisation_kind IN ('community_trust', 'practice', 'social_care')",
            name=op.f("ck_neighbourhood_team_members_org_kind"),
        ),
        sa.CheckConstraint(
            "team_role IN ('lead_gp', 'lead_district_nurse', 'district_nurse', "
            "'community_nurse', 'community_matron', 'healthcare_assistant', 'therapist', "
            "'social_worker', 'care_coordinator')",
            name=op.f("ck_neighbourhood_team_members_team_role"),
        ),
        sa.CheckConstraint(
            "band IS NULL OR band BETWEEN 2 AND 9", name=op.f("ck_neighbourhood_team_members_band")
        ),
        sa.CheckConstraint(
            "wte > 0 AND wte <= 1.5", name=op.f("ck_neighbourhood_team_members_wte")
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_code"],
            ["organisations.org_code"],
            name=op.f("fk_neighbourhood_team_members_neighbourhood_code_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_neighbourhood_team_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_neighbourhood_team_members")),
    )
    with op.batch_alter_table("neighbourhood_team_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_neighbourhood_team_members_neighbourhood_code"),
            ["neighbourhood_code"],
            unique=False,
        )

    op.create_table(
        "visit_day_plans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("neighbourhood_code", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("continuity_weight", sa.Integer(), nullable=False),
        sa.Column(
            "plan",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column(
            "replaces_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "nurses_to_tell",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('least_travel', 'most_continuity', 'replan')",
            name=op.f("ck_visit_day_plans_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_visit_day_plans_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_code"],
            ["organisations.org_code"],
            name=op.f("fk_visit_day_plans_neighbourhood_code_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["visit_day_plans.id"],
            name=op.f("fk_visit_day_plans_replaces_id_visit_day_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_day_plans")),
    )
    with op.batch_alter_table("visit_day_plans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visit_day_plans_hood_day", ["neighbourhood_code", "day"], unique=False
        )

    op.create_table(
        "caseload_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("neighbourhood_code", sa.String(length=12), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("intake_source", sa.String(length=32), nullable=False),
        sa.Column("acuity", sa.String(length=8), nullable=False),
        sa.Column(
            "named_nurse_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "preferred_nurse_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("visit_type", sa.String(length=32), nullable=False),
        sa.Column("visits_per_week", sa.Integer(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.Integer(), nullable=False),
        sa.Column("fixed_time", sa.Integer(), nullable=True),
        sa.Column(
            "required_skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("two_person", sa.Boolean(), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=False),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        sa.Column("last_outcome_on", sa.Date(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "discharged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("discharge_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "acuity IN ('high', 'medium', 'low')", name=op.f("ck_caseload_entries_acuity")
        ),
        sa.CheckConstraint(
            "discharge_reason IS NULL OR discharge_reason IN ('goals_met', 'self_managing', "
            "'admitted_to_hospital', 'moved_away', 'transferred', 'declined', 'died')",
            name=op.f("ck_caseload_entries_discharge_reason"),
        ),
        sa.CheckConstraint(
            "intake_source IN ('referral', 'register', 'hospital_discharge')",
            name=op.f("ck_caseload_entries_intake_source"),
        ),
        sa.CheckConstraint(
            "visit_type IN ('insulin', 'wound_care', 'end_of_life', 'catheter', "
            "'compression', 'medication', 'assessment')",
            name=op.f("ck_caseload_entries_visit_type"),
        ),
        sa.CheckConstraint(
            "(discharged_at IS NULL) = (discharge_reason IS NULL)",
            name=op.f("ck_caseload_entries_discharge_complete"),
        ),
        sa.CheckConstraint(
            "duration_min BETWEEN 5 AND 240", name=op.f("ck_caseload_entries_duration")
        ),
        sa.CheckConstraint(
            "visits_per_week BETWEEN 1 AND 7", name=op.f("ck_caseload_entries_visits_per_week")
        ),
        sa.CheckConstraint(
            "window_start >= 0 AND window_end <= 1440"
            " AND window_end - window_start >= duration_min",
            name=op.f("ck_caseload_entries_window"),
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_caseload_entries_added_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["discharged_by"], ["users.id"], name=op.f("fk_caseload_entries_discharged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["named_nurse_id"],
            ["neighbourhood_team_members.id"],
            name=op.f("fk_caseload_entries_named_nurse_id_neighbourhood_team_members"),
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_code"],
            ["organisations.org_code"],
            name=op.f("fk_caseload_entries_neighbourhood_code_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["preferred_nurse_id"],
            ["neighbourhood_team_members.id"],
            name="fk_caseload_entries_preferred_nurse",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caseload_entries")),
    )
    with op.batch_alter_table("caseload_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_caseload_entries_neighbourhood_code"),
            ["neighbourhood_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_caseload_entries_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "uq_caseload_entries_open_person",
            ["neighbourhood_code", "person_id"],
            unique=True,
            postgresql_where=sa.text("discharged_at IS NULL"),
            sqlite_where=sa.text("discharged_at IS NULL"),
        )

    op.create_table(
        "rota_shifts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shift_start", sa.Integer(), nullable=False),
        sa.Column("shift_end", sa.Integer(), nullable=False),
        sa.Column("break_start", sa.Integer(), nullable=False),
        sa.Column("break_end", sa.Integer(), nullable=False),
        sa.Column("break_min", sa.Integer(), nullable=False),
        sa.Column("max_visits", sa.Integer(), nullable=True),
        sa.Column("off_from", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "break_start >= shift_start AND break_end <= shift_end"
            " AND break_end - break_start >= break_min",
            name=op.f("ck_rota_shifts_break_inside"),
        ),
        sa.CheckConstraint("shift_end > shift_start", name=op.f("ck_rota_shifts_shift_order")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["neighbourhood_team_members.id"],
            name=op.f("fk_rota_shifts_member_id_neighbourhood_team_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_shifts")),
        sa.UniqueConstraint("member_id", "day", name="uq_rota_shifts_member_day"),
    )
    with op.batch_alter_table("rota_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rota_shifts_day"), ["day"], unique=False)

    op.create_table(
        "visit_outcomes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("neighbourhood_code", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visit_id", sa.String(length=100), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint(
            "outcome IN ('done', 'not_at_home', 'declined', 'needs_review')",
            name=op.f("ck_visit_outcomes_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["caseload_entries.id"],
            name=op.f("fk_visit_outcomes_entry_id_caseload_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["neighbourhood_team_members.id"],
            name=op.f("fk_visit_outcomes_member_id_neighbourhood_team_members"),
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_code"],
            ["organisations.org_code"],
            name=op.f("fk_visit_outcomes_neighbourhood_code_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_visit_outcomes_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_outcomes")),
        sa.UniqueConstraint(
            "neighbourhood_code", "day", "visit_id", name="uq_visit_outcomes_visit"
        ),
    )
    with op.batch_alter_table("visit_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_outcomes_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visit_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_outcomes_entry_id"))

    op.drop_table("visit_outcomes")
    with op.batch_alter_table("rota_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_shifts_day"))

    op.drop_table("rota_shifts")
    with op.batch_alter_table("caseload_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_caseload_entries_open_person",
            postgresql_where=sa.text("discharged_at IS NULL"),
            sqlite_where=sa.text("discharged_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_caseload_entries_person_id"))
        batch_op.drop_index(batch_op.f("ix_caseload_entries_neighbourhood_code"))

    op.drop_table("caseload_entries")
    with op.batch_alter_table("visit_day_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_day_plans_hood_day")

    op.drop_table("visit_day_plans")
    with op.batch_alter_table("neighbourhood_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_neighbourhood_team_members_neighbourhood_code"))

    op.drop_table("neighbourhood_team_members")
