"""LOINC measurements onto the SNOMED CT concepts of the codelists
(`data/loinc_to_snomed.csv`; the sources are in `data/SOURCE.md`)."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from joinedup.population.ingest.records import SourceRow, Unsupported


@dataclass(frozen=True)
class Equivalent:
    loinc_unit: str
    snomed_code: str
    unit: str
    scale: float
    offset: float


@functools.cache
def loinc_equivalents() -> dict[str, Equivalent]:
    """LOINC code → its SNOMED CT concept and unit conversion."""
    path = Path(__file__).parents[1] / "data" / "loinc_to_snomed.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            r["loinc_code"]: Equivalent(
                r["loinc_unit"], r["snomed_code"], r["unit"], float(r["scale"]), float(r["offset"])
            )
            for r in csv.DictReader(handle)
        }


def snomed_equivalent(row: SourceRow) -> SourceRow | Unsupported | None:
    """The SNOMED CT event for a LOINC measurement row (value converted where the units
    differ); None when the code has no equivalent; Unsupported when its unit is not the one
    the map converts from."""
    found = loinc_equivalents().get(row.values["code"])
    if found is None:
        return None
    value, unit = row.values["value"], row.values["unit"]
    if unit not in (None, found.loinc_unit):
        detail = f"LOINC {row.values['code']} in {unit!r} (expected {found.loinc_unit!r})"
        return Unsupported("measurement unit", row.location, detail)
    if value is not None:
        value = round(value * found.scale + found.offset, 1)
    values = {**row.values, "code_system": "snomed", "code": found.snomed_code}
    values |= {"value": value, "unit": found.unit}
    return SourceRow(row.table, values, row.location, f"{row.source_id}#snomed")
