"""The seam itself: the same expression gives the same answer on every engine."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from joinedup.analytics.engine import put_table, read_store
from joinedup.population.store import PopulationStore
from tests.spec.conftest import run


def test_grouped_counts_agree(con):
    events = put_table(
        con,
        "events",
        pa.table(
            {
                "person_id": [1, 1, 2, 3, 3, 3],
                "code": ["a", "b", "a", "a", "b", "c"],
                "event_date": [dt.date(2024, 1, d) for d in range(1, 7)],
            }
        ),
    )
    expr = events.group_by("person_id").aggregate(
        codes=events.code.nunique(), last=events.event_date.max()
    )
    assert run(con, expr).to_pylist() == [
        {"person_id": 1, "codes": 2, "last": dt.date(2024, 1, 2)},
        {"person_id": 2, "codes": 1, "last": dt.date(2024, 1, 3)},
        {"person_id": 3, "codes": 3, "last": dt.date(2024, 1, 6)},
    ]


def test_reads_the_population_store(con, tmp_path):
    store = PopulationStore(tmp_path)
    store.write(
        "registrations",
        pa.table(
            {
                "person_id": [1, 2],
                "practice_code": ["P1", "P2"],
                "start_date": [dt.date(2020, 1, 1), dt.date(2021, 1, 1)],
                "end_date": pa.array([None, dt.date(2022, 1, 1)], pa.date32()),
            }
        ),
    )
    registrations = read_store(con, store, ["registrations"])["registrations"]
    current = registrations.filter(registrations.end_date.isnull()).select("person_id")
    assert run(con, current).to_pylist() == [{"person_id": 1}]
