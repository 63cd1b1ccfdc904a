"""The community-services directory in Open Referral UK v3: organisations, services,
locations, taxonomies and terms, schedules, costs, contacts, languages, accessibility, and
import batches.

Revision ID: 0007
Revises: 0006
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_import_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_import_batches")),
    )
    op.create_table(
        "directory_locations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_type", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("external_identifier", sa.String(length=100), nullable=True),
        sa.Column("external_identifier_type", sa.String(length=50), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_locations")),
    )
    with op.batch_alter_table("directory_locations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directory_locations_lat_lon", ["latitude", "longitude"], unique=False
        )

    op.create_table(
        "directory_organizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("uri", sa.String(length=500), nullable=True),
        sa.Column("logo", sa.String(length=500), nullable=True),
        sa.Column("parent_organization_id", sa.String(length=36), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_organizations")),
    )
    op.create_table(
        "directory_taxonomies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("uri", sa.String(length=500), nullable=True),
        sa.Column("version", sa.String(length=50), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_taxonomies")),
    )
    op.create_table(
        "directory_accessibility",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["directory_locations.id"],
            name=op.f("fk_directory_accessibility_location_id_directory_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_accessibility")),
    )
    with op.batch_alter_table("directory_accessibility", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_accessibility_location_id"), ["location_id"], unique=False
        )

    op.create_table(
        "directory_addresses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("attention", sa.String(length=255), nullable=True),
        sa.Column("address_1", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("state_province", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("address_type", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["directory_locations.id"],
            name=op.f("fk_directory_addresses_location_id_directory_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_addresses")),
    )
    with op.batch_alter_table("directory_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_addresses_location_id"), ["location_id"], unique=False
        )

    op.create_table(
        "directory_services",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("accreditations", sa.Text(), nullable=True),
        sa.Column("minimum_age", sa.Float(), nullable=True),
        sa.Column("maximum_age", sa.Float(), nullable=True),
        sa.Column("alert", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.Date(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=255), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["directory_import_batches.id"],
            name=op.f("fk_directory_services_batch_id_directory_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["directory_organizations.id"],
            name=op.f("fk_directory_services_organization_id_directory_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_services")),
    )
    with op.batch_alter_table("directory_services", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_services_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_directory_services_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_directory_services_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directory_services_reviewed_at"), ["reviewed_at"], unique=False
        )

    op.create_table(
        "directory_taxonomy_terms",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("term", sa.String(length=255), nullable=True),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("taxonomy_id", sa.String(length=36), nullable=False),
        sa.Column("term_uri", sa.String(length=500), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["taxonomy_id"],
            ["directory_taxonomies.id"],
            name=op.f("fk_directory_taxonomy_terms_taxonomy_id_directory_taxonomies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_taxonomy_terms")),
    )
    with op.batch_alter_table("directory_taxonomy_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_taxonomy_terms_taxonomy_id"), ["taxonomy_id"], unique=False
        )

    op.create_table(
        "directory_contacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_directory_contacts_service_id_directory_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_contacts")),
    )
    with op.batch_alter_table("directory_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_contacts_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "directory_cost_options",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("option", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("amount_description", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_directory_cost_options_service_id_directory_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_cost_options")),
    )
    with op.batch_alter_table("directory_cost_options", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_cost_options_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "directory_languages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_directory_languages_service_id_directory_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_languages")),
    )
    with op.batch_alter_table("directory_languages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_languages_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "directory_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("dtstart", sa.Date(), nullable=True),
        sa.Column("freq", sa.String(length=10), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=True),
        sa.Column("byday", sa.String(length=100), nullable=True),
        sa.Column("bymonthday", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("opens_at", sa.String(length=8), nullable=True),
        sa.Column("closes_at", sa.String(length=8), nullable=True),
        sa.Column("schedule_link", sa.String(length=500), nullable=True),
        sa.Column("attending_type", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_directory_schedules_service_id_directory_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_schedules")),
    )
    with op.batch_alter_table("directory_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_schedules_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "directory_service_at_locations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["directory_locations.id"],
            name=op.f("fk_directory_service_at_locations_location"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_directory_service_at_locations_service_id_directory_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_service_at_locations")),
    )
    with op.batch_alter_table("directory_service_at_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_service_at_locations_location_id"),
            ["location_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_directory_service_at_locations_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "directory_service_terms",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("taxonomy_term_id", sa.String(length=36), nullable=False),
        sa.Column("link_type", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["directory_services.id"],
            name=op.f("fk_directory_service_terms_service_id_directory_services"),
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"],
            ["directory_taxonomy_terms.id"],
            name=op.f("fk_directory_service_terms_term"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_service_terms")),
    )
    with op.batch_alter_table("directory_service_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_service_terms_service_id"), ["service_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directory_service_terms_taxonomy_term_id"),
            ["taxonomy_term_id"],
            unique=False,
        )

    op.create_table(
        "directory_phones",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["directory_contacts.id"],
            name=op.f("fk_directory_phones_contact_id_directory_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_phones")),
    )
    with op.batch_alter_table("directory_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_phones_contact_id"), ["contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("directory_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_phones_contact_id"))

    op.drop_table("directory_phones")
    with op.batch_alter_table("directory_service_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_service_terms_taxonomy_term_id"))
        batch_op.drop_index(batch_op.f("ix_directory_service_terms_service_id"))

    op.drop_table("directory_service_terms")
    with op.batch_alter_table("directory_service_at_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_service_at_locations_service_id"))
        batch_op.drop_index(batch_op.f("ix_directory_service_at_locations_location_id"))

    op.drop_table("directory_service_at_locations")
    with op.batch_alter_table("directory_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_schedules_service_id"))

    op.drop_table("directory_schedules")
    with op.batch_alter_table("directory_languages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_languages_service_id"))

    op.drop_table("directory_languages")
    with op.batch_alter_table("directory_cost_options", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_cost_options_service_id"))

    op.drop_table("directory_cost_options")
    with op.batch_alter_table("directory_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_contacts_service_id"))

    op.drop_table("directory_contacts")
    with op.batch_alter_table("directory_taxonomy_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_taxonomy_terms_taxonomy_id"))

    op.drop_table("directory_taxonomy_terms")
    with op.batch_alter_table("directory_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_services_reviewed_at"))
        batch_op.drop_index(batch_op.f("ix_directory_services_organization_id"))
        batch_op.drop_index(batch_op.f("ix_directory_services_name"))
        batch_op.drop_index(batch_op.f("ix_directory_services_batch_id"))

    op.drop_table("directory_services")
    with op.batch_alter_table("directory_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_addresses_location_id"))

    op.drop_table("directory_addresses")
    with op.batch_alter_table("directory_accessibility", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_accessibility_location_id"))

    op.drop_table("directory_accessibility")
    op.drop_table("directory_taxonomies")
    op.drop_table("directory_organizations")
    with op.batch_alter_table("directory_locations", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_locations_lat_lon")

    op.drop_table("directory_locations")
    op.drop_table("directory_import_batches")
