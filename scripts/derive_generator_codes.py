"""Rebuild the synthetic generator's SNOMED CT codes from the gm-sde code sets in ../shared/.

    uv run python scripts/derive_generator_codes.py [--shared ../shared] [--check]

Writes src/joinedup/terminology/data/generator_codes.csv (source in SOURCE.md there):

    concept, code, description, weight, sex, source

Two kinds of row:
  * weight > 0 — the generator records `code` for `concept` (a diagnosis, an eFI deficit
    finding, a measurement…), choosing among a concept's codes in proportion to weight; `sex`
    limits a code to one sex (e.g. prostate cancer). `source` is the code set it was read from.
  * weight = 0 — membership: `code` (one the generator records) also belongs to the gm-sde code
    set `concept`. Analytics and the calibration report find people through these rows exactly
    as they would through the full code set, because every code the generator can record is
    listed with every set that contains it.

The build refuses codes that would blur the causal structure: a diagnosis code must fall in its
own eFI deficit set and no other (so an eFI computed from the record matches the generator's
deficits), a deficit finding must be in its deficit set only and in no condition set. A code
no shared set holds (pulse rate, irregular heart beat) is marked as such.
`--check` exits 1 if the committed file differs from a fresh rebuild (used by the tests).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "joinedup" / "terminology" / "data" / "generator_codes.csv"
GM_SDE = "data/codelists_gm_sde"
GM_SDE_PREFIX = "shared/clinical-code-sets"  # path of the sets inside the gm-sde repository
NOT_IN_SHARED = "SNOMED CT UK edition (no shared code set holds this code)"

# concept: (code set it is read from, [(code, weight, sex)], the eFI deficit set it must be in)
Spec = tuple[str | None, list[tuple[str, int, str]], str | None]
CONCEPTS: dict[str, Spec] = {
    # Long-term conditions (diagnoses)
    "hypertension": (
        "conditions/hypertension",
        [("59621000", 85, ""), ("1201005", 10, ""), ("56218007", 5, "")],
        "efi-hypertension",
    ),
    "diabetes": (
        "conditions/diabetes",
        [("44054006", 80, ""), ("313436004", 10, ""), ("46635009", 10, "")],
        "efi-diabetes",
    ),
    "asthma": ("conditions/asthma", [("195967001", 100, "")], "efi-respiratory-disease"),
    "copd": (
        "conditions/copd",
        [("13645005", 70, ""), ("313297008", 30, "")],
        "efi-respiratory-disease",
    ),
    "coronary-heart-disease": (
        "conditions/coronary-heart-disease",
        [("414545008", 50, ""), ("194828000", 30, ""), ("22298006", 20, "")],
        "efi-chd",
    ),
    # gm-sde's atrial-fibrillation set has no SNOMED file; its eFI set holds the SNOMED codes.
    "atrial-fibrillation": (
        "conditions/efi-atrial-fibrillation",
        [("49436004", 100, "")],
        "efi-atrial-fibrillation",
    ),
    "heart-failure": (
        "conditions/heart-failure",
        [("84114007", 60, ""), ("42343007", 40, "")],
        "efi-heart-failure",
    ),
    "dementia": (
        "conditions/dementia",
        [("52448006", 40, ""), ("26929004", 40, ""), ("429998004", 20, "")],
        "efi-cognitive-problems",
    ),
    "chronic-kidney-disease": (
        "conditions/chronic-kidney-disease",
        [
            ("433144002", 40, ""),
            ("700378005", 35, ""),
            ("700379002", 15, ""),
            ("431857002", 10, ""),
        ],
        "efi-ckd",
    ),
    "stroke": ("conditions/stroke", [("230690007", 100, "")], "efi-stroke-tia"),
    "tia": ("conditions/tia", [("266257000", 100, "")], "efi-stroke-tia"),
    "osteoporosis": (
        "conditions/efi-osteoporosis",
        [("276661002", 60, ""), ("18040001", 40, "")],
        "efi-osteoporosis",
    ),
    "parkinsons": ("conditions/efi-parkinsons", [("49049000", 100, "")], "efi-parkinsons"),
    "osteoarthritis": (
        "conditions/osteoarthritis",
        [("396275006", 60, ""), ("239873007", 40, "")],
        "efi-arthritis",
    ),
    "rheumatoid-arthritis": (
        "conditions/rheumatoid-arthritis",
        [("69896004", 100, "")],
        "efi-arthritis",
    ),
    "hypothyroidism": (
        "conditions/hypothyroidism",
        [("40930008", 100, "")],
        "efi-thyroid-disorders",
    ),
    "depression": ("conditions/depression", [("35489007", 70, ""), ("370143000", 30, "")], None),
    "cancer": (
        "conditions/cancer",
        [
            ("254837009", 55, "F"),
            ("399068003", 55, "M"),
            ("363406005", 25, ""),
            ("363358000", 20, ""),
        ],
        None,
    ),
    # eFI deficits recorded as findings (Clegg 2016 code sets as published by gm-sde)
    "efi-activity-limitation": (
        "patient/efi-activity-limitation",
        [("21134002", 100, "")],
        "efi-activity-limitation",
    ),
    "efi-anaemia": ("patient/efi-anaemia", [("271737000", 100, "")], "efi-anaemia"),
    "efi-care-requirement": (
        "patient/efi-care-requirement",
        [("184156005", 60, ""), ("160774006", 40, "")],
        "efi-care-requirement",
    ),
    "efi-cognitive-problems": (
        "patient/efi-cognitive-problems",
        [("225038006", 100, "")],
        "efi-cognitive-problems",
    ),
    "efi-dizziness": ("patient/efi-dizziness", [("404640003", 100, "")], "efi-dizziness"),
    "efi-dyspnoea": ("patient/efi-dyspnoea", [("267036007", 100, "")], "efi-dyspnoea"),
    "efi-falls": ("patient/efi-falls", [("161898004", 60, ""), ("1912002", 40, "")], "efi-falls"),
    "efi-foot-problems": (
        "conditions/efi-foot-problems",
        [("201037000", 100, "")],
        "efi-foot-problems",
    ),
    "efi-fragility-fracture": (
        "conditions/efi-fragility-fracture",
        [("306171000000106", 40, ""), ("71620000", 30, ""), ("123971006", 30, "")],
        "efi-fragility-fracture",
    ),
    "efi-hearing-loss": (
        "conditions/efi-hearing-loss",
        [("15188001", 60, ""), ("49526009", 40, "")],
        "efi-hearing-loss",
    ),
    "efi-heart-valve-disease": (
        "conditions/efi-heart-valve-disease",
        [("60573004", 50, ""), ("48724000", 50, "")],
        "efi-heart-valve-disease",
    ),
    "efi-hypotension": (
        "conditions/efi-hypotension",
        [("271594007", 60, ""), ("271787007", 40, "")],
        "efi-hypotension",
    ),
    "efi-mobility-problems": (
        "patient/efi-mobility-problems",
        [("8510008", 60, ""), ("160693001", 40, "")],
        "efi-mobility-problems",
    ),
    "efi-peptic-ulcer": (
        "conditions/efi-peptic-ulcer",
        [("13200003", 100, "")],
        "efi-peptic-ulcer",
    ),
    "efi-pvd": ("conditions/efi-pvd", [("400047006", 100, "")], "efi-pvd"),
    "efi-skin-ulcer": (
        "conditions/efi-skin-ulcer",
        [("46742003", 60, ""), ("301023008", 40, "")],
        "efi-skin-ulcer",
    ),
    "efi-sleep-disturbance": (
        "patient/efi-sleep-disturbance",
        [("193462001", 100, "")],
        "efi-sleep-disturbance",
    ),
    "efi-social-vulnerability": (
        "patient/efi-social-vulnerability",
        [("105529008", 70, ""), ("33553000", 30, "")],
        "efi-social-vulnerability",
    ),
    "efi-thyroid-disorders": (
        "conditions/efi-thyroid-disorders",
        [("3716002", 100, "")],
        "efi-thyroid-disorders",
    ),
    "efi-urinary-incontinence": (
        "patient/efi-urinary-incontinence",
        [("165232002", 100, "")],
        "efi-urinary-incontinence",
    ),
    "efi-urinary-system-disease": (
        "conditions/efi-urinary-system-disease",
        [("139394000", 60, ""), ("11441004", 40, "M")],
        "efi-urinary-system-disease",
    ),
    "efi-vision-problems": (
        "conditions/efi-vision-problems",
        [("193570009", 100, "")],
        "efi-vision-problems",
    ),
    "efi-weight-loss": ("patient/efi-weight-loss", [("89362005", 100, "")], "efi-weight-loss"),
    "efi-arthritis": ("conditions/efi-arthritis", [("3723001", 100, "")], "efi-arthritis"),
    "efi-osteoporosis": (
        "conditions/efi-osteoporosis",
        [("312894000", 100, "")],
        "efi-osteoporosis",
    ),
    "efi-parkinsons": ("conditions/efi-parkinsons", [("26079004", 100, "")], "efi-parkinsons"),
    # Status codes that are also eFI deficits
    "housebound": ("patient/efi-housebound", [("160689007", 100, "")], "efi-housebound"),
    "care-home": (
        "patient/efi-care-requirement",
        [("248171000000108", 70, ""), ("160734000", 30, "")],
        "efi-care-requirement",
    ),
    # Other findings and measurements
    "carer": ("patient/carer", [("407542009", 50, ""), ("302767002", 50, "")], None),
    "systolic-blood-pressure": ("tests/systolic-blood-pressure", [("72313002", 100, "")], None),
    "diastolic-blood-pressure": ("tests/diastolic-blood-pressure", [("271650006", 100, "")], None),
    "hba1c": ("tests/hba1c", [("999791000000106", 100, "")], None),
    "pulse-rate": (None, [("78564009", 100, "")], None),
    "irregular-pulse": (None, [("361137007", 100, "")], None),
}
DESCRIPTIONS_NOT_IN_SHARED = {
    "78564009": "Pulse rate (observable entity)",
    "361137007": "Irregular heart beat (finding)",
}
# Condition sets a deficit finding must stay out of (else it would also count as a diagnosis).
CONDITION_SETS = {
    spec[0].split("/")[1]
    for name, spec in CONCEPTS.items()
    if spec[0]
    and not name.startswith("efi-")
    and spec[0].startswith("conditions/")
    and not spec[0].split("/")[1].startswith("efi-")
}


class CodeSet:
    def __init__(self, area: str, name: str, version: str, path: Path) -> None:
        self.area, self.name, self.version = area, name, version
        self.source = f"{GM_SDE_PREFIX}/{area}/{name}/{version}/{name}.snomed.txt"
        self.codes: dict[str, str] = {}
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0].strip():
                self.codes[parts[0].strip()] = parts[1].strip()


def load_code_sets(shared: Path) -> dict[str, CodeSet]:
    """The latest version of every gm-sde code set that has a SNOMED CT file, by set name."""
    sets: dict[str, CodeSet] = {}
    root = shared / GM_SDE
    for area in sorted(p for p in root.iterdir() if p.is_dir()):
        for concept in sorted(p for p in area.iterdir() if p.is_dir()):
            versions = sorted(
                (v for v in concept.iterdir() if v.name.isdigit()), key=lambda v: int(v.name)
            )
            with_snomed = [v for v in versions if (v / f"{concept.name}.snomed.txt").is_file()]
            if not with_snomed:
                continue
            latest = with_snomed[-1]
            if concept.name in sets:
                raise ValueError(f"code set name {concept.name} is not unique")
            sets[concept.name] = CodeSet(
                area.name, concept.name, latest.name, latest / f"{concept.name}.snomed.txt"
            )
    return sets


def build(shared: Path) -> list[dict[str, str]]:
    sets = load_code_sets(shared)
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    for concept, (source, codes, deficit) in CONCEPTS.items():
        source_set = sets[source.split("/")[1]] if source else None
        for code, weight, sex in codes:
            if source_set is not None and code not in source_set.codes:
                problems.append(f"{concept}: {code} is not in {source}")
                continue
            description = source_set.codes[code] if source_set else DESCRIPTIONS_NOT_IN_SHARED[code]
            rows.append(
                {
                    "concept": concept,
                    "code": code,
                    "description": description,
                    "weight": str(weight),
                    "sex": sex,
                    "source": source_set.source if source_set else NOT_IN_SHARED,
                }
            )
            members = sorted(name for name, s in sets.items() if code in s.codes)
            efi = {m for m in members if m.startswith("efi-")}
            if efi != ({deficit} if deficit else set()):
                problems.append(
                    f"{concept}: {code} is in eFI sets {sorted(efi)}, expected {deficit}"
                )
            if concept.startswith("efi-") and CONDITION_SETS & set(members):
                problems.append(
                    f"{concept}: {code} is also in {sorted(CONDITION_SETS & set(members))}"
                )
            for member in members:
                if member != concept and not (source_set and member == source_set.name == concept):
                    rows.append(
                        {
                            "concept": member,
                            "code": code,
                            "description": sets[member].codes[code],
                            "weight": "0",
                            "sex": "",
                            "source": sets[member].source,
                        }
                    )
    if problems:
        raise ValueError("unsuitable generator codes:\n  " + "\n  ".join(problems))
    unique = {(r["concept"], r["code"]): r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["concept"], r["weight"] == "0", r["code"]))


def render(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=["concept", "code", "description", "weight", "sex", "source"],
        lineterminator="\n",
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    args = parser.parse_args()
    text = render(build(args.shared))
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT.name} differs from a rebuild from {args.shared}", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.name}: {text.count(chr(10)) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
