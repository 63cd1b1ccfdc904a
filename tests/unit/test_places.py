"""Where the area's practices, a typed postcode and a person's home are (population.places),
checked against the area's metadata and the patients table read independently here."""

from __future__ import annotations

import pyarrow.parquet as pq

from joinedup.population.places import (
    MIN_HOMES,
    normalised_postcode,
    person_home,
    place_postcode,
    practice_locations,
)
from joinedup.population.store import PopulationStore


def test_postcodes_are_read_in_any_spacing_and_case_and_nonsense_is_refused() -> None:
    assert normalised_postcode("ls62ab") == "LS6 2AB"
    assert normalised_postcode(" sw1a  1aa ") == "SW1A 1AA"
    assert normalised_postcode("M31 4FY") == "M31 4FY"
    for text in ("", "hello", "12345", "LS6 2A"):
        assert normalised_postcode(text) is None


def test_practices_stand_at_their_premises_and_postcodes_by_practice_then_sector(
    small_store: PopulationStore,
) -> None:
    premises = {p["code"]: p for p in small_store.metadata()["practices"]}
    places = practice_locations(small_store)
    assert set(places) == set(premises)
    for code, place in places.items():
        assert place.basis == "premises" and place.postcode == premises[code]["postcode"]
        assert (place.point.lat, place.point.lon) == (
            premises[code]["latitude"],
            premises[code]["longitude"],
        )
    first = next(iter(premises.values()))
    by_practice = place_postcode(small_store, str(first["postcode"]).lower().replace(" ", ""))
    assert by_practice is not None and by_practice.basis == "practice"

    homes = pq.read_table(
        small_store.path("patients"), columns=["postcode", "home_latitude", "home_longitude"]
    ).to_pandas()
    homes["sector"] = homes["postcode"].str[:-2]
    sizes = homes.groupby("sector").size()
    sector = str(sizes[sizes >= MIN_HOMES].index[0])
    in_sector = homes[homes["sector"] == sector]
    unit = str(in_sector["postcode"].value_counts().index[-1])  # a unit shared by few homes
    placed = place_postcode(small_store, unit)
    assert placed is not None
    assert (homes["postcode"] == unit).sum() < MIN_HOMES  # too few to place by the unit
    assert placed.basis == "sector"
    assert abs(placed.point.lat - in_sector["home_latitude"].median()) < 1e-9
    assert abs(placed.point.lon - in_sector["home_longitude"].median()) < 1e-9
    assert place_postcode(small_store, "ZZ99 9ZZ") is None  # no home anywhere near


def test_a_persons_home_is_their_own_coordinates(small_store: PopulationStore) -> None:
    row = (
        pq.read_table(
            small_store.path("patients"),
            columns=["person_id", "postcode", "home_latitude", "home_longitude"],
        )
        .slice(0, 1)
        .to_pylist()[0]
    )
    point, postcode = person_home(small_store, row["person_id"])
    assert point is not None and postcode == row["postcode"]
    assert (point.lat, point.lon) == (row["home_latitude"], row["home_longitude"])
