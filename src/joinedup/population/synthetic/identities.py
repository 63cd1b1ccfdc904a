"""Fictional names, homes and telephone numbers for the synthetic people.

A clinician works with names, not numbers, so every synthetic person gets an identity that fits
them and is nobody's:

- **First names** fit sex, birth decade and heritage. People of British and Caribbean heritage
  draw half the time from the ONS top ten for their birth decade
  (`population/data/first_names_by_decade.csv`) and otherwise from Faker's en_GB list; people of
  Asian or Black African heritage from Faker's en_IN, en_KE, yo_NG and tw_GH lists.
- **Surnames** follow the same heritage (Faker's en_GB list is weighted by frequency).
- **Homes** lie in the real postcode district of the practice the person's practice is modelled
  on (the inward code is made up), placed around it; street names are made from surnames.
- **Telephone numbers** come only from Ofcom's ranges reserved for drama (07700 900000–900999
  and 01632 960000–960999), which are never given to a line.

Everything draws from the generator's own "identities" stream, so adding identities changed no
other table of an area.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

import numpy as np

from joinedup.population.synthetic import reference
from joinedup.population.synthetic.calendar import DAYS_PER_YEAR, EPOCH
from joinedup.population.synthetic.organisations import Area
from joinedup.population.synthetic.people import ETHNICITIES, People
from joinedup.population.synthetic.randomness import Streams

#: Heritage schemes a person's names are drawn from, by ONS ethnic group (shares sum to 1).
SCHEMES = ("british", "en_IN", "en_KE", "yo_NG", "tw_GH")
SCHEME_SHARES: Mapping[str, Sequence[float]] = {
    "White": (1.0, 0, 0, 0, 0),
    "Asian": (0, 1.0, 0, 0, 0),
    "Black": (0.35, 0, 0.25, 0.2, 0.2),  # Caribbean heritage mostly carries British names
    "Mixed": (0.6, 0.15, 0.1, 0.075, 0.075),
    "Other": (0.5, 0.2, 0.1, 0.1, 0.1),
    "Not stated": (1.0, 0, 0, 0, 0),
}
DECADE_NAME_SHARE = 0.5  # of British-scheme first names taken from the birth decade's top ten
STREET_TYPES = (
    "Road", "Street", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent",
    "Gardens", "Grove", "Terrace", "Place", "Court", "Walk", "Rise", "View",
)  # fmt: skip
#: Letters Royal Mail uses for the unit of an inward code (never C, I, K, M, O or V).
UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
MOBILE_SHARE = 0.7
DRAMA_MOBILE, DRAMA_LANDLINE = "07700 900", "01632 960"  # Ofcom: numbers for TV and radio drama
HOME_RADIUS_KM = 1.5  # mean distance of a home from its practice
KM_PER_DEGREE_LAT = 111.0


@dataclass(frozen=True)
class Identities:
    given_name: np.ndarray
    family_name: np.ndarray
    address_line: np.ndarray
    postcode: np.ndarray
    phone: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray


@dataclass(frozen=True)
class NameList:
    names: np.ndarray
    weights: np.ndarray


def build_identities(area: Area, people: People, streams: Streams) -> Identities:
    rng = streams("identities")
    scheme = _schemes(people, rng)
    given = _given_names(people, scheme, rng)
    family = _family_names(scheme, rng)
    profile = area.practice_profile[people.practice]
    address, postcode = _addresses(profile, rng)
    latitude, longitude = _homes(profile, rng)
    return Identities(given, family, address, postcode, _phones(people.n, rng), latitude, longitude)


def _schemes(people: People, rng: np.random.Generator) -> np.ndarray:
    shares = np.array([SCHEME_SHARES[group] for group in ETHNICITIES], dtype=np.float64)
    cumulative = np.cumsum(shares, axis=1)[people.ethnicity]
    u = rng.random(people.n)[:, None]
    return np.minimum((cumulative <= u).sum(axis=1), len(SCHEMES) - 1)


def _given_names(people: People, scheme: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(people.n, dtype=object)
    sexes = np.where(people.female, "F", "M")
    decade = _decade_rows(people.dob)
    for s, locale in enumerate(SCHEMES):
        for sex in ("F", "M"):
            group = np.flatnonzero((scheme == s) & (sexes == sex))
            if group.size == 0:
                continue
            out[group] = _draw(first_names(_locale(locale), sex), group.size, rng)
            if locale == "british":
                _decade_names(out, group, decade, sex, rng)
    return out


def _decade_names(
    out: np.ndarray, group: np.ndarray, decade: np.ndarray, sex: str, rng: np.random.Generator
) -> None:
    """Replace a share of the group's names with their birth decade's ONS top ten."""
    chosen = group[rng.random(group.size) < DECADE_NAME_SHARE]
    _, lists = decade_names(sex)
    for row, names in enumerate(lists):
        members = chosen[decade[chosen] == row]
        out[members] = names[rng.integers(len(names), size=members.size)]


def _family_names(scheme: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(scheme.shape[0], dtype=object)
    for s, locale in enumerate(SCHEMES):
        group = np.flatnonzero(scheme == s)
        out[group] = _draw(last_names(_locale(locale)), group.size, rng)
    return out


def _addresses(profile: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(profile.shape[0])
    streets = _draw(last_names("en_GB"), n, rng)
    kinds = np.array(STREET_TYPES, dtype=object)[rng.integers(len(STREET_TYPES), size=n)]
    numbers: np.ndarray = rng.integers(1, 180, size=n)
    towns = reference.practice_profiles().area[profile]
    lines = [
        f"{number} {street} {kind}, {town}"
        for number, street, kind, town in zip(numbers, streets, kinds, towns, strict=True)
    ]
    return np.array(lines, dtype=object), _postcodes(profile, rng)


def _postcodes(profile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The practice's outward code, its sector most of the time, and a made-up unit."""
    practice_postcodes = reference.practice_locations().postcode[profile]
    outward = np.array([code.split()[0] for code in practice_postcodes], dtype=object)
    sector = np.array([code.split()[1][0] for code in practice_postcodes], dtype=object)
    n = int(profile.shape[0])
    elsewhere: np.ndarray = rng.random(size=n) < 0.4
    sector[elsewhere] = rng.integers(1, 10, size=int(elsewhere.sum())).astype(str)
    units = UNIT_LETTERS[rng.integers(len(UNIT_LETTERS), size=(n, 2))]
    return np.array(
        [f"{o} {s}{a}{b}" for o, s, (a, b) in zip(outward, sector, units, strict=True)],
        dtype=object,
    )


def _homes(profile: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Homes scattered around the practice: uniform bearing, exponential distance."""
    locations = reference.practice_locations()
    lat0, lon0 = locations.latitude[profile], locations.longitude[profile]
    n = int(profile.shape[0])
    km = rng.exponential(HOME_RADIUS_KM, size=n)
    bearing = rng.uniform(0, 2 * np.pi, size=n)
    lat = lat0 + km * np.cos(bearing) / KM_PER_DEGREE_LAT
    lon = lon0 + km * np.sin(bearing) / (KM_PER_DEGREE_LAT * np.cos(np.radians(lat0)))
    return np.round(lat, 5), np.round(lon, 5)


def _phones(n: int, rng: np.random.Generator) -> np.ndarray:
    mobile = rng.random(n) < MOBILE_SHARE
    digits = rng.integers(0, 1000, size=n)
    return np.array(
        [
            f"{DRAMA_MOBILE if m else DRAMA_LANDLINE}{d:03d}"
            for m, d in zip(mobile, digits, strict=True)
        ],
        dtype=object,
    )


def _draw(names: NameList, size: int, rng: np.random.Generator) -> np.ndarray:
    return names.names[rng.choice(len(names.names), size=size, p=names.weights)]


def _locale(scheme: str) -> str:
    return "en_GB" if scheme == "british" else scheme


def _decade_rows(dob: np.ndarray) -> np.ndarray:
    """Row of each person's birth decade in the ONS lists (the nearest list at or before)."""
    birth_year = EPOCH.year + dob / DAYS_PER_YEAR
    years, _ = decade_names("F")
    return np.clip(np.searchsorted(years, birth_year, side="right") - 1, 0, len(years) - 1)


@cache
def decade_names(sex: str) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The ONS list years and, for each, its top ten names for one sex."""
    rows = [r for r in reference.first_names_by_decade() if r["sex"] == sex]
    rows.sort(key=lambda r: int(r["year"]))
    years = np.array([int(r["year"]) for r in rows], dtype=np.float64)
    return years, tuple(np.array(r["names"].split(";"), dtype=object) for r in rows)


@cache
def first_names(locale: str, sex: str) -> NameList:
    attribute = "first_names_female" if sex == "F" else "first_names_male"
    return _name_list(getattr(_person_provider(locale), attribute))


@cache
def last_names(locale: str) -> NameList:
    return _name_list(_person_provider(locale).last_names)


def _person_provider(locale: str) -> Any:
    """Faker's person provider class of a locale (its name lists are class attributes)."""
    provider = import_module(f"faker.providers.person.{locale}").Provider
    return provider


def _name_list(names: Sequence[str] | Mapping[str, float]) -> NameList:
    """Faker's lists are either plain (equally likely) or weighted by frequency."""
    if isinstance(names, Mapping):
        weights = np.array(list(names.values()), dtype=np.float64)
        values = list(names.keys())
    else:
        values = list(names)
        weights = np.ones(len(values))
    return NameList(np.array(values, dtype=object), weights / weights.sum())
