"""The workforce baseline out: one CSV row per practice and PCN, and a synthetic workforce
file for the demo area (national rates, spread per practice)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from joinedup.commissioning.workforce import (
    MEASURES,
    AreaPractice,
    WorkforceBaseline,
    area_practices,
)
from joinedup.commissioning.workforce_file import ROLES
from joinedup.population.store import PopulationStore

CSV_COLUMNS: tuple[str, ...] = (
    "period",
    "level",
    "code",
    "name",
    "pcn_code",
    *(f"{role}_fte" for role in ROLES),
    "total_fte",
    "list_size",
    "list_size_source",
    "imd_quintile",
    *MEASURES,
)


def baseline_rows(baseline: WorkforceBaseline) -> list[dict[str, object]]:
    """One row per practice and PCN: FTE by role and every measure (rounded for display)."""
    rows = []
    for org in [*baseline.practices, *baseline.pcns]:
        row: dict[str, object] = {
            "period": org.period,
            "level": org.level,
            "code": org.code,
            "name": org.name,
            "pcn_code": org.pcn_code if org.level == "practice" else "",
            **{f"{role}_fte": round(org.fte[role], 2) for role in ROLES},
            "total_fte": round(org.total_fte, 2),
            # Not known is an empty cell (None would be written "withheld": nothing is).
            "list_size": "" if org.list_size is None else org.list_size,
            "list_size_source": org.list_size_source,
            "imd_quintile": "" if org.imd_quintile is None else org.imd_quintile,
        }
        for measure_id in MEASURES:
            value = org.measure(measure_id)
            row[measure_id] = "" if value is None else round(value, 3)
        rows.append(row)
    return rows


#: FTE per 1,000 registered patients, England. Practice staff: NHS England, "General Practice
#: Workforce, 30 September 2024" (official statistics; FTE by staff group: GPs including
#: trainees ~37,600, nurses ~17,500, direct patient care ~19,000, admin/non-clinical ~79,000)
#: over "Patients Registered at a GP Practice, October 2024" (~63.3 million), rounded. PCN
#: staff: NHS England reported more than 36,000 Additional Roles staff in PCNs in 2024
#: (headcount); 0.45 FTE per 1,000 allows for part-time working. Rounded figures for a demo
#: area, not a benchmark.
NATIONAL_FTE_PER_1000: dict[str, float] = {
    "gp": 0.59,
    "nurse": 0.28,
    "direct_patient_care": 0.30,
    "admin": 1.25,
}


PCN_DIRECT_PATIENT_CARE_PER_1000 = 0.45


DEMO_SPREAD = 0.25  # each practice's rate is the national one × 0.75 to 1.25


DEMO_COLUMNS: tuple[str, ...] = (
    "practice_code",
    "pcn_code",
    "name",
    "period",
    "staff_group",
    "fte",
)


def _spread(*parts: str) -> float:
    """A deterministic factor in [1 − spread, 1 + spread] from the parts (no random state)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    return 1 - DEMO_SPREAD + 2 * DEMO_SPREAD * unit


def workforce_demo_rows(store: PopulationStore) -> list[dict[str, str]]:
    """A workforce file for the store's area (rows keyed by `DEMO_COLUMNS`): each practice's
    FTE by role at the national rate per 1,000 registered patients times a factor of its own,
    plus each neighbourhood's PCN-employed direct patient care staff. Same store, same rows."""
    area = area_practices(store, frozenset())
    period = str(store.metadata()["extract_date"])[:7]
    rows = []
    for practice in sorted(area.values(), key=lambda p: p.code):
        thousands = practice.list_size / 1000
        for role, rate in NATIONAL_FTE_PER_1000.items():
            fte = round(thousands * rate * _spread(practice.code, role), 2)
            rows.append(
                {
                    "practice_code": practice.code,
                    "pcn_code": practice.parent_code,
                    "name": practice.name,
                    "period": period,
                    "staff_group": role,
                    "fte": f"{fte:.2f}",
                }
            )
    by_pcn: dict[str, list[AreaPractice]] = defaultdict(list)
    for practice in area.values():
        if practice.parent_code:
            by_pcn[practice.parent_code].append(practice)
    for code, members in sorted(by_pcn.items()):
        thousands = sum(p.list_size for p in members) / 1000
        fte = thousands * PCN_DIRECT_PATIENT_CARE_PER_1000 * _spread(code, "pcn")
        rows.append(
            {
                "practice_code": "",
                "pcn_code": code,
                "name": members[0].parent_name,
                "period": period,
                "staff_group": "direct_patient_care",
                "fte": f"{round(fte, 2):.2f}",
            }
        )
    return rows


def rows_to_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return out.getvalue()
