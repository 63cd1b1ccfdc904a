"""Reference data the generator draws from, packaged with joinedup so it runs anywhere.

The tables are small distillations of public data (sources and licences in the SOURCE.md beside
each file; rebuilt from ../shared/ by scripts/derive_practice_profiles.py and
scripts/derive_generator_codes.py). They are read from the package, never from ../shared/ at
generation time, so the same seed gives byte-identical areas on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

AGE_BANDS = ((0, 16), (16, 18), (18, 30), (30, 50), (50, 65), (65, 75), (75, 105))
BAND_COLUMNS = ("p_0_15", "p_16_17", "p_18_29", "p_30_49", "p_50_64", "p_65_74", "p_75_plus")


def _read(package: str, name: str, strings: tuple[str, ...]) -> pa.Table:
    with resources.files(package).joinpath("data", name).open("rb") as handle:
        return pacsv.read_csv(
            handle,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in strings}, strings_can_be_null=False
            ),
        )


@dataclass(frozen=True)
class PracticeProfiles:
    """Real practices' list size, age/sex profile and deprivation (one row each)."""

    area: np.ndarray  # source local authority name
    lad_code: np.ndarray
    list_size: np.ndarray
    pct_male: np.ndarray
    band_shares: np.ndarray  # (practices × 7) shares of the list in AGE_BANDS
    imd_decile: np.ndarray


@dataclass(frozen=True)
class Lsoas:
    """Every LSOA of the source local authorities with its IMD 2019 decile."""

    lad_code: np.ndarray
    code: np.ndarray
    imd_decile: np.ndarray


@dataclass(frozen=True)
class PracticeLocations:
    """Postcode and coordinates of each profile practice (rows as in PracticeProfiles)."""

    postcode: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray


@dataclass(frozen=True)
class ConceptCodes:
    """The codes the generator records for one concept, with their relative weights."""

    codes: np.ndarray
    weights: np.ndarray
    sex: np.ndarray  # "", "F" or "M"

    def cumulative_for(self, female: bool) -> np.ndarray:
        allowed = (self.sex == "") | (self.sex == ("F" if female else "M"))
        w = np.where(allowed, self.weights, 0.0)
        return np.cumsum(w) / w.sum()


@dataclass(frozen=True)
class Medicine:
    key: str
    code: str
    name: str
    bnf_code: str
    kind: str  # "repeat" or "acute"
    pence_per_28_days: int

    @property
    def bnf_chapter(self) -> str:
        return self.bnf_code[:2]


@cache
def practice_profiles() -> PracticeProfiles:
    t = _read(
        "joinedup.population", "practice_profiles.csv", ("area", "lad_code", "source_practice_code")
    )
    return PracticeProfiles(
        area=np.asarray(t["area"].to_pylist(), dtype=object),
        lad_code=np.asarray(t["lad_code"].to_pylist(), dtype=object),
        list_size=t["list_size"].to_numpy().astype(np.int64),
        pct_male=t["pct_male"].to_numpy().astype(np.float64),
        band_shares=np.column_stack([t[c].to_numpy().astype(np.float64) for c in BAND_COLUMNS]),
        imd_decile=t["imd_decile"].to_numpy().astype(np.int8),
    )


@cache
def practice_locations() -> PracticeLocations:
    profile_codes = _read(
        "joinedup.population", "practice_profiles.csv", ("area", "lad_code", "source_practice_code")
    )["source_practice_code"].to_pylist()
    t = _read("joinedup.population", "practice_locations.csv", ("source_practice_code", "postcode"))
    if t["source_practice_code"].to_pylist() != profile_codes:
        raise RuntimeError(
            "practice_locations.csv is out of step with practice_profiles.csv: "
            "rebuild both with scripts/derive_practice_profiles.py"
        )
    return PracticeLocations(
        postcode=np.asarray(t["postcode"].to_pylist(), dtype=object),
        latitude=t["lat"].to_numpy().astype(np.float64),
        longitude=t["lon"].to_numpy().astype(np.float64),
    )


@cache
def first_names_by_decade() -> list[dict[str, str]]:
    """ONS top-ten first names by birth decade and sex (year, sex, names separated by ;)."""
    return _read(
        "joinedup.population", "first_names_by_decade.csv", ("year", "sex", "names")
    ).to_pylist()


@cache
def lsoas() -> Lsoas:
    t = _read("joinedup.population", "lsoa_deciles.csv", ("lad_code", "lsoa_code"))
    return Lsoas(
        lad_code=np.asarray(t["lad_code"].to_pylist(), dtype=object),
        code=np.asarray(t["lsoa_code"].to_pylist(), dtype=object),
        imd_decile=t["imd_decile"].to_numpy().astype(np.int8),
    )


@cache
def generator_code_rows() -> pa.Table:
    """All rows of terminology/data/generator_codes.csv (concept, code, …, weight, sex, source)."""
    return _read(
        "joinedup.terminology",
        "generator_codes.csv",
        ("concept", "code", "description", "sex", "source"),
    )


@cache
def concept_codes() -> dict[str, ConceptCodes]:
    """Codes the generator records, by concept (rows with weight > 0)."""
    rows = generator_code_rows().to_pylist()
    out: dict[str, ConceptCodes] = {}
    for concept in dict.fromkeys(r["concept"] for r in rows if r["weight"] > 0):
        chosen = [r for r in rows if r["concept"] == concept and r["weight"] > 0]
        out[concept] = ConceptCodes(
            codes=np.array([r["code"] for r in chosen], dtype=object),
            weights=np.array([float(r["weight"]) for r in chosen]),
            sex=np.array([r["sex"] for r in chosen], dtype=object),
        )
    return out


@cache
def code_set_members() -> dict[str, frozenset[str]]:
    """Every code set named in generator_codes.csv with the generator codes it contains."""
    members: dict[str, set[str]] = {}
    for r in generator_code_rows().to_pylist():
        members.setdefault(r["concept"], set()).add(r["code"])
    return {k: frozenset(v) for k, v in members.items()}


@cache
def medicines() -> dict[str, Medicine]:
    t = _read(
        "joinedup.terminology",
        "generator_medicines.csv",
        ("medicine", "code", "name", "bnf_code", "kind", "source"),
    )
    return {
        r["medicine"]: Medicine(
            r["medicine"],
            r["code"],
            r["name"],
            r["bnf_code"],
            r["kind"],
            round(r["cost_per_28_days"] * 100),
        )
        for r in t.to_pylist()
    }
