"""Coordinated care: register, named professionals, care plans, MDT, actions.

Revision ID: 0004
Revises: 0003
Created: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_plans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_care_plans_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
        sa.UniqueConstraint("person_id", name=op.f("uq_care_plans_person_id")),
    )
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_plans_review_due_on"), ["review_due_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_plans_status"), ["status"], unique=False)

    op.create_table(
        "mdt_meetings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("neighbourhood_code", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_mdt_meetings_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_meetings")),
    )
    with op.batch_alter_table("mdt_meetings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mdt_meetings_neighbourhood_starts",
            ["neighbourhood_code", "starts_at"],
            unique=False,
        )

    op.create_table(
        "register_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("practice_code", sa.String(length=12), nullable=False),
        sa.Column("neighbourhood_code", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("source_detail", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_register_entries_added_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_entries")),
        sa.UniqueConstraint("person_id", name=op.f("uq_register_entries_person_id")),
    )
    with op.batch_alter_table("register_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_entries_neighbourhood_code"),
            ["neighbourhood_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_register_entries_practice_code"), ["practice_code"], unique=False
        )
        batch_op.create_index(
            "ix_register_entries_practice_status", ["practice_code", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_register_entries_review_due_on"), ["review_due_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_register_entries_status"), ["status"], unique=False)

    op.create_table(
        "care_plan_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column("agreed_by_person", sa.Boolean(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "agreement_recorded_by",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("agreed_with", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_recorded_by"],
            ["users.id"],
            name=op.f("fk_care_plan_versions_agreement_recorded_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["care_plans.id"], name=op.f("fk_care_plan_versions_plan_id_care_plans")
        ),
        sa.ForeignKeyConstraint(
            ["saved_by"], ["users.id"], name=op.f("fk_care_plan_versions_saved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_versions")),
        sa.UniqueConstraint("plan_id", "version", name=op.f("uq_care_plan_versions_plan_id")),
    )
    with op.batch_alter_table("care_plan_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_plan_versions_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "mdt_agenda_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "meeting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("discussed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["mdt_meetings.id"],
            name=op.f("fk_mdt_agenda_items_meeting_id_mdt_meetings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_agenda_items")),
        sa.UniqueConstraint("meeting_id", "person_id", name=op.f("uq_mdt_agenda_items_meeting_id")),
    )
    with op.batch_alter_table("mdt_agenda_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mdt_agenda_items_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mdt_agenda_items_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "mdt_attendees",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "meeting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["mdt_meetings.id"],
            name=op.f("fk_mdt_attendees_meeting_id_mdt_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mdt_attendees_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_attendees")),
    )
    with op.batch_alter_table("mdt_attendees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mdt_attendees_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "mdt_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "meeting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["mdt_meetings.id"],
            name=op.f("fk_mdt_decisions_meeting_id_mdt_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_mdt_decisions_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_decisions")),
    )
    with op.batch_alter_table("mdt_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mdt_decisions_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mdt_decisions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "named_professionals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("professional_role", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "assigned_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["users.id"], name=op.f("fk_named_professionals_assigned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["register_entries.id"],
            name=op.f("fk_named_professionals_entry_id_register_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_named_professionals_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_named_professionals")),
    )
    with op.batch_alter_table("named_professionals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_named_professionals_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_named_professionals_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_named_professionals_user_ended", ["user_id", "ended_at"], unique=False
        )

    op.create_table(
        "register_transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_status", sa.String(length=40), nullable=True),
        sa.Column("to_status", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_user"], ["users.id"], name=op.f("fk_register_transitions_by_user_users")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["register_entries.id"],
            name=op.f("fk_register_transitions_entry_id_register_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_transitions")),
    )
    with op.batch_alter_table("register_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_transitions_entry_id"), ["entry_id"], unique=False
        )

    op.create_table(
        "care_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column(
            "care_plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "mdt_decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "mdt_meeting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "owner_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_org", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "completed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plans.id"],
            name=op.f("fk_care_actions_care_plan_id_care_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"], ["users.id"], name=op.f("fk_care_actions_completed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_care_actions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["mdt_decision_id"],
            ["mdt_decisions.id"],
            name=op.f("fk_care_actions_mdt_decision_id_mdt_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["mdt_meeting_id"],
            ["mdt_meetings.id"],
            name=op.f("fk_care_actions_mdt_meeting_id_mdt_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_care_actions_owner_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_actions")),
    )
    with op.batch_alter_table("care_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_actions_owner_status_due", ["owner_user_id", "status", "due_on"], unique=False
        )
        batch_op.create_index(
            "ix_care_actions_person_status", ["person_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("care_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_care_actions_person_status")
        batch_op.drop_index("ix_care_actions_owner_status_due")

    op.drop_table("care_actions")
    with op.batch_alter_table("register_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_transitions_entry_id"))

    op.drop_table("register_transitions")
    with op.batch_alter_table("named_professionals", schema=None) as batch_op:
        batch_op.drop_index("ix_named_professionals_user_ended")
        batch_op.drop_index(batch_op.f("ix_named_professionals_person_id"))
        batch_op.drop_index(batch_op.f("ix_named_professionals_entry_id"))

    op.drop_table("named_professionals")
    with op.batch_alter_table("mdt_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mdt_decisions_person_id"))
        batch_op.drop_index(batch_op.f("ix_mdt_decisions_meeting_id"))

    op.drop_table("mdt_decisions")
    with op.batch_alter_table("mdt_attendees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mdt_attendees_meeting_id"))

    op.drop_table("mdt_attendees")
    with op.batch_alter_table("mdt_agenda_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mdt_agenda_items_person_id"))
        batch_op.drop_index(batch_op.f("ix_mdt_agenda_items_meeting_id"))

    op.drop_table("mdt_agenda_items")
    with op.batch_alter_table("care_plan_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plan_versions_plan_id"))

    op.drop_table("care_plan_versions")
    with op.batch_alter_table("register_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_entries_status"))
        batch_op.drop_index(batch_op.f("ix_register_entries_review_due_on"))
        batch_op.drop_index("ix_register_entries_practice_status")
        batch_op.drop_index(batch_op.f("ix_register_entries_practice_code"))
        batch_op.drop_index(batch_op.f("ix_register_entries_neighbourhood_code"))

    op.drop_table("register_entries")
    with op.batch_alter_table("mdt_meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_mdt_meetings_neighbourhood_starts")

    op.drop_table("mdt_meetings")
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plans_status"))
        batch_op.drop_index(batch_op.f("ix_care_plans_review_due_on"))

    op.drop_table("care_plans")
