"""Oracle for the Cambridge Multimorbidity Score: plain Python, independent of the Ibis pipeline.

Shares only the data (weights, medication groups, codelists). Rules and simplifications: see
joinedup.analytics.scores.cms.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

from joinedup.terminology.codelists import load_codelist

DATA = Path(__file__).resolve().parents[1] / "scores" / "data" / "cms"

LISTS = {
    "HYP": "hypertension",
    "ANX": "anxiety",
    "DEP": "depression",
    "HEL": "hearing-loss",
    "IBS": "irritable-bowel-syndrome",
    "AST": "asthma",
    "DIA": "diabetes",
    "CHD": "coronary-heart-disease",
    "CKD": "ckd-stage-3-5",
    "EGFR": "egfr",
    "ATR": "atrial-fibrillation",
    "STR": "stroke-tia",
    "COPD": "copd",
    "RHE": "connective-tissue-disorder",
    "CAN": "cancer",
    "ALC": "alcohol-problems",
    "HEF": "heart-failure",
    "DEM": "dementia",
    "SCZ": "severe-mental-illness",
    "EPI": "epilepsy",
}


def weights() -> dict[str, int]:
    """Condition code → general-outcome weight in hundredths."""
    with (DATA / "weights.csv").open(encoding="utf-8", newline="") as handle:
        return {
            r["condition_code"]: int(Decimal(r["general_outcome_weight"]) * 100)
            for r in csv.DictReader(handle)
        }


def groups() -> dict[str, list[str]]:
    """Medication group → lower-case ingredient names."""
    result: dict[str, list[str]] = {}
    with (DATA / "medication_groups.csv").open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            result.setdefault(r["medication_group"], []).append(r["ingredient"].lower())
    return result


@functools.cache
def _lookup() -> dict[tuple[str, str], list[str]]:
    """(code_system, code) → the keys of LISTS whose codelist holds it."""
    lookup: dict[tuple[str, str], list[str]] = {}
    for key, codelist_id in LISTS.items():
        for system, codes in load_codelist(codelist_id).codes.items():
            for code in codes:
                lookup.setdefault((system, code), []).append(key)
    return lookup


def cms(
    events: Iterable[Mapping],
    medications: Iterable[Mapping] | None,
    index_date: dt.date,
) -> dict[int, dict]:
    """person_id → {cms, conditions, present (set of condition codes)}.

    `events`: dicts with person_id, code_system, code, event_date and value (or None);
    `medications`: dicts with person_id, issue_id, issue_date, name.
    """
    lookup = _lookup()
    year_ago = index_date - dt.timedelta(days=365)
    five_years_ago = index_date - dt.timedelta(days=1826)
    dates: dict[int, dict[str, list[dt.date]]] = {}
    egfr: dict[int, list[tuple[dt.date, float]]] = {}
    for event in events:
        person = event["person_id"]
        dates.setdefault(person, {})
        if event["event_date"] > index_date:
            continue
        for key in lookup.get((event["code_system"], event["code"]), []):
            dates[person].setdefault(key, []).append(event["event_date"])
            value = event.get("value")
            if key == "EGFR" and value is not None and 0 < value <= 250:
                egfr.setdefault(person, []).append((event["event_date"], value))

    ingredients = groups()
    rx_recent: dict[int, dict[str, int]] = {}
    rx_ever: dict[int, dict[str, int]] = {}
    for issue in medications or []:
        person = issue["person_id"]
        dates.setdefault(person, {})
        rx_recent.setdefault(person, {})
        rx_ever.setdefault(person, {})
        if issue["issue_date"] > index_date:
            continue
        name = issue["name"].lower()
        for group, names in ingredients.items():
            if any(n in name for n in names):
                rx_ever[person][group] = rx_ever[person].get(group, 0) + 1
                if issue["issue_date"] > year_ago:
                    rx_recent[person][group] = rx_recent[person].get(group, 0) + 1

    have_rx = medications is not None
    w = weights()
    result = {}
    for person, found in dates.items():

        def ever(key: str, found: dict = found) -> bool:
            return key in found

        def recent(key: str, found: dict = found) -> bool:
            return any(d > year_ago for d in found.get(key, []))

        def rx(group: str, at_least: int, person: int = person) -> bool:
            return rx_recent.get(person, {}).get(group, 0) >= at_least

        readings = sorted(egfr.get(person, []), reverse=True)  # newest first, then highest
        present = {
            "HYP": ever("HYP"),
            "ANX_DEP": recent("ANX")
            or recent("DEP")
            or rx("anxiolytic_hypnotic", 4)
            or rx("antidepressant", 4),
            "PNC": rx("pom_analgesic", 4) or (rx("pain_antiepileptic", 4) and not ever("EPI")),
            "HEL": ever("HEL"),
            "IBS": ever("IBS") or rx("antispasmodic", 4),
            "AST": ever("AST") and (rx("asthma_treatment", 1) or not have_rx),
            "DIA": ever("DIA"),
            "CHD": ever("CHD"),
            "CKD": (max(v for _, v in readings[:2]) < 60) if readings else ever("CKD"),
            "ATR": ever("ATR"),
            "CON": rx("laxative", 4),
            "STR": ever("STR"),
            "COPD": ever("COPD"),
            "RHE": ever("RHE"),
            "CAN": ever("CAN") and min(found["CAN"]) > five_years_ago,
            "ALC": ever("ALC"),
            "HEF": ever("HEF"),
            "DEM": ever("DEM"),
            "SCZ": ever("SCZ") or rx_ever.get(person, {}).get("lithium", 0) >= 1,
            "EPI": ever("EPI") and (rx("antiepileptic", 1) or not have_rx),
        }
        codes = {code for code, yes in present.items() if yes}
        result[person] = {
            "cms": sum(w[c] for c in codes) / 100,
            "conditions": len(codes),
            "present": codes,
        }
    return result
