"""Care-store table of care navigation at first contact: each time a receptionist or care
navigator signposts a caller to a service, with the caller's need and the outcome.

No person is named: the record counts demand met outside GP appointments by practice and need
(`joinedup.directory.navigation`), so it holds the practice, the need and where the caller was
sent, never who called.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.carestore.db import Base, UTCDateTime
from joinedup.carestore.models import ORG_CODE, BigKey
from joinedup.directory.models import ORUK_ID


class Signposting(Base):
    """One caller signposted at first contact."""

    __tablename__ = "care_navigation_signposts"
    __table_args__ = (Index("ix_care_navigation_signposts_practice_need", "practice_code", "need"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))
    practice_code: Mapped[str] = mapped_column(ORG_CODE, ForeignKey("organisations.org_code"))
    # The need as a taxonomy term of the directory, and its name when recorded (the report
    # counts by name, which survives a re-import that changes the term).
    need_term_id: Mapped[str | None] = mapped_column(ORUK_ID)
    need: Mapped[str] = mapped_column(String(255))
    # Where the caller was sent: a directory service (its id, kept as given: a service may
    # later leave the directory) or one of the practice's own services (its key).
    service_id: Mapped[str | None] = mapped_column(ORUK_ID, index=True)
    practice_service: Mapped[str | None] = mapped_column(String(40))
    destination: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(30))
