"""Where things are in the area: its practices, a postcode typed by a user, a person's home.

The population store has no postcode directory (none can be shipped: the ONS Postcode
Directory is large and licensed per use), so places come from what the store itself holds:

* **Practices** (`practice_locations`): the premises the area's metadata gives for each
  practice (the synthetic generator writes the premises of the real practice each one is
  modelled on); for a store that does not say (an ingested extract), the median of the home
  coordinates of the practice's registered people, which lie around it.
* **A postcode** (`place_postcode`): a practice's own postcode places exactly; otherwise the
  median home of the people sharing the postcode, then its sector ("LS6 2"), then
  its district ("LS6") — each only when at least `MIN_HOMES` homes share it, so a place never
  stands for one household.
* **A person's home** (`person_home`): their own home coordinates, for pages opened from the
  person (the caller has passed the person gate).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from joinedup.population.reads import one_person_reader, organisations, practices_of, table_file
from joinedup.population.store import PopulationStore

#: The fewest homes whose median may place a postcode, sector or district.
MIN_HOMES = 10
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?) ([0-9])([A-Z]{2})$")


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class PracticePlace:
    code: str
    point: Point
    postcode: str | None
    #: "premises" (from the area's metadata) or "homes" (median of registered people's homes).
    basis: str


@dataclass(frozen=True)
class PlacedPostcode:
    postcode: str
    point: Point
    #: How it was placed, for the page: "practice", "postcode", "sector" or "district".
    basis: str


def normalised_postcode(text: str) -> str | None:
    """``"ls62ab"`` → ``"LS6 2AB"``; None when it is not a UK postcode's shape."""
    compact = re.sub(r"\s+", "", text.upper())
    match = POSTCODE.match(compact[:-3] + " " + compact[-3:]) if len(compact) > 4 else None
    if match is None:
        return None
    outward, sector, unit = match.groups()
    return f"{outward} {sector}{unit}"


def practice_locations(store: PopulationStore) -> dict[str, PracticePlace]:
    """Each practice's place, by practice code (practices with no place are left out)."""
    places: dict[str, PracticePlace] = {}
    for entry in store.metadata().get("practices", []):
        if entry.get("latitude") is not None and entry.get("longitude") is not None:
            point = Point(float(entry["latitude"]), float(entry["longitude"]))
            places[entry["code"]] = PracticePlace(
                entry["code"], point, entry.get("postcode"), "premises"
            )
    practices = {c for c, o in organisations(store).items() if o.org_type == "practice"}
    homes = _homes(store) if practices - set(places) else _NO_HOMES
    if homes.empty:
        return places
    registered = pd.Series(practices_of(store, homes.index), name="practice_code")
    by_practice = homes.join(registered, how="inner").groupby("practice_code")
    for code, group in by_practice:
        if str(code) not in places and len(group) >= MIN_HOMES:
            point = Point(float(group["lat"].median()), float(group["lon"].median()))
            places[str(code)] = PracticePlace(str(code), point, None, "homes")
    return places


def place_postcode(store: PopulationStore, text: str) -> PlacedPostcode | None:
    """Where a postcode is, as exactly as the store allows (None: not a postcode, or too few
    homes share even its district)."""
    postcode = normalised_postcode(text)
    if postcode is None:
        return None
    for place in practice_locations(store).values():
        if place.postcode and normalised_postcode(place.postcode) == postcode:
            return PlacedPostcode(postcode, place.point, "practice")
    homes = _homes(store)
    if homes.empty:
        return None
    outward, inward = postcode.split()
    for basis, column, key in (
        ("postcode", "postcode", postcode),
        ("sector", "sector", f"{outward} {inward[0]}"),
        ("district", "district", outward),
    ):
        sharing = homes[homes[column] == key]
        if len(sharing) >= MIN_HOMES:
            point = Point(float(sharing["lat"].median()), float(sharing["lon"].median()))
            return PlacedPostcode(postcode, point, basis)
    return None


def person_home(store: PopulationStore, person_id: int) -> tuple[Point | None, str | None]:
    """A person's home coordinates and postcode, each None when not recorded."""
    path = table_file(store, "patients")
    if path is None:
        return None, None
    columns = set(pq.read_schema(path).names)
    wanted = [c for c in ("home_latitude", "home_longitude", "postcode") if c in columns]
    if not wanted:
        return None, None
    rows = one_person_reader.records(
        f"SELECT {', '.join(wanted)} FROM read_parquet(?) WHERE person_id = ?", [path, person_id]
    )
    if not rows:
        return None, None
    row: dict[str, Any] = rows[0]
    lat, lon = row.get("home_latitude"), row.get("home_longitude")
    point = None if lat is None or lon is None else Point(float(lat), float(lon))
    return point, row.get("postcode")


def _homes(store: PopulationStore) -> pd.DataFrame:
    """Everyone's home (postcode, sector, district, lat, lon) by person_id; empty when the
    store records no home coordinates."""
    path = table_file(store, "patients")
    if path is None:
        return _NO_HOMES
    return _read_homes(path, store.path("patients").stat().st_mtime_ns)


_NO_HOMES = pd.DataFrame(columns=["postcode", "sector", "district", "lat", "lon"])


@functools.lru_cache(maxsize=2)
def _read_homes(path: str, modified: int) -> pd.DataFrame:
    names = set(pq.read_schema(path).names)
    if not {"home_latitude", "home_longitude", "postcode"} <= names:
        return _NO_HOMES
    table = pq.read_table(
        path, columns=["person_id", "postcode", "home_latitude", "home_longitude"]
    ).to_pandas()
    table = table.dropna(subset=["home_latitude", "home_longitude"])
    postcode = table["postcode"].fillna("").astype(str)
    district = postcode.str.split(" ").str[0]
    frame = pd.DataFrame(
        {
            "postcode": postcode.to_numpy(),
            "sector": (district + " " + postcode.str.split(" ").str[1].str[:1]).to_numpy(),
            "district": district.to_numpy(),
            "lat": table["home_latitude"].to_numpy(dtype=np.float64),
            "lon": table["home_longitude"].to_numpy(dtype=np.float64),
        },
        index=pd.Index(table["person_id"].to_numpy(), name="person_id"),
    )
    return frame
