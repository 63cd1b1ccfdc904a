"""Who the hubs serve, from the population store's GP appointments (`site_code`: the hub an
appointment took place at): each practice's share of hub appointments against its share of the
registered list, over the year to a date. A practice whose share of hub use is far below its
share of the list is one whose patients the hubs are not reaching (issue 17, "share of hub
appointments by practice against list size").

One Ibis expression on DuckDB (ADR 0003); objectors are left out of both shares.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import ibis

from joinedup.analytics.continuity import without
from joinedup.analytics.engine import connection, read_store
from joinedup.population.reads import list_sizes
from joinedup.population.store import PopulationStore

WINDOW_DAYS = 365


@dataclass(frozen=True)
class PracticeHubShare:
    practice_code: str
    hub_appointments: int
    list_size: int
    hub_share: float | None  # of all hub appointments in the window
    list_share: float | None  # of all registered patients


def hub_share_by_practice(
    store: PopulationStore,
    *,
    as_of: dt.date,
    excluding: Iterable[int] = (),
    window_days: int = WINDOW_DAYS,
) -> list[PracticeHubShare]:
    """Every practice with registered patients, by code: its hub appointments in the window
    ending `as_of` and its shares of hub use and of the list."""
    left_out = set(excluding)
    with connection("duckdb") as con:
        appointments = read_store(con, store, ["gp_appointments"])["gp_appointments"]
        first = as_of - dt.timedelta(days=window_days)
        at_hub = without(
            appointments.filter(
                appointments.site_code.notnull()
                & (appointments.appointment_date > ibis.literal(first, type="date"))
                & (appointments.appointment_date <= ibis.literal(as_of, type="date"))
            ),
            left_out,
        )
        counts = at_hub.group_by("practice_code").aggregate(hub_appointments=at_hub.count())
        by_practice = {
            row["practice_code"]: int(row["hub_appointments"])
            for row in con.to_pyarrow(counts).to_pylist()
        }
    sizes = list_sizes(store, excluding=left_out)
    hub_total, list_total = sum(by_practice.values()), sum(sizes.values())
    return [
        PracticeHubShare(
            code,
            by_practice.get(code, 0),
            size,
            by_practice.get(code, 0) / hub_total if hub_total else None,
            size / list_total if list_total else None,
        )
        for code, size in sorted(sizes.items())
    ]
