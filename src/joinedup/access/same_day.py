"""Same-day access by practice, from the population store's GP appointments: of the
appointments in a window whose booking date the source gave (`gp_appointments.booked_date`),
how many were booked the day they took place. It measures A5 of the delivery tracker
("Same-day access": everyone who needs to be seen the same day is, at the practice or a hub).

The figure is the one NHS Digital publishes nationally in *Appointments in General Practice*
(GPAD: "time between book and appointment", the "same day" band; about 40-45% of appointments
in England). An appointment counts for the practice the person was seen by or for: hub
appointments (`site_code` set) count with the practice's own, as A5 asks for the practice or
a hub. What the data cannot say is who *needed* to be seen that day and was not: a request
turned away leaves no appointment. So this is same-day access delivered, not need met
(ADR 0034).

One Ibis expression on DuckDB (ADR 0003); objectors are left out; appointments with no
booking date count in neither figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import ibis

from joinedup.analytics.continuity import without
from joinedup.analytics.engine import connection, read_store
from joinedup.population.store import PopulationStore

WINDOW_DAYS = 90


@dataclass(frozen=True)
class PracticeSameDay:
    practice_code: str
    booked_same_day: int  # appointments booked on the day they took place
    with_booking_date: int  # appointments whose booking date is recorded

    @property
    def share(self) -> float | None:
        return self.booked_same_day / self.with_booking_date if self.with_booking_date else None


def same_day_by_practice(
    store: PopulationStore,
    *,
    as_of: dt.date,
    excluding: Iterable[int] = (),
    window_days: int = WINDOW_DAYS,
) -> list[PracticeSameDay]:
    """Each practice with an appointment in the `window_days` ending `as_of` whose booking
    date is recorded, by code."""
    first = as_of - dt.timedelta(days=window_days)
    with connection("duckdb") as con:
        appointments = read_store(con, store, ["gp_appointments"])["gp_appointments"]
        if "booked_date" not in appointments.columns:  # a store written before the column
            return []
        known = without(
            appointments.filter(
                appointments.booked_date.notnull()
                & (appointments.appointment_date > ibis.literal(first, type="date"))
                & (appointments.appointment_date <= ibis.literal(as_of, type="date"))
            ),
            set(excluding),
        )
        same_day = (known.booked_date == known.appointment_date).cast("int64")
        counts = known.group_by("practice_code").aggregate(
            booked_same_day=same_day.sum(), with_booking_date=known.count()
        )
        rows = con.to_pyarrow(counts.order_by("practice_code")).to_pylist()
    return [
        PracticeSameDay(
            row["practice_code"], int(row["booked_same_day"]), int(row["with_booking_date"])
        )
        for row in rows
    ]
