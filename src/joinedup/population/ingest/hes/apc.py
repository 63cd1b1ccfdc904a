"""Admitted patient care: consultant episodes grouped into hospital provider spells, with
their ICD-10 diagnoses; OPCS-4 procedures counted as not held."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from joinedup.population.ingest.hes.fields import (
    COST_COLUMN,
    DIAGNOSIS_POSITIONS,
    FINISHED_EPISODE,
    PROCEDURE_POSITIONS,
    RowProblem,
    admission_method,
    field_date,
    is_present,
    person_of,
    required_field,
)
from joinedup.population.ingest.hes.source import Source, rows_or_rejects
from joinedup.population.ingest.identity import KeyRef, PersonRef
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported
from joinedup.terminology.icd10 import icd10_code_problem, normalise_icd10


@dataclass
class _Spell:
    key: str
    person: PersonRef
    provider: str
    lines: list[int] = field(default_factory=list)
    episodes: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _spell_key(row: Mapping[str, str]) -> str:
    provider = required_field(row, "PROCODE3")
    spell_number = row.get("PROVSPNOPS", "")
    if is_present(spell_number):
        return f"hes-apc:{provider}:{spell_number}"
    person, admitted = required_field(row, "PSEUDO_HESID"), required_field(row, "ADMIDATE")
    return f"hes-apc:{provider}:{person}:{admitted}"


def _episode_order(row: Mapping[str, str]) -> int:
    text = row.get("EPIORDER", "")
    return int(text) if text.isdigit() else 99


def _episode_summary(row: Mapping[str, str]) -> dict[str, str]:
    """The few fields a spell needs from one episode (not the 193 columns of the row)."""
    kept = {k: row.get(k, "") for k in ("ADMIDATE", "ADMIMETH", "DISDATE", "SUSHRG", "HRG40")}
    if COST_COLUMN in row:
        kept[COST_COLUMN] = row[COST_COLUMN]
    for n in range(1, DIAGNOSIS_POSITIONS + 1):
        code = row.get(f"DIAG_4_{n:02d}", "") or row.get(f"DIAG_3_{n:02d}", "")
        if is_present(code):
            kept[f"DX{n:02d}"] = code
    return kept


def _procedures(row: Mapping[str, str]) -> list[str]:
    codes = []
    for n in range(1, PROCEDURE_POSITIONS + 1):
        code = row.get(f"OPERTN_4_{n:02d}", "") or row.get(f"OPERTN_3_{n:02d}", "")
        if is_present(code):
            codes.append(code)
    return codes


def read_apc(source: Source) -> Iterator[ReaderItem]:
    spells: dict[str, _Spell] = {}
    for item in rows_or_rejects(source, "hospital_spells"):
        if isinstance(item, Rejected):
            yield item
            continue
        line, row = item
        try:
            if row.get("EPISTAT", "") != FINISHED_EPISODE:
                raise RowProblem(
                    f"episode status (EPISTAT) is {row.get('EPISTAT')!r}, not 3 (finished): "
                    "unfinished episodes are loaded from a later extract, once finished"
                )
            key = _spell_key(row)
            spell = spells.get(key) or _Spell(key, person_of(row), required_field(row, "PROCODE3"))
        except RowProblem as exc:
            yield Rejected(
                source.where(line), f"episode {row.get('EPIKEY', '?')}: {exc}", "hospital_spells"
            )
            continue
        spells[key] = spell
        spell.lines.append(line)
        spell.episodes.append((_episode_order(row), line, _episode_summary(row)))
        procedures = _procedures(row)
        if procedures:
            yield Unsupported(
                "OPCS-4 procedure",
                source.where(line),
                f"{len(procedures)} procedure code(s): no contract table holds procedures yet",
            )
    for spell in spells.values():
        yield from _spell_rows(source, spell)


def _spell_rows(source: Source, spell: _Spell) -> Iterator[ReaderItem]:
    episodes = sorted(spell.episodes, key=lambda e: (e[0], e[1]))
    first = episodes[0][2]
    lines = ", ".join(str(line) for line in sorted(spell.lines))
    where = f"{source.path.name} line{'s' if len(spell.lines) > 1 else ''} {lines}"
    try:
        admitted = field_date(first, "ADMIDATE")
        method = admission_method(first.get("ADMIMETH", ""))
        discharges = [e[2]["DISDATE"] for e in episodes if is_present(e[2]["DISDATE"])]
        if not discharges:
            raise RowProblem(
                "no discharge date (DISDATE) on any episode: the spell has not ended; it is "
                "loaded from a later extract once the patient is discharged"
            )
        discharged = max(field_date({"DISDATE": d}, "DISDATE") for d in discharges)
        if discharged < admitted:
            raise RowProblem(f"discharge date {discharged} is before admission {admitted}")
        costs = [source.cost(e[2]) for e in episodes]
        cost = None if None in costs else sum(c for c in costs if c is not None)
    except RowProblem as exc:
        yield Rejected(where, f"spell {spell.key}: {exc}", "hospital_spells")
        return
    hrg = next(
        (e[2][k] for e in episodes for k in ("SUSHRG", "HRG40") if is_present(e[2][k])), None
    )
    yield SourceRow(
        "hospital_spells",
        {
            "person_id": spell.person,
            "provider_code": spell.provider,
            "admission_date": admitted,
            "discharge_date": discharged,
            "admission_method": method,
            "length_of_stay": (discharged - admitted).days,
            "hrg_code": hrg,
            "cost": cost,
        },
        where,
        spell.key,
    )
    yield from _diagnosis_rows(source, spell, episodes)


def _diagnosis_rows(
    source: Source, spell: _Spell, episodes: list[tuple[int, int, dict[str, str]]]
) -> Iterator[ReaderItem]:
    seen: set[str] = set()
    for _, line, summary in episodes:
        for n in range(1, DIAGNOSIS_POSITIONS + 1):
            recorded = summary.get(f"DX{n:02d}")
            if recorded is None:
                continue
            code = normalise_icd10(recorded)
            if code is None:
                yield Rejected(
                    source.where(line),
                    f"DIAG_4_{n:02d}: {icd10_code_problem(recorded)}",
                    "spell_diagnoses",
                )
                continue
            if code in seen:
                continue
            seen.add(code)
            yield SourceRow(
                "spell_diagnoses",
                {
                    "spell_id": KeyRef("hospital_spells", spell.key),
                    "person_id": spell.person,
                    "position": len(seen),
                    "icd10_code": code,
                },
                source.where(line),
                f"{spell.key}#{len(seen)}",
            )
