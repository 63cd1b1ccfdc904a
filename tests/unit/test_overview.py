"""The population overview: its figures against an independent plain-Python count.

Two kinds of store: the session's generated area (`small_area`), counted again here row by row
from the Parquet files, and a hand-made store whose every person tests one rule.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from joinedup.population.overview import (
    AGE_BANDS,
    NeighbourhoodNotFound,
    PopulationOverview,
    age_band_index,
    population_overview,
    years_before,
)
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore, StoreError

BANDS = [
    (0, "0-4"),
    (5, "5-17"),
    (18, "18-44"),
    (45, "45-64"),
    (65, "65-74"),
    (75, "75-84"),
    (85, "85+"),
]


# An independent count, in plain Python over the Parquet rows ------------------------------


def band_of(age: int) -> str:
    return next(key for lowest, key in reversed(BANDS) if age >= lowest)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def oracle(
    root: Path, neighbourhood: str | None = None, exclude: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """Registered people at the extract date, counted row by row; those in `exclude` are
    counted apart, as "left_out"."""
    extract = date.fromisoformat(PopulationStore(root).metadata()["extract_date"][:10])
    orgs = pq.read_table(root / "organisations.parquet").to_pylist()
    parent = {o["org_code"]: o["parent_code"] for o in orgs if o["org_type"] == "practice"}
    latest: dict[int, dict[str, Any]] = {}
    for reg in pq.read_table(root / "registrations.parquet").to_pylist():
        if reg["start_date"] <= extract and (reg["end_date"] is None or reg["end_date"] > extract):
            held = latest.get(reg["person_id"])
            if held is None or reg["start_date"] > held["start_date"]:
                latest[reg["person_id"]] = reg
    people = []
    left_out = 0
    for person in pq.read_table(root / "patients.parquet").to_pylist():
        reg = latest.get(person["person_id"])
        died = person["date_of_death"]
        if reg is None or person["date_of_birth"] > extract or (died and died <= extract):
            continue
        hood = parent.get(reg["practice_code"])
        if neighbourhood is not None and hood != neighbourhood:
            continue
        if person["person_id"] in exclude:
            left_out += 1
            continue
        people.append(
            (reg["practice_code"], hood, person, age_on(person["date_of_birth"], extract))
        )
    return {
        "left_out": left_out,
        "total": len(people),
        "practice": Counter(p for p, _, _, _ in people),
        "neighbourhood": Counter(h for _, h, _, _ in people),
        "age_band": Counter(band_of(age) for *_, age in people),
        "sex": Counter(person["sex"] for _, _, person, _ in people),
        "imd_decile": Counter(str(person["imd_decile"]) for _, _, person, _ in people),
    }


def counts(rows: list[Any]) -> Counter[str]:
    return Counter({row.key: row.count for row in rows if row.count})


def assert_matches(overview: PopulationOverview, expected: dict[str, Any]) -> None:
    assert overview.total == expected["total"]
    assert counts(overview.by_practice) == expected["practice"]
    assert counts(overview.by_neighbourhood) == expected["neighbourhood"]
    assert counts(overview.by_age_band) == expected["age_band"]
    assert counts(overview.by_sex) == expected["sex"]
    assert counts(overview.by_imd_decile) == expected["imd_decile"]


# The generated area -----------------------------------------------------------------------


def test_the_area_overview_matches_an_independent_count(small_store: PopulationStore) -> None:
    overview = population_overview(small_store)

    assert_matches(overview, oracle(small_store.root))
    assert overview.total and overview.total > 1_000
    metadata = small_store.metadata()
    assert overview.extract_date == date.fromisoformat(str(metadata["extract_date"])[:10])
    assert overview.seed == metadata["seed"]
    assert overview.synthetic is True
    assert overview.area_name == metadata["area_name"]


def test_the_area_overview_agrees_with_the_generator(small_store: PopulationStore) -> None:
    """The generator's own tally of who it left registered at the extract date."""
    metadata = small_store.metadata()

    overview = population_overview(small_store)

    assert overview.total == metadata["summary"]["registered_at_extract"]
    assert counts(overview.by_practice) == {
        p["code"]: p["registered"] for p in metadata["practices"] if p["registered"]
    }
    assert counts(overview.by_neighbourhood) == {
        n["code"]: n["registered"] for n in metadata["neighbourhoods"] if n["registered"]
    }


def test_every_breakdown_adds_up_to_the_total(small_store: PopulationStore) -> None:
    overview = population_overview(small_store)

    for name, rows in overview.breakdowns().items():
        assert sum(row.count or 0 for row in rows) == overview.total, name
    assert [row.key for row in overview.by_age_band] == [
        "0-4",
        "5-17",
        "18-44",
        "45-64",
        "65-74",
        "75-84",
        "85+",
    ]
    assert [row.key for row in overview.by_imd_decile] == [str(d) for d in range(1, 11)]


def test_each_neighbourhood_matches_an_independent_count(small_store: PopulationStore) -> None:
    area = population_overview(small_store)
    assert area.neighbourhoods

    totals = 0
    for hood in area.neighbourhoods:
        overview = population_overview(small_store, hood.code)
        assert overview.neighbourhood == hood
        assert_matches(overview, oracle(small_store.root, hood.code))
        assert {row.neighbourhood_code for row in overview.by_practice} == {hood.code}
        totals += overview.total or 0
    assert totals == area.total


def test_practices_are_all_listed_with_their_neighbourhood(small_store: PopulationStore) -> None:
    orgs = small_store.read("organisations").to_pylist()
    practices = {o["org_code"]: o for o in orgs if o["org_type"] == "practice"}
    names = {o["org_code"]: o["name"] for o in orgs}

    overview = population_overview(small_store)

    assert {row.key for row in overview.by_practice} == set(practices)
    for row in overview.by_practice:
        assert row.label == practices[row.key]["name"]
        assert row.neighbourhood_code == practices[row.key]["parent_code"]
        assert row.neighbourhood_name == names[row.neighbourhood_code]


def _some_registered_people(root: Path, how_many: int) -> list[int]:
    """person_id of a spread of people registered at the extract date (by the oracle's rules)."""
    extract = date.fromisoformat(PopulationStore(root).metadata()["extract_date"][:10])
    open_now = {
        r["person_id"]
        for r in pq.read_table(root / "registrations.parquet").to_pylist()
        if r["start_date"] <= extract and (r["end_date"] is None or r["end_date"] > extract)
    }
    registered = [
        p["person_id"]
        for p in pq.read_table(root / "patients.parquet").to_pylist()
        if p["person_id"] in open_now
        and p["date_of_birth"] <= extract
        and (p["date_of_death"] is None or p["date_of_death"] > extract)
    ]
    return registered[:: max(1, len(registered) // how_many)][:how_many]


def test_objectors_are_left_out_of_every_count(small_store: PopulationStore) -> None:
    everyone = population_overview(small_store)
    chosen = _some_registered_people(small_store.root, 40)
    dead_or_unknown = max(chosen) + 10_000_000  # nobody: never counted, never "left out"
    objectors = frozenset([*chosen, dead_or_unknown])

    overview = population_overview(small_store, exclude=objectors)

    expected = oracle(small_store.root, exclude=objectors)
    assert_matches(overview, expected)
    assert overview.objectors_left_out == expected["left_out"] > 30
    assert overview.total == (everyone.total or 0) - expected["left_out"]
    hood = overview.neighbourhoods[0].code
    in_hood = population_overview(small_store, hood, exclude=objectors)
    expected_hood = oracle(small_store.root, hood, exclude=objectors)
    assert_matches(in_hood, expected_hood)
    assert in_hood.objectors_left_out == expected_hood["left_out"]


def test_an_unknown_neighbourhood_is_refused(small_store: PopulationStore) -> None:
    with pytest.raises(NeighbourhoodNotFound):
        population_overview(small_store, "NO-SUCH-CODE")


# A hand-made area: one person per rule --------------------------------------------------

EXTRACT = date(2025, 3, 31)


def make_store(
    root: Path, people: list[dict[str, Any]], registrations: list[tuple]
) -> PopulationStore:
    """A store whose organisations are: area ← federation ← N1 (P1, P2), N2 (P3), N3 (none)."""
    organisations = [
        ("AREA1", "Area", "commissioning_area", None),
        ("FED1", "Federation", "federation", "AREA1"),
        ("N1", "North", "neighbourhood", "FED1"),
        ("N2", "South", "neighbourhood", "FED1"),
        ("N3", "Empty", "neighbourhood", "FED1"),
        ("P1", "Bridge Surgery", "practice", "N1"),
        ("P2", "Abbey Practice", "practice", "N1"),
        ("P3", "Castle Medical", "practice", "N2"),
    ]
    store = PopulationStore(root)
    store.write(
        "organisations",
        pa.table(
            {
                "org_code": [o[0] for o in organisations],
                "name": [o[1] for o in organisations],
                "org_type": [o[2] for o in organisations],
                "parent_code": [o[3] for o in organisations],
                "imd_decile": [None] * len(organisations),
                "opened": pa.array([None] * len(organisations), pa.date32()),
            }
        ),
    )
    defaults = {
        "nhs_number": "9000000009",
        "sex": "F",
        "ethnicity": "White",
        "lsoa_code": "E01000001",
        "imd_decile": 5,
        "care_home": False,
        "housebound": False,
        "carer": False,
        "date_of_death": None,
    }
    rows = [{**defaults, **person} for person in people]
    store.write("patients", pa.Table.from_pylist(rows, schema=_schema("patients")))
    store.write(
        "registrations",
        pa.Table.from_pylist(
            [
                {"person_id": p, "practice_code": c, "start_date": s, "end_date": e}
                for p, c, s, e in registrations
            ],
            schema=_schema("registrations"),
        ),
    )
    store.write_metadata({"area_name": "Hand-made area", "extract_date": EXTRACT.isoformat()})
    return store


def _schema(table: str) -> pa.Schema:
    from joinedup.population.contracts import contract

    return contract(table).arrow_schema()


@pytest.fixture
def rules_store(tmp_path: Path) -> PopulationStore:
    people = [
        {"person_id": 1, "date_of_birth": date(1960, 3, 31)},  # 65 today: 65-74
        {"person_id": 2, "date_of_birth": date(2020, 4, 1), "sex": "M"},  # 5 tomorrow: 0-4
        {"person_id": 3, "date_of_birth": date(1950, 1, 1), "date_of_death": date(2024, 1, 1)},
        {"person_id": 4, "date_of_birth": date(1950, 1, 1), "date_of_death": EXTRACT},
        {"person_id": 5, "date_of_birth": date(1990, 6, 1)},  # left the practice last year
        {"person_id": 6, "date_of_birth": date(1990, 6, 1), "imd_decile": 1},  # left today
        {"person_id": 7, "date_of_birth": date(1990, 6, 1)},  # registers next month
        {"person_id": 8, "date_of_birth": date(1940, 3, 30), "sex": "M"},  # 85 yesterday; 2 regs
        {"person_id": 9, "date_of_birth": date(2025, 4, 2)},  # not born yet
        {"person_id": 10, "date_of_birth": date(2007, 4, 1), "imd_decile": 10},  # 17: 5-17
        {"person_id": 11, "date_of_birth": date(1980, 1, 1)},  # never registered
        {"person_id": 12, "date_of_birth": date(1990, 6, 1)},  # leaves after the extract date
    ]
    registrations = [
        (1, "P1", date(2000, 1, 1), None),
        (2, "P1", date(2020, 4, 1), None),
        (3, "P1", date(2000, 1, 1), None),
        (4, "P2", date(2000, 1, 1), None),
        (5, "P2", date(2000, 1, 1), date(2024, 3, 31)),
        (6, "P2", date(2000, 1, 1), EXTRACT),
        (7, "P3", date(2025, 4, 30), None),
        (8, "P3", date(1990, 1, 1), None),  # an older registration still open...
        (8, "P1", date(2015, 1, 1), None),  # ...and a newer one: counted here, once
        (9, "P3", date(2025, 4, 2), None),
        (10, "P3", date(2010, 1, 1), date(2012, 1, 1)),
        (10, "P3", date(2015, 1, 1), None),
        (12, "P2", date(2000, 1, 1), date(2025, 6, 30)),
    ]
    return make_store(tmp_path / "population", people, registrations)


def test_each_registration_rule(rules_store: PopulationStore) -> None:
    overview = population_overview(rules_store)

    # Counted: 1, 2, 8, 10 and 12.
    assert overview.total == 5
    assert counts(overview.by_practice) == {"P1": 3, "P2": 1, "P3": 1}
    assert counts(overview.by_neighbourhood) == {"N1": 4, "N2": 1}
    assert counts(overview.by_age_band) == {"65-74": 1, "0-4": 1, "18-44": 1, "85+": 1, "5-17": 1}
    assert counts(overview.by_sex) == {"F": 3, "M": 2}
    assert counts(overview.by_imd_decile) == {"5": 4, "10": 1}
    assert_matches(overview, oracle(rules_store.root))


def test_labels_and_order_are_for_people(rules_store: PopulationStore) -> None:
    overview = population_overview(rules_store)

    assert overview.area_name == "Hand-made area"
    assert overview.extract_date == EXTRACT
    assert overview.seed is None
    assert [row.label for row in overview.by_practice] == [
        "Abbey Practice",
        "Bridge Surgery",
        "Castle Medical",
    ]
    assert [n.name for n in overview.neighbourhoods] == ["Empty", "North", "South"]
    assert [row.label for row in overview.by_sex] == ["Female", "Male"]
    assert overview.by_age_band[-1].label == "85 and over"
    assert overview.by_imd_decile[0].label == "1 (most deprived)"
    assert overview.by_imd_decile[-1].label == "10 (least deprived)"


def test_one_neighbourhood_counts_only_its_practices(rules_store: PopulationStore) -> None:
    north = population_overview(rules_store, "N1")

    assert north.neighbourhood is not None and north.neighbourhood.name == "North"
    assert north.total == 4
    assert [row.key for row in north.by_practice] == ["P2", "P1"]  # by name: Abbey, Bridge
    assert [(row.key, row.count) for row in north.by_neighbourhood] == [("N1", 4)]
    # Person 8 is registered at P3 (South) too, but counted at the newer P1 only.
    assert population_overview(rules_store, "N2").total == 1


def test_a_neighbourhood_without_practices_counts_nobody(rules_store: PopulationStore) -> None:
    empty = population_overview(rules_store, "N3")

    assert empty.total == 0
    assert empty.by_practice == []
    assert all(row.count == 0 for row in empty.by_age_band)


def test_one_rule_reaches_every_count(rules_store: PopulationStore) -> None:
    def suppress(count: int) -> int | None:
        return None if count < 2 else count

    overview = population_overview(rules_store).with_counts(suppress)

    assert overview.total == 5
    assert [row.count for row in overview.by_practice] == [None, 3, None]  # Abbey, Bridge, Castle
    for rows in overview.breakdowns().values():
        assert all(row.count is None or row.count >= 2 for row in rows)
    assert counts(overview.by_sex) == {"F": 3, "M": 2}
    assert overview.by_imd_decile[0].count is None  # decile 1 had nobody
    assert overview.objectors_left_out is None  # 0 people: the rule withholds it too


def test_the_aggregate_overview_is_suppressed_without_objectors(
    small_store: PopulationStore,
) -> None:
    from joinedup.governance.aggregates import aggregate_overview

    objectors = frozenset(_some_registered_people(small_store.root, 3))
    raw = population_overview(small_store, exclude=objectors)

    shown = aggregate_overview(small_store, None, objectors)

    assert raw.objectors_left_out == 3 and shown.objectors_left_out is None  # 1-7: withheld
    assert shown.total == 5 * round((raw.total or 0) / 5)
    for name, rows in shown.breakdowns().items():
        for row, before in zip(rows, raw.breakdowns()[name], strict=True):
            n = before.count or 0
            expected = 0 if n == 0 else None if n < 8 else (n + 2) // 5 * 5
            assert row.count == expected, (name, row.key)


def test_a_missing_store_says_to_generate_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="joinedup generate"):
        population_overview(PopulationStore(tmp_path / "nowhere"))


def test_a_store_without_its_tables_says_so(tmp_path: Path) -> None:
    store = PopulationStore(tmp_path / "population")
    store.write_metadata({"area_name": "Half-made", "extract_date": "2025-03-31"})
    with pytest.raises(StoreError, match="organisations"):
        population_overview(store)


def test_a_store_without_an_extract_date_says_so(rules_store: PopulationStore) -> None:
    rules_store.write_metadata({"area_name": "No date"})
    with pytest.raises(StoreError, match="extract date"):
        population_overview(rules_store)


# Ages and age bands ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "on",
    [date(2026, 3, 31), date(2028, 2, 29), date(2027, 2, 28), date(2027, 3, 1), date(2025, 1, 1)],
)
def test_age_bands_follow_whole_years_of_age(on: date) -> None:
    births = {on - timedelta(days=d) for d in range(0, 95 * 366, 5)}
    for _, _, lowest in AGE_BANDS:
        edge = years_before(on, lowest)
        births |= {edge - timedelta(days=1), edge, edge + timedelta(days=1)}
    births |= {date(y, 2, 29) for y in range(1932, on.year + 1, 4)}
    births = {b for b in births if b <= on}
    table = ibis.memtable({"dob": sorted(births)})

    result = ibis.duckdb.connect().to_pyarrow(
        table.select("dob", band=age_band_index(table.dob, on))
    )

    for born, band in zip(result["dob"].to_pylist(), result["band"].to_pylist(), strict=True):
        assert AGE_BANDS[band][0] == band_of(age_on(born, on)), (born, on)


def test_the_registered_population_has_each_persons_age(rules_store: PopulationStore) -> None:
    con = ibis.duckdb.connect()
    people = registered_population(
        con.read_parquet(rules_store.path("registrations")),
        con.read_parquet(rules_store.path("patients")),
        EXTRACT,
    ).to_pyarrow()

    rows = {r["person_id"]: r for r in people.to_pylist()}
    assert sorted(rows) == [1, 2, 8, 10, 12]
    for row in rows.values():
        assert row["age"] == age_on(row["date_of_birth"], EXTRACT)
    assert {p: r["age"] for p, r in rows.items()} == {1: 65, 2: 4, 8: 85, 10: 17, 12: 34}
    assert rows[8]["practice_code"] == "P1"
