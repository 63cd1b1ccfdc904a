"""The synthetic people have names, homes and telephone numbers that fit them and are nobody's,
and the very old are as rare as they are in England."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from faker.providers.person.en_GB import Provider as BritishNames
from faker.providers.person.en_IN import Provider as IndianNames

from joinedup.population.store import PopulationStore
from joinedup.population.synthetic.people import _oldest_ages
from joinedup.population.synthetic.randomness import Streams

# Ofcom's numbers reserved for TV and radio drama: 07700 900000–900999 and 01632 960000–960999.
DRAMA_NUMBER = re.compile(r"^(07700 900|01632 960)[0-9]{3}$")
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$")


@pytest.fixture(scope="module")
def patients(small_store: PopulationStore) -> list[dict]:
    return small_store.read("patients").to_pylist()


def test_everyone_has_a_name_an_address_and_a_drama_telephone_number(patients: list[dict]) -> None:
    for person in patients:
        assert person["given_name"] and person["family_name"]
        assert UK_POSTCODE.match(person["postcode"]), person["postcode"]
        assert re.match(r"^[0-9]+ .+, .+$", person["address_line"])
        assert DRAMA_NUMBER.match(person["phone"]), person["phone"]


def test_homes_are_in_real_postcode_districts_of_the_areas_practices(
    patients: list[dict], shared_dir: Path
) -> None:
    ods = shared_dir / "data/gp_practice_structures_qof_wylie102/epraccur_location_info.csv"
    with ods.open(encoding="utf-8") as handle:
        districts = {
            row["column09"].split()[0] for row in csv.DictReader(handle) if row["column09"]
        }
    outward = {person["postcode"].split()[0] for person in patients}
    assert outward and outward <= districts


def test_homes_lie_near_each_other_within_a_practice(
    patients: list[dict], small_store: PopulationStore
) -> None:
    practice = {
        r["person_id"]: r["practice_code"] for r in small_store.read("registrations").to_pylist()
    }
    by_practice: dict[str, list[tuple[float, float]]] = {}
    for person in patients:
        by_practice.setdefault(practice[person["person_id"]], []).append(
            (person["home_latitude"], person["home_longitude"])
        )
    for homes in by_practice.values():
        points = np.array(homes)
        centre = np.median(points, axis=0)
        km = np.hypot(
            (points[:, 0] - centre[0]) * 111.0,
            (points[:, 1] - centre[1]) * 111.0 * np.cos(np.radians(centre[0])),
        )
        assert np.quantile(km, 0.95) < 10.0


def test_first_names_fit_sex(patients: list[dict]) -> None:
    men_only = set(BritishNames.first_names_male) - set(BritishNames.first_names_female)
    women_only = set(BritishNames.first_names_female) - set(BritishNames.first_names_male)
    women = [p["given_name"] for p in patients if p["sex"] == "F"]
    men = [p["given_name"] for p in patients if p["sex"] == "M"]
    assert sum(name in men_only for name in women) == 0
    assert sum(name in women_only for name in men) == 0


def test_first_names_fit_the_decade_of_birth(patients: list[dict]) -> None:
    """Names of the 1930s are common among women born then and all but absent among girls."""
    thirties = {"Margaret", "Jean", "Joan", "Sheila", "Doreen", "Eileen"}
    older = [
        p["given_name"]
        for p in patients
        if p["sex"] == "F" and p["ethnicity"] == "White" and p["date_of_birth"].year < 1945
    ]
    girls = [
        p["given_name"]
        for p in patients
        if p["sex"] == "F" and p["ethnicity"] == "White" and p["date_of_birth"].year >= 2005
    ]
    assert np.mean([name in thirties for name in older]) > 0.15
    assert np.mean([name in thirties for name in girls]) < 0.02


def test_names_follow_heritage(patients: list[dict]) -> None:
    indian = set(IndianNames.last_names)
    asian = [p["family_name"] for p in patients if p["ethnicity"] == "Asian"]
    white = [p["family_name"] for p in patients if p["ethnicity"] == "White"]
    assert asian and np.mean([name in indian for name in asian]) > 0.95
    assert np.mean([name in indian for name in white]) < 0.05


def test_the_very_old_are_as_rare_as_in_england() -> None:
    """Shares of people aged 75+ who are 90+ and 100+: ONS mid-2022 estimates for England give
    about 10.6% and 0.27% (the generator once had twelve times England's centenarians)."""
    ages = _oldest_ages(1_000_000, Streams(3)("test"))
    assert ages.min() >= 75 and ages.max() <= 105
    assert np.mean(ages >= 90) == pytest.approx(0.106, abs=0.01)
    assert np.mean(ages >= 100) == pytest.approx(0.0027, abs=0.0008)


def test_the_small_area_has_few_centenarians(small_store: PopulationStore) -> None:
    patients = small_store.read("patients", columns=["date_of_birth", "date_of_death"])
    alive = patients.filter(pc.is_null(patients["date_of_death"]))
    born = np.array([d.year for d in alive["date_of_birth"].to_pylist()])
    age = 2026 - born
    assert np.mean(age >= 100) < 0.001
    # ONS mid-2022, England: 28% of people aged 75+ are 85 or over.
    assert 0.2 < np.mean(age >= 85) / np.mean(age >= 75) < 0.36
