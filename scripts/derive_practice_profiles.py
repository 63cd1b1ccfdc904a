"""Rebuild the synthetic generator's practice profiles and LSOA deprivation table from ../shared/.

    uv run python scripts/derive_practice_profiles.py [--shared ../shared] [--check]

Writes three small tables under src/joinedup/population/data/ (sources in SOURCE.md there):

practice_profiles.csv — one row per real English practice of a few CCGs that were coterminous
    with one local authority in 2019/20: list size, % male, mean age, the share of the list in
    seven age bands, and the practice's IMD 2019 score and national decile. The generator draws
    its practices' sizes and age/sex/deprivation profiles from these rows (scaled, renamed).
lsoa_deciles.csv — every LSOA (2011) of those local authorities with its IMD 2019 decile, so
    synthetic residents get real LSOA codes whose deprivation follows their practice's.
practice_locations.csv — each of those practices' postcode and coordinates, so synthetic
    residents live in their practice's real postcode district, near it.

Age bands. The QOF files give cumulative counts (16+, 18+, 50+, 65+, 30–74, 0–64) and mean
age, which pin down five bands directly; 18–29 vs 30–49 and 65–74 vs 75+ are split by the one
remaining equation, the practice's mean age (band mid-points as below), clipped to be feasible.
`--check` exits 1 if the committed files differ from a fresh rebuild (used by the tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "joinedup" / "population" / "data"
QOF = "data/qof_2019_20_practice_lists_lsoa_imd_hoclibrary"
STRUCTURES = "data/gp_practice_structures_qof_wylie102/structures_2019_2020.csv"
IMD_SCORES = "data/gp_practice_payments_fingertips_heec/fingertips_practice_imd_score_93553.csv"
EPRACCUR = "data/gp_practice_structures_qof_wylie102/epraccur_location_info.csv"
COORDINATES = "data/gp_practice_structures_qof_wylie102/GP_info_and_coordinates.csv"

# CCGs whose 2019/20 boundary was one local authority (so residents' LSOAs can be drawn from
# that authority), chosen to span affluent to deprived and suburban to urban.
AREAS = (
    "Trafford",
    "Shropshire",
    "Stockport",
    "Brighton and Hove",
    "Dudley",
    "Wakefield",
    "Wirral",
    "Bolton",
)
BANDS = ("p_0_15", "p_16_17", "p_18_29", "p_30_49", "p_50_64", "p_65_74", "p_75_plus")
BAND_MEAN_AGE = {
    "0_15": 7.5,
    "16_17": 17.0,
    "18_29": 23.5,
    "30_49": 39.5,
    "50_64": 57.0,
    "65_74": 69.5,
    "75_plus": 82.5,
}
# Practices unlike a general list (care-home or student-only lists, tiny lists) would make
# implausible synthetic practices, so they are left out.
MIN_LIST, MAX_SHARE_65, MIN_SHARE_65 = 1_500, 0.45, 0.02
MALE_SHARE = (0.42, 0.58)  # beyond this a list is a prison, hostel or single-sex service


def age_bands(demo: pd.DataFrame) -> pd.DataFrame:
    """Seven age-band counts per practice from the QOF cumulative counts and mean age."""
    total = demo["Total"].astype(float)
    b0 = total - demo["16+"]
    b16 = demo["16+"] - demo["18+"]
    b50 = demo["50+"] - demo["65+"]
    a = demo["18+"] - demo["50+"]  # 18–49
    b = demo["30_74"] - b50  # 30–49 plus 65–74
    c = demo["65+"]  # 65–74 plus 75+
    m = BAND_MEAN_AGE
    rest = demo["AgeAll"] * total - (m["0_15"] * b0 + m["16_17"] * b16 + m["50_64"] * b50)
    coef = m["30_49"] - m["18_29"] - m["65_74"] + m["75_plus"]
    x = (rest - m["18_29"] * a - m["65_74"] * b - m["75_plus"] * (c - b)) / coef  # 30–49
    x = np.clip(x, np.maximum(0, b - c), np.minimum(a, b))
    counts = pd.DataFrame(
        {
            "0_15": b0,
            "16_17": b16,
            "18_29": a - x,
            "30_49": x,
            "50_64": b50,
            "65_74": b - x,
            "75_plus": c - b + x,
        }
    ).clip(lower=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares.columns = list(BANDS)
    return shares


def practice_imd(shared: Path) -> pd.DataFrame:
    """IMD 2019 score per practice and its national decile (1 = most deprived tenth)."""
    imd = pd.read_csv(shared / IMD_SCORES, encoding="utf-8-sig")
    imd = imd[imd["Year"] == 2019][["AreaCode", "Value"]].dropna()
    imd = imd.rename(columns={"AreaCode": "PRACTICE_CODE", "Value": "imd_score"})
    rank = imd["imd_score"].rank(ascending=False, method="first")
    imd["imd_decile"] = np.ceil(rank / len(imd) * 10).astype(int).clip(1, 10)
    return imd


def practice_locations(shared: Path, profiles: pd.DataFrame) -> pd.DataFrame:
    """Postcode (ODS epraccur) and coordinates of each profile practice.

    Coordinates come from the geocoded practice list; a practice missing there (closed since
    2019/20) takes the mean of its local authority's other practices and is marked estimated.
    """
    ods = pd.read_csv(shared / EPRACCUR, usecols=["column00", "column09"])
    ods = ods.rename(columns={"column00": "source_practice_code", "column09": "postcode"})
    geo = pd.read_csv(shared / COORDINATES, usecols=["PRACTICE_CODE", "lat", "lon"])
    geo = geo.rename(columns={"PRACTICE_CODE": "source_practice_code"})
    table = profiles[["area", "source_practice_code"]].merge(ods, how="left")
    table = table.merge(geo, how="left")
    table["coordinates_estimated"] = table["lat"].isna()
    for column in ("lat", "lon"):
        area_mean = table.groupby("area")[column].transform("mean")
        table[column] = table[column].fillna(area_mean).round(5)
    return table[["source_practice_code", "postcode", "lat", "lon", "coordinates_estimated"]]


def build(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    structures = pd.read_csv(shared / STRUCTURES)
    structures["area"] = (
        structures["CCG_NAME"]
        .str.replace(r"^NHS ", "", regex=True)
        .str.replace(r" CCG$", "", regex=True)
    )
    lsoas = pd.read_csv(shared / QOF / "lsoa_geog_lookup.csv")
    lads = lsoas[lsoas["LAD_NAME"].isin(AREAS)][["LAD_CODE", "LAD_NAME"]].drop_duplicates()
    demo = pd.read_csv(shared / QOF / "gp_demographics.csv")
    demo = demo[demo["Total"] >= MIN_LIST]
    demo = demo[(demo["65perc"] <= MAX_SHARE_65) & (demo["65perc"] >= MIN_SHARE_65)]
    demo = demo[demo["Percent_male"].between(*MALE_SHARE)]

    chosen = structures[structures["area"].isin(AREAS)][["PRACTICE_CODE", "area"]]
    chosen = chosen.merge(lads, left_on="area", right_on="LAD_NAME")
    chosen = chosen.merge(demo, on="PRACTICE_CODE").merge(practice_imd(shared), on="PRACTICE_CODE")
    shares = age_bands(chosen)
    profiles = pd.DataFrame(
        {
            "area": chosen["area"],
            "lad_code": chosen["LAD_CODE"],
            "source_practice_code": chosen["PRACTICE_CODE"],
            "list_size": chosen["Total"].astype(int),
            "pct_male": chosen["Percent_male"].round(4),
            "mean_age": chosen["AgeAll"].round(2),
            **{band: shares[band].round(4) for band in BANDS},
            "imd_score": chosen["imd_score"].round(2),
            "imd_decile": chosen["imd_decile"],
        }
    ).sort_values(["area", "source_practice_code"], ignore_index=True)

    lsoa_table = lsoas[lsoas["LAD_CODE"].isin(lads["LAD_CODE"])]
    lsoa_table = pd.DataFrame(
        {
            "lad_code": lsoa_table["LAD_CODE"],
            "lsoa_code": lsoa_table["LSOA_CODE"],
            "imd_decile": lsoa_table["IMD_OVERALL"].astype(int),
        }
    ).sort_values(["lad_code", "lsoa_code"], ignore_index=True)
    return profiles, lsoa_table


def render(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument(
        "--check", action="store_true", help="only compare with the committed files"
    )
    args = parser.parse_args()
    profiles, lsoas = build(args.shared)
    outputs = {
        "practice_profiles.csv": render(profiles),
        "lsoa_deciles.csv": render(lsoas),
        "practice_locations.csv": render(practice_locations(args.shared, profiles)),
    }
    if args.check:
        stale = [n for n, text in outputs.items() if (OUT / n).read_text() != text]
        for name in stale:
            print(f"{name} differs from a rebuild from {args.shared}", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in outputs.items():
        (OUT / name).write_text(text)
        print(f"wrote {name}: {text.count(chr(10)) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
