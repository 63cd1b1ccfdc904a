"""Hub appointments in the synthetic area (`gp_appointments.site_code`) and each practice's
share of hub use against its share of the list, held to plain Arrow counts of the same file."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow.parquet as pq
import pytest

from joinedup.access.hub_population import hub_share_by_practice
from joinedup.population.reads import extract_date, list_sizes, organisations
from joinedup.population.store import PopulationStore


@pytest.fixture(scope="module")
def appointments(small_store: PopulationStore) -> dict[str, list[object]]:
    columns = ["person_id", "practice_code", "appointment_date", "mode", "site_code"]
    return pq.read_table(small_store.path("gp_appointments"), columns=columns).to_pydict()


def test_hub_appointments_are_at_the_practices_federation_hub_once_it_opened(
    small_store: PopulationStore, appointments: dict[str, list[object]]
) -> None:
    orgs = organisations(small_store)
    rows = list(
        zip(
            *(appointments[c] for c in ("practice_code", "appointment_date", "mode", "site_code")),
            strict=True,
        )
    )
    at_hub = [r for r in rows if r[3] is not None]
    after = [r for r in rows if r[1] >= dt.date(2019, 10, 1) and r[2] != "home_visit"]
    assert 0.03 < len(at_hub) / len(after) < 0.05
    assert all(day >= dt.date(2019, 10, 1) and mode != "home_visit" for _, day, mode, _ in at_hub)
    for practice, _, _, hub in at_hub[:500]:
        federation = orgs[orgs[practice].parent_code or ""].parent_code
        assert orgs[hub].org_type == "hub" and orgs[hub].parent_code == federation  # type: ignore[index]


def test_each_practices_share_of_hub_use_against_its_share_of_the_list(
    small_store: PopulationStore, appointments: dict[str, list[object]]
) -> None:
    as_of = extract_date(small_store)
    shares = hub_share_by_practice(small_store, as_of=as_of)
    first = as_of - dt.timedelta(days=365)
    expected = Counter(
        practice
        for practice, day, hub in zip(
            appointments["practice_code"],
            appointments["appointment_date"],
            appointments["site_code"],
            strict=True,
        )
        if hub is not None and first < day <= as_of  # type: ignore[operator]
    )
    sizes = list_sizes(small_store)
    assert {s.practice_code: s.hub_appointments for s in shares} == {
        code: expected.get(code, 0) for code in sizes
    }
    assert sum(s.hub_share or 0 for s in shares) == pytest.approx(1)
    assert {s.practice_code: s.list_share for s in shares} == pytest.approx(
        {code: n / sum(sizes.values()) for code, n in sizes.items()}
    )
    # Leaving a person out takes their hub appointments out of the counts.
    someone = next(
        p
        for p, hub, day in zip(
            appointments["person_id"],
            appointments["site_code"],
            appointments["appointment_date"],
            strict=True,
        )
        if hub is not None and first < day <= as_of  # type: ignore[operator]
    )
    fewer = hub_share_by_practice(small_store, as_of=as_of, excluding=[int(someone)])  # type: ignore[call-overload]
    assert sum(s.hub_appointments for s in fewer) < sum(s.hub_appointments for s in shares)
