"""Care-store tables of the community-services directory, in Open Referral UK (ORUK) v3 terms.

ORUK v3 is the UK profile of the Human Services Data Specification (HSDS) 3.0; its entities and
field names are kept here as the standard spells them, and its ids (UUIDs, as lower-case text)
are the rows' identity, so a record keeps its id from the publisher's feed through joinedup's
own API. Profile and schemas: OpenReferralUK/uk-profile (CC BY-SA 4.0, Open Referral project).

* `DirectoryOrganization`, `DirectoryLocation` (+ `DirectoryAddress`, `DirectoryAccessibility`),
  `DirectoryTaxonomy` and `DirectoryTaxonomyTerm` are shared by many services: an import upserts
  each once.
* `DirectoryService` owns its schedules, cost options, contacts (+ phones), languages, term
  links (ORUK "attributes") and service-at-locations; an import that changes a service replaces
  them together. Eligibility has no entity of its own in v3: it is the service's age limits plus
  its attributes whose term comes from an eligibility taxonomy (ADR 0015).
* Review metadata is ORUK's own: `reviewed_at` is the service's ``assured_date`` (when the entry
  was last checked) and `reviewed_by` its ``assurer_email``; a service is stale when its review
  is older than the configured age (`joinedup.directory.services.STALE_AFTER_MONTHS`).
* `DirectoryImportBatch` records each import (who, when, what was read, created, updated,
  unchanged and rejected); a service row names the batch that last wrote it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from joinedup.carestore.db import Base, UTCDateTime
from joinedup.carestore.models import BigKey

ORUK_ID = String(36)  # a UUID as text, lower case


class DirectoryImportBatch(Base):
    """One `joinedup directory import` (or demo seeding) of an ORUK file."""

    __tablename__ = "directory_import_batches"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    source_name: Mapped[str] = mapped_column(String(255))
    records_read: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(100))


class DirectoryOrganization(Base):
    __tablename__ = "directory_organizations"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(500))
    uri: Mapped[str | None] = mapped_column(String(500))
    logo: Mapped[str | None] = mapped_column(String(500))
    # Kept as given, no foreign key: a feed may name a parent it does not publish.
    parent_organization_id: Mapped[str | None] = mapped_column(ORUK_ID)
    # SHA-256 of its canonical ORUK content: an import rewrites it only when that changes.
    content_hash: Mapped[str] = mapped_column(String(64))


class DirectoryTaxonomy(Base):
    __tablename__ = "directory_taxonomies"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(50))
    # SHA-256 of its canonical ORUK content: an import rewrites it only when that changes.
    content_hash: Mapped[str] = mapped_column(String(64))


class DirectoryTaxonomyTerm(Base):
    __tablename__ = "directory_taxonomy_terms"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    term: Mapped[str | None] = mapped_column(String(255))
    # The parent term, when the taxonomy is a tree; kept as given (a feed may cite a parent
    # term it does not publish).
    parent_id: Mapped[str | None] = mapped_column(ORUK_ID)
    taxonomy_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_taxonomies.id"), index=True
    )
    term_uri: Mapped[str | None] = mapped_column(String(500))
    # SHA-256 of its canonical ORUK content: an import rewrites it only when that changes.
    content_hash: Mapped[str] = mapped_column(String(64))


class DirectoryLocation(Base):
    __tablename__ = "directory_locations"
    # Proximity searches first cut a latitude band, then compute distances.
    __table_args__ = (Index("ix_directory_locations_lat_lon", "latitude", "longitude"),)

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    location_type: Mapped[str] = mapped_column(String(10))  # physical | postal | virtual
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    external_identifier: Mapped[str | None] = mapped_column(String(100))
    external_identifier_type: Mapped[str | None] = mapped_column(String(50))
    # SHA-256 of its canonical ORUK content: an import rewrites it only when that changes.
    content_hash: Mapped[str] = mapped_column(String(64))

    addresses: Mapped[list[DirectoryAddress]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryAddress.id"
    )
    accessibility: Mapped[list[DirectoryAccessibility]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryAccessibility.id"
    )


class DirectoryAddress(Base):
    __tablename__ = "directory_addresses"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    location_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_locations.id"), index=True
    )
    attention: Mapped[str | None] = mapped_column(String(255))
    address_1: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    state_province: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    address_type: Mapped[str] = mapped_column(String(10))


class DirectoryAccessibility(Base):
    __tablename__ = "directory_accessibility"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    location_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_locations.id"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))


class DirectoryService(Base):
    __tablename__ = "directory_services"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(
        ORUK_ID, ForeignKey("directory_organizations.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    accreditations: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[float | None] = mapped_column(Float)
    maximum_age: Mapped[float | None] = mapped_column(Float)
    alert: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # ORUK assured_date and assurer_email: when the entry was last checked, and by whom.
    reviewed_at: Mapped[dt.date | None] = mapped_column(index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of the service's own canonical ORUK content (shared entities by id only).
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("directory_import_batches.id"), index=True
    )

    organization: Mapped[DirectoryOrganization | None] = relationship()
    schedules: Mapped[list[DirectorySchedule]] = relationship(
        cascade="all, delete-orphan", order_by="DirectorySchedule.id"
    )
    cost_options: Mapped[list[DirectoryCostOption]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryCostOption.id"
    )
    contacts: Mapped[list[DirectoryContact]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryContact.id"
    )
    languages: Mapped[list[DirectoryLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryLanguage.id"
    )
    attributes: Mapped[list[DirectoryServiceTerm]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryServiceTerm.id"
    )
    service_at_locations: Mapped[list[DirectoryServiceAtLocation]] = relationship(
        cascade="all, delete-orphan",
        order_by="DirectoryServiceAtLocation.id",
        back_populates="service",
    )


class DirectoryServiceTerm(Base):
    """An ORUK attribute: a link between a service and a taxonomy term."""

    __tablename__ = "directory_service_terms"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    taxonomy_term_id: Mapped[str] = mapped_column(
        # Named by hand: the convention's name is longer than PostgreSQL's 63 characters.
        ORUK_ID,
        ForeignKey("directory_taxonomy_terms.id", name="fk_directory_service_terms_term"),
        index=True,
    )
    link_type: Mapped[str | None] = mapped_column(String(50))

    taxonomy_term: Mapped[DirectoryTaxonomyTerm] = relationship()


class DirectoryServiceAtLocation(Base):
    __tablename__ = "directory_service_at_locations"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    location_id: Mapped[str] = mapped_column(
        # Named by hand: the convention's name is longer than PostgreSQL's 63 characters.
        ORUK_ID,
        ForeignKey("directory_locations.id", name="fk_directory_service_at_locations_location"),
        index=True,
    )

    location: Mapped[DirectoryLocation] = relationship()
    service: Mapped[DirectoryService] = relationship(back_populates="service_at_locations")


class DirectorySchedule(Base):
    """When a service runs, as an RFC 5545 recurrence (freq, interval, byday, bymonthday)."""

    __tablename__ = "directory_schedules"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    dtstart: Mapped[dt.date | None]
    freq: Mapped[str | None] = mapped_column(String(10))
    interval: Mapped[int | None] = mapped_column(Integer)
    byday: Mapped[str | None] = mapped_column(String(100))
    bymonthday: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[str | None] = mapped_column(String(8))  # hh:mm:ss, local time
    closes_at: Mapped[str | None] = mapped_column(String(8))
    schedule_link: Mapped[str | None] = mapped_column(String(500))
    attending_type: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)


class DirectoryCostOption(Base):
    __tablename__ = "directory_cost_options"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    option: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[float | None] = mapped_column(Float)
    amount_description: Mapped[str | None] = mapped_column(String(255))


class DirectoryContact(Base):
    __tablename__ = "directory_contacts"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))

    phones: Mapped[list[DirectoryPhone]] = relationship(
        cascade="all, delete-orphan", order_by="DirectoryPhone.id"
    )


class DirectoryPhone(Base):
    __tablename__ = "directory_phones"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    contact_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_contacts.id"), index=True
    )
    number: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(255))


class DirectoryLanguage(Base):
    __tablename__ = "directory_languages"

    id: Mapped[str] = mapped_column(ORUK_ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ORUK_ID, ForeignKey("directory_services.id"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(20))  # ISO 639
