"""Derive the ICD-10 score tables (HFRS, Charlson, Elixhauser) from ../shared/reference/.

    uv run python scripts/derive_icd10_score_tables.py [--shared PATH] [--check]

Writes small CSVs under `src/joinedup/analytics/scores/data/<score>/`:

* `hfrs/hfrs_weights.csv` - group (3-character ICD-10 code), description, weight (points, one
  decimal place). From the Gilbert 2018 points table as packaged by jamesvanoppen/hfrs
  (descriptions; the trailing space after each code is stripped), checked code-for-code and
  weight-for-weight against comorbidipy 0.8.0's `hfrs_mapping`: 109 codes, sum 173.2.
* `charlson/charlson_icd10_quan.csv` - group, code_prefix: the Quan 2005 ICD-10 mapping
  (comorbidipy 0.8.0 `charlson_icd10_quan`, a port of R `comorbidity`).
* `charlson/charlson_weights.csv` - group, description, charlson1987, quan2011. The Quan 2011
  column takes AIDS/HIV = 4 (OmopIndices, R `icd`, and R `comorbidity` after its PR #44); it
  must equal the R comorbidity/comorbidipy column in every other group, which is checked.
* `elixhauser/elixhauser_icd10_quan.csv` - group, code_prefix: Quan 2005 Elixhauser ICD-10.
* `elixhauser/elixhauser_weights.csv` - group, description, van_walraven, swiss.

The derivation is deterministic; `--check` rebuilds in memory and fails if a committed CSV
differs. The `SOURCE.md` beside each table is written by hand (it cites the shared files).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "joinedup" / "analytics" / "scores" / "data"
DEFAULT_SHARED = ROOT.parent / "shared"

HFRS_GROUPS = 109
HFRS_WEIGHT_SUM = Decimal("173.2")

CHARLSON_GROUPS = (
    *("ami", "chf", "pvd", "cevd", "dementia", "copd", "rheumd", "pud", "mld"),
    *("diab", "diabwc", "hp", "rend", "canc", "msld", "metacanc", "aids"),
)

# Labels of the 31 Quan 2005 / van Walraven 2009 Elixhauser groups (names, not data).
ELIXHAUSER_DESCRIPTIONS = {
    "chf": "congestive heart failure",
    "carit": "cardiac arrhythmias",
    "valv": "valvular disease",
    "pcd": "pulmonary circulation disorders",
    "pvd": "peripheral vascular disorders",
    "hypunc": "hypertension, uncomplicated",
    "hypc": "hypertension, complicated",
    "para": "paralysis",
    "ond": "other neurological disorders",
    "cpd": "chronic pulmonary disease",
    "diabunc": "diabetes, uncomplicated",
    "diabc": "diabetes, complicated",
    "hypothy": "hypothyroidism",
    "rf": "renal failure",
    "ld": "liver disease",
    "pud": "peptic ulcer disease, excluding bleeding",
    "aids": "AIDS/HIV",
    "lymph": "lymphoma",
    "metacanc": "metastatic cancer",
    "solidtum": "solid tumour without metastasis",
    "rheumd": "rheumatoid arthritis/collagen vascular diseases",
    "coag": "coagulopathy",
    "obes": "obesity",
    "wloss": "weight loss",
    "fed": "fluid and electrolyte disorders",
    "blane": "blood loss anaemia",
    "dane": "deficiency anaemia",
    "alcohol": "alcohol abuse",
    "drug": "drug abuse",
    "psycho": "psychoses",
    "depre": "depression",
}


class DeriveError(RuntimeError):
    """The shared reference files do not say what this script expects."""


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _to_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DeriveError(message)


def derive_hfrs(shared: Path) -> dict[str, str]:
    folder = shared / "reference" / "hfrs"
    gilbert = _read_csv(folder / "points_gilbert2018_jamesvanoppen.tsv", delimiter="\t")
    # The TSV's header cells also carry trailing spaces.
    gilbert = [{k.strip(): v.strip() for k, v in row.items()} for row in gilbert]
    comorbidipy = {
        r["icd10_3char"].strip(): Decimal(r["weight"])
        for r in _read_csv(folder / "hfrs_icd10_weights_comorbidipy.csv")
    }
    rows = []
    for row in gilbert:
        code, weight = row["ICD Code"], Decimal(row["Points awarded"])
        _check(len(code) == 3, f"HFRS code {code!r} is not 3 characters")
        _check(
            comorbidipy.get(code) == weight,
            f"HFRS {code}: jamesvanoppen {weight} vs comorbidipy {comorbidipy.get(code)}",
        )
        rows.append((code, row["ICD Description"], f"{weight:.1f}"))
    _check(
        len(rows) == HFRS_GROUPS and len({r[0] for r in rows}) == HFRS_GROUPS,
        f"expected {HFRS_GROUPS} distinct HFRS codes, found {len(rows)}",
    )
    _check(set(comorbidipy) == {r[0] for r in rows}, "HFRS code sets differ between sources")
    total = sum(Decimal(r[2]) for r in rows)
    _check(total == HFRS_WEIGHT_SUM, f"HFRS weights sum to {total}, expected {HFRS_WEIGHT_SUM}")
    rows.sort(key=lambda r: (-Decimal(r[2]), r[0]))
    return {"hfrs/hfrs_weights.csv": _to_csv(("group", "description", "weight"), rows)}


def _mapping(shared: Path, variant: str) -> list[tuple[str, str]]:
    path = shared / "reference" / "charlson_elixhauser" / "comorbidipy_code_mappings_long.csv"
    pairs = sorted(
        {
            (r["category"], r["code_prefix"].strip().upper())
            for r in _read_csv(path)
            if r["score_icd_variant"] == variant
        }
    )
    _check(bool(pairs), f"no rows for {variant}")
    for group, prefix in pairs:
        _check(
            len(prefix) in (3, 4) and prefix[0].isalpha() and prefix[1:].isdigit(),
            f"{variant} {group}: prefix {prefix!r} is not a 3- or 4-character ICD-10 code",
        )
    return pairs


def derive_charlson(shared: Path) -> dict[str, str]:
    pairs = _mapping(shared, "charlson_icd10_quan")
    _check({g for g, _ in pairs} == set(CHARLSON_GROUPS), "Charlson groups differ")
    sets = _read_csv(shared / "reference" / "charlson_elixhauser" / "charlson_weight_sets.csv")
    by_group = {r["category"]: r for r in sets}
    _check(set(by_group) == set(CHARLSON_GROUPS), "charlson_weight_sets.csv groups differ")
    rows = []
    for group in CHARLSON_GROUPS:
        r = by_group[group]
        quan_r = int(r["quan2011_per_R_comorbidity_and_comorbidipy"])
        quan_omop = int(r["quan2011_per_OmopIndices_updated_charlson"])
        if group == "aids":
            _check((quan_r, quan_omop) == (2, 4), f"AIDS weights are {quan_r}/{quan_omop}")
        else:
            _check(quan_r == quan_omop, f"Quan 2011 {group}: sources disagree")
        rows.append((group, r["description"], int(r["charlson1987"]), quan_omop))
    return {
        "charlson/charlson_icd10_quan.csv": _to_csv(("group", "code_prefix"), pairs),
        "charlson/charlson_weights.csv": _to_csv(
            ("group", "description", "charlson1987", "quan2011"), rows
        ),
    }


def derive_elixhauser(shared: Path) -> dict[str, str]:
    pairs = _mapping(shared, "elixhauser_icd10_quan")
    weights: dict[str, dict[str, int]] = {}
    path = shared / "reference" / "charlson_elixhauser" / "comorbidipy_weights.csv"
    for r in _read_csv(path):
        weights.setdefault(r["weighting"], {})[r["category"]] = int(r["weight"])
    groups = list(weights["van_walraven"])
    _check(groups == list(ELIXHAUSER_DESCRIPTIONS), "Elixhauser groups differ from the labels")
    _check(set(weights["swiss"]) == set(groups), "Swiss weights cover other groups")
    _check({g for g, _ in pairs} == set(groups), "Elixhauser mapping groups differ")
    rows = [
        (g, ELIXHAUSER_DESCRIPTIONS[g], weights["van_walraven"][g], weights["swiss"][g])
        for g in groups
    ]
    return {
        "elixhauser/elixhauser_icd10_quan.csv": _to_csv(("group", "code_prefix"), pairs),
        "elixhauser/elixhauser_weights.csv": _to_csv(
            ("group", "description", "van_walraven", "swiss"), rows
        ),
    }


def derive(shared: Path) -> dict[str, str]:
    """Every derived table: relative path under the data folder -> CSV text."""
    return {**derive_hfrs(shared), **derive_charlson(shared), **derive_elixhauser(shared)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument(
        "--check",
        action="store_true",
        help="fail if a committed table differs from a fresh derivation",
    )
    args = parser.parse_args(argv)
    tables = derive(args.shared)
    stale = []
    for name, text in tables.items():
        target = OUT / name
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)} ({text.count(chr(10)) - 1} rows)")
    if stale:
        print("out of date (run scripts/derive_icd10_score_tables.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
