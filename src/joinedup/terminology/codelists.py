"""Codelists: versioned CSV data with their sources.

Each codelist is one CSV in `codelists/` (columns code_system, code, description) listed in
`codelists/codelists.yaml` with its id, version, name, code systems, sizes, SHA-256 and sources
(repository, path, commit, licence), plus the concepts added by hand and why. The files are
built by `scripts/build_codelists.py` from `../shared/data/codelists_gm_sde/` and
`../shared/data/codelists_opensafely/`; never edit them by hand.

Code systems are named as in the population store's contracts: ``snomed``, ``ctv3``, ``read2``.

    >>> load_codelist("efi-falls").codes["snomed"]        # doctest: +SKIP
    >>> codelist_table(["efi-falls", "copd"])               # for joining in engine pipelines
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

CODELIST_DIR = Path(__file__).resolve().parent / "codelists"
INDEX_FILE = CODELIST_DIR / "codelists.yaml"
CODE_SYSTEMS = ("snomed", "ctv3", "read2")

CODELIST_SCHEMA = pa.schema(
    [
        pa.field("codelist_id", pa.string(), nullable=False),
        pa.field("code_system", pa.string(), nullable=False),
        pa.field("code", pa.string(), nullable=False),
    ]
)


class UnknownCodelistError(KeyError):
    """No codelist has this id."""


@dataclass(frozen=True)
class CodelistInfo:
    """One entry of the codelist index: what a list is and where it came from."""

    id: str
    version: int
    name: str
    uses: tuple[str, ...]
    file: str
    code_systems: tuple[str, ...]
    sizes: Mapping[str, int]
    sha256: str
    sources: tuple[Mapping[str, Any], ...]
    additions: tuple[Mapping[str, Any], ...]
    required_concepts: tuple[Mapping[str, Any], ...]
    note: str = ""

    @property
    def size(self) -> int:
        return sum(self.sizes.values())


@dataclass(frozen=True)
class Codelist:
    """A loaded codelist: its index entry and its codes by code system."""

    info: CodelistInfo
    codes: Mapping[str, frozenset[str]]
    descriptions: Mapping[tuple[str, str], str]

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def sources(self) -> tuple[Mapping[str, Any], ...]:
        return self.info.sources

    def __contains__(self, item: object) -> bool:
        """`("snomed", "49436004") in codelist`."""
        if not (isinstance(item, tuple) and len(item) == 2):
            return False
        system, code = item
        return code in self.codes.get(system, frozenset())

    def __len__(self) -> int:
        return sum(len(c) for c in self.codes.values())


@functools.cache
def codelist_index() -> Mapping[str, Any]:
    """The parsed `codelists.yaml` (built date, attribution and one entry per codelist)."""
    # The index is large: libyaml's safe loader reads it several times faster than PyYAML's.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # both safe: no arbitrary objects
    with INDEX_FILE.open(encoding="utf-8") as handle:
        data: Mapping[str, Any] = yaml.load(handle, Loader=loader)
    return data


@functools.cache
def _infos() -> dict[str, CodelistInfo]:
    infos = {}
    for entry in codelist_index()["codelists"]:
        infos[entry["id"]] = CodelistInfo(
            id=entry["id"],
            version=int(entry["version"]),
            name=entry["name"],
            uses=tuple(entry.get("uses", ())),
            file=entry["file"],
            code_systems=tuple(entry["code_systems"]),
            sizes=dict(entry["codes"]),
            sha256=entry["sha256"],
            sources=tuple(entry["sources"]),
            additions=tuple(entry.get("additions") or ()),
            required_concepts=tuple(entry.get("required_concepts") or ()),
            note=entry.get("note", ""),
        )
    return infos


def list_codelists(use: str | None = None) -> list[CodelistInfo]:
    """Every codelist in the index (or only those used by `use`, e.g. "efi", "ltc", "cms")."""
    return [i for i in _infos().values() if use is None or use in i.uses]


@functools.cache
def load_codelist(codelist_id: str) -> Codelist:
    """The codelist `codelist_id` with its codes by code system and its sources."""
    try:
        info = _infos()[codelist_id]
    except KeyError:
        known = ", ".join(sorted(_infos()))
        raise UnknownCodelistError(f"unknown codelist {codelist_id!r}; known: {known}") from None
    codes: dict[str, set[str]] = {}
    descriptions: dict[tuple[str, str], str] = {}
    with (CODELIST_DIR / info.file).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            codes.setdefault(row["code_system"], set()).add(row["code"])
            descriptions[(row["code_system"], row["code"])] = row["description"]
    return Codelist(
        info=info,
        codes={system: frozenset(values) for system, values in codes.items()},
        descriptions=descriptions,
    )


def codelist_table(ids: Iterable[str], systems: Iterable[str] | None = None) -> pa.Table:
    """Long table (codelist_id, code_system, code) of the named lists, for engine joins.

    `systems` restricts the code systems (e.g. ``["snomed"]``); rows are sorted and unique
    within each list.
    """
    wanted = set(systems) if systems is not None else None
    columns: dict[str, list[str]] = {"codelist_id": [], "code_system": [], "code": []}
    for codelist_id in dict.fromkeys(ids):
        codelist = load_codelist(codelist_id)
        for system in CODE_SYSTEMS:
            if wanted is not None and system not in wanted:
                continue
            for code in sorted(codelist.codes.get(system, ())):
                columns["codelist_id"].append(codelist_id)
                columns["code_system"].append(system)
                columns["code"].append(code)
    return pa.table(columns, schema=CODELIST_SCHEMA)


# --- SNOMED CT identifiers -------------------------------------------------------------------

# Verhoeff's dihedral-group tables (SNOMED CT identifiers end in a Verhoeff check digit).
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(digits: str) -> bool:
    """Whether the last digit of `digits` is its Verhoeff check digit."""
    check = 0
    for position, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(char)]]
    return check == 0


def snomed_code_problem(code: str) -> str | None:
    """Why `code` cannot be a SNOMED CT concept id, or None when it can.

    A concept id is 6–18 digits with no leading zero, a concept partition identifier (the
    second and third digits from the right: 00 or 10) and a valid Verhoeff check digit.
    """
    code = code.strip()
    if not code:
        return "code is empty"
    if not (code.isascii() and code.isdigit()):
        return f"code {code!r} is not a SNOMED CT concept id (digits only, e.g. 38341003)"
    if not 6 <= len(code) <= 18 or code[0] == "0":
        return f"code {code!r} is not a SNOMED CT concept id (6 to 18 digits, no leading zero)"
    if code[-3:-1] not in ("00", "10"):
        return (
            f"code {code!r} is a SNOMED CT description or relationship id, not a concept id "
            "(its partition digits are not 00 or 10)"
        )
    if not verhoeff_valid(code):
        return f"code {code!r} is not a SNOMED CT concept id (its check digit is wrong)"
    return None
