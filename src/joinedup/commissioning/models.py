"""Care-store tables of commissioning: delivery-plan submissions, workforce and the published
practice data loaded for fair comparison.

Delivery plan (joinedup.commissioning.delivery):

* `DeliveryArea` — an area whose delivery of the specification is tracked. By default the
  area's neighbourhoods (mirrored from the organisations table, `org_code` set); a
  specification may instead name its own areas (e.g. the CCGs of a collaborative). The row is
  written the first time a submission names the area, with the population used to weight it.
* `DeliverySubmission` — planned and actual % of the area's population covered by one
  element of the specification in one quarter, with notes. Submissions are never changed: a
  correction is a new row with the next `version`, and the highest version stands.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey


class DeliveryArea(Base):
    """An area the delivery tracker records submissions for."""

    __tablename__ = "delivery_areas"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The registered population the area's percentages are weighted by when aggregated.
    population: Mapped[int] = mapped_column(Integer)
    # The neighbourhood (or other organisation) the area is, when it comes from the
    # organisations table; None for an area named by the specification.
    org_code: Mapped[str | None] = mapped_column(ORG_CODE, ForeignKey("organisations.org_code"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DeliverySubmission(Base):
    """One version of an area's planned and actual % for one element in one quarter."""

    __tablename__ = "delivery_submissions"
    __table_args__ = (
        UniqueConstraint(
            "area_code",
            "element_id",
            "quarter",
            "version",
            name="uq_delivery_submissions_version",
        ),
        Index("ix_delivery_submissions_quarter", "quarter", "element_id"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    specification_id: Mapped[str] = mapped_column(String(40))
    area_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("delivery_areas.code"), index=True
    )
    element_id: Mapped[str] = mapped_column(String(8))
    quarter: Mapped[str] = mapped_column(String(10))  # "2026-27 Q3"
    version: Mapped[int] = mapped_column(Integer)
    planned_percent: Mapped[float | None] = mapped_column(Float)
    actual_percent: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))  # "form" | "csv"
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str] = mapped_column(String(100))
