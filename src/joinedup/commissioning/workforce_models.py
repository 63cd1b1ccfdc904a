"""Care-store tables of the workforce baseline (joinedup.commissioning.workforce).

* `WorkforceBatch` — one import of a workforce file: who loaded it, when, what it read and
  rejected, and a checksum of the figures it loaded (so loading the same figures again is
  recognised and changes nothing). Batches are numbered by `version`, 1, 2, 3 …
* `WorkforceFigure` — the full-time equivalent (FTE) of one staff role in one organisation (a
  practice, or a primary care network's own staff) in one period, as one batch loaded it.
  Figures are never changed: a later batch that names the same organisation and period
  supersedes the earlier batch's figures for it (`workforce.current_figures`).

Organisation codes are kept as written in the file, with no foreign key: published workforce
files name PCNs and practices across England, not only the area's own organisations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey


class WorkforceBatch(Base):
    """One import of a workforce file."""

    __tablename__ = "workforce_batches"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    source_name: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the figures loaded (sorted), not of the file's bytes: the same figures
    # written in another order or with other spare columns are the same baseline.
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    lines_read: Mapped[int] = mapped_column(Integer)
    lines_loaded: Mapped[int] = mapped_column(Integer)
    lines_rejected: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(100))


class WorkforceFigure(Base):
    """The FTE of one role in one organisation and period, as one batch loaded it."""

    __tablename__ = "workforce_figures"
    __table_args__ = (
        UniqueConstraint(
            "batch_id", "org_code", "period", "role", name="uq_workforce_figures_role"
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(BigKey, ForeignKey("workforce_batches.id"), index=True)
    org_code: Mapped[str] = mapped_column(ORG_CODE, index=True)
    level: Mapped[str] = mapped_column(String(10))  # "practice" | "pcn"
    org_name: Mapped[str] = mapped_column(String(200), default="")
    # The PCN (or neighbourhood) a practice belongs to, when the file says; "" otherwise.
    pcn_code: Mapped[str] = mapped_column(String(12), default="")
    period: Mapped[str] = mapped_column(String(10))  # "2025" or "2025-09"
    role: Mapped[str] = mapped_column(String(24))  # gp | nurse | direct_patient_care | admin
    fte: Mapped[float] = mapped_column(Float)
    # Registered patients, when the file carries them (else the population store's).
    list_size: Mapped[int | None] = mapped_column(Integer)
    imd_quintile: Mapped[int | None] = mapped_column(Integer)  # 1 most deprived, when given
