"""k-anonymity of pseudonymised rows (`joinedup.governance.disclosure`): age bands, place
generalised one step at a time by equivalence class, the residue withheld and counted."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from joinedup.errors import UserError
from joinedup.governance.disclosure import (
    DEFAULT_K,
    QuasiIdentifiers,
    age_band,
    disclosure_k,
    k_anonymise,
    smallest_class,
)
from joinedup.settings import Settings

PLACE = QuasiIdentifiers(fixed=("sex",), steps=(("practice",), ("neighbourhood",)))


def person(i: int, age: int, sex: str, practice: str, hood: str) -> dict[str, object]:
    return {"id": i, "age": age, "sex": sex, "practice": practice, "neighbourhood": hood}


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "0-4"), (4, "0-4"), (5, "5-9"), (67, "65-69"), (89, "85-89"), (90, "90+"), (104, "90+")],
)
def test_ages_are_5_year_bands_top_coded_at_90(age: int, band: str) -> None:
    assert age_band(age) == band


def test_a_negative_age_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        age_band(-1)


def test_a_large_practice_group_keeps_its_practice() -> None:
    rows = [person(i, 70 + i % 5, "F", "P1", "N1") for i in range(10)]
    out = k_anonymise(rows, PLACE, 10)
    assert out.withheld == 0
    assert [r["id"] for r in out.rows] == list(range(10))
    assert {(r["age_band"], r["practice"], r["neighbourhood"]) for r in out.rows} == {
        ("70-74", "P1", "N1")
    }
    assert all("age" not in r for r in out.rows)


def test_small_practice_groups_are_shown_by_neighbourhood() -> None:
    rows = [person(i, 80, "M", f"P{i % 3}", "N1") for i in range(12)]  # 4 per practice
    out = k_anonymise(rows, PLACE, 10)
    assert out.withheld == 0
    assert {(r["practice"], r["neighbourhood"]) for r in out.rows} == {(None, "N1")}


def test_then_by_the_whole_area_and_the_residue_is_withheld() -> None:
    rows = [
        *(person(i, 80, "M", f"P{i}", f"N{i % 4}") for i in range(12)),  # 3 per neighbourhood
        *(person(100 + i, 95, "F", "P9", "N9") for i in range(3)),  # 3 at 90+: too few anywhere
    ]
    out = k_anonymise(rows, PLACE, 10)
    assert out.withheld == 3
    assert {(r["practice"], r["neighbourhood"]) for r in out.rows} == {(None, None)}
    assert sorted(r["id"] for r in out.rows) == list(range(12))


def test_a_large_class_is_never_broken_up_by_generalising_others() -> None:
    rows = [
        *(person(i, 72, "F", "P1", "N1") for i in range(10)),
        *(person(20 + i, 72, "F", "P2", "N1") for i in range(3)),
    ]
    out = k_anonymise(rows, PLACE, 10)
    # The 10 at P1 keep their practice; the 3 at P2 are too few even by neighbourhood.
    assert [r["id"] for r in out.rows] == list(range(10))
    assert out.withheld == 3


def test_random_rows_come_out_k_anonymous_and_nothing_is_lost_or_invented() -> None:
    rng = random.Random(14)
    rows = [
        person(
            i,
            min(int(rng.expovariate(1 / 45)), 110),
            rng.choice("FM"),
            f"P{rng.randrange(12)}",
            "",
        )
        for i in range(3000)
    ]
    for row in rows:
        row["neighbourhood"] = f"N{int(str(row['practice'])[1:]) % 4}"
    for k in (2, 5, DEFAULT_K, 25):
        out = k_anonymise(rows, PLACE, k)
        sizes = Counter(
            (r["age_band"], r["sex"], r["practice"], r["neighbourhood"]) for r in out.rows
        )
        assert min(sizes.values()) >= k  # independent of smallest_class
        assert smallest_class(out.rows, ("age_band", "sex", "practice", "neighbourhood")) >= k
        assert len(out.rows) + out.withheld == len(rows)
        ids = [r["id"] for r in out.rows]
        assert ids == sorted(ids)  # order kept
        for r in out.rows:  # every shown value is the person's own, or blank by generalising
            source = rows[int(r["id"])]  # type: ignore[call-overload]
            assert r["age_band"] == age_band(source["age"])  # type: ignore[arg-type]
            assert r["practice"] in (source["practice"], None)
            assert r["neighbourhood"] in (source["neighbourhood"], None)


def test_k_must_be_2_or_more() -> None:
    with pytest.raises(ValueError, match="2 or more"):
        k_anonymise([], PLACE, 1)


@pytest.mark.parametrize(("text", "k"), [(None, DEFAULT_K), ("5", 5), ("25", 25)])
def test_k_is_configurable(text: str | None, k: int) -> None:
    settings = Settings(home=Path("."), database_url="sqlite://", disclosure_k=text)
    assert disclosure_k(settings) == k


@pytest.mark.parametrize("text", ["1", "0", "ten", "-3"])
def test_a_bad_k_is_one_clear_error(text: str) -> None:
    settings = Settings(home=Path("."), database_url="sqlite://", disclosure_k=text)
    with pytest.raises(UserError, match="JOINEDUP_DISCLOSURE_K"):
        disclosure_k(settings)
