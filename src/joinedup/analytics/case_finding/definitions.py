"""The lists as declared in `case_finding_lists.yaml`: what each is for, its rule in plain
words, evidence, codelists with versions, parameters and columns; the columns every result
begins with; and the errors a list can raise."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from joinedup.analytics.case_finding.rules import PIPELINES
from joinedup.analytics.stratify import PERSON_RESULTS, StratificationRun
from joinedup.errors import UserError
from joinedup.terminology.codelists import load_codelist

LISTS_FILE = Path(__file__).resolve().parents[1] / "case_finding_lists.yaml"


AVAILABLE = "available"


#: Columns every result's rows begin with, in order (also the identifiable CSV export's);
#: a list may add its own after them (`ListDefinition.columns`).
ROW_COLUMNS = (
    "person_id",
    "nhs_number",
    "practice_code",
    "practice_name",
    "neighbourhood_code",
    "neighbourhood_name",
    "age",
    "sex",
    "evidence",
    "evidence_date",
)


#: Who a row is about (from the registered population), before the list's own columns.
PERSON_COLUMNS = ROW_COLUMNS[:8]


#: Columns of a pseudonymised row and CSV: a keyed-hash pseudonym in place of the person, no
#: NHS number or date of birth (`joinedup.governance.pseudonyms`), and a 5-year age band in
#: place of the age (`joinedup.governance.disclosure`).
PSEUDONYMISED_COLUMNS = (
    "pseudonym",
    *("age_band" if c == "age" else c for c in ROW_COLUMNS if c not in ("person_id", "nhs_number")),
)


class CaseFindingError(UserError):
    """A case-finding list cannot be run as asked."""


class UnknownListError(CaseFindingError, KeyError):
    """No case-finding list has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ListUnavailableError(CaseFindingError):
    """The list is declared but cannot be computed yet (its inputs do not exist)."""


class UnknownOrganisationError(CaseFindingError, LookupError):
    """A practice or neighbourhood filter names an organisation the area does not have."""


class OrganisationOutOfScopeError(CaseFindingError, PermissionError):
    """A practice or neighbourhood filter names an organisation outside the practices the
    list is restricted to (for identifiable lists: those the user works in)."""


@dataclass(frozen=True)
class CodelistUse:
    """A codelist a list uses, at the version its rule was written against."""

    id: str
    version: int
    role: str
    name: str
    size: int


@dataclass(frozen=True)
class Citation:
    citation: str
    url: str | None = None


@dataclass(frozen=True)
class ListColumn:
    """A column a list adds after the evidence (its CSV column, and on the page when `page`).

    Declared in the YAML, so it is also the allow-list of what a pseudonymised row may carry
    beyond PSEUDONYMISED_COLUMNS."""

    name: str
    label: str
    page: bool = True
    suffix: str = ""  # shown after the value on the page ("%")


@dataclass(frozen=True)
class ListDefinition:
    """One case-finding list as declared in `case_finding_lists.yaml`."""

    id: str
    title: str
    audience: str
    rule: str
    numerator: str
    exclusions: tuple[str, ...]
    window: str
    evidence_shown: str
    evidence: tuple[Citation, ...]
    codelists: tuple[CodelistUse, ...]
    parameters: Mapping[str, Any]
    status: str = AVAILABLE
    unavailable_reason: str = ""
    notes: str = ""
    denominator: str = ""
    source: str = ""
    columns: tuple[ListColumn, ...] = ()
    run_columns: tuple[str, ...] = ()  # a stratification run's columns the list needs
    order_by: tuple[str, ...] = ("practice_name", "person_id")

    @property
    def available(self) -> bool:
        """Declared as computable (a list reading a run also needs one: `unavailable_reason`)."""
        return self.status == AVAILABLE


@functools.cache
def _definitions() -> dict[str, ListDefinition]:
    with LISTS_FILE.open(encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)["lists"]
    found: dict[str, ListDefinition] = {}
    for entry in entries:
        uses = []
        for use in entry.get("codelists") or ():
            codelist = load_codelist(use["id"])
            if codelist.version != int(use["version"]):
                raise CaseFindingError(
                    f"case-finding list {entry['id']!r} was written for codelist {use['id']!r} "
                    f"version {use['version']}, but the index holds version {codelist.version}: "
                    "review the rule, then update the version in case_finding_lists.yaml"
                )
            uses.append(
                CodelistUse(use["id"], codelist.version, use["role"], codelist.name, len(codelist))
            )
        definition = ListDefinition(
            id=entry["id"],
            title=entry["title"],
            audience=entry["audience"],
            rule=entry["rule"],
            numerator=entry["numerator"],
            exclusions=tuple(entry.get("exclusions") or ()),
            window=entry["window"],
            evidence_shown=entry["evidence_shown"],
            evidence=tuple(Citation(e["citation"], e.get("url")) for e in entry["evidence"]),
            codelists=tuple(uses),
            parameters=dict(entry.get("parameters") or {}),
            status=entry.get("status", AVAILABLE),
            unavailable_reason=entry.get("unavailable_reason", ""),
            notes=entry.get("notes", ""),
            denominator=entry.get("denominator", ""),
            source=entry.get("source", ""),
            columns=tuple(ListColumn(**c) for c in entry.get("columns") or ()),
            run_columns=tuple(entry.get("run_columns") or ()),
            order_by=tuple(entry.get("order_by") or ListDefinition.order_by),
        )
        clash = {c.name for c in definition.columns} & {*ROW_COLUMNS, "pseudonym"}
        if clash:
            raise CaseFindingError(
                f"case-finding list {definition.id!r} declares columns it may not add: "
                + ", ".join(sorted(clash))
            )
        if definition.available and definition.id not in PIPELINES:
            raise CaseFindingError(f"case-finding list {definition.id!r} has no pipeline")
        found[definition.id] = definition
    return found


def list_definitions() -> list[ListDefinition]:
    """Every declared case-finding list, available or not, in the file's order."""
    return list(_definitions().values())


def unavailable_reason(definition: ListDefinition, run: StratificationRun | None) -> str:
    """Why the list cannot be run now, given the latest stratification run ("" when it can)."""
    if not definition.available:
        return definition.unavailable_reason or definition.status
    if not definition.run_columns:
        return ""
    if run is None:
        return (
            "This list ranks people by the emergency-admission risk model's scores in a "
            "stratification run, and there is no run yet: run `joinedup model train` then "
            "`joinedup stratify`."
        )
    held = pq.read_schema(run.path / PERSON_RESULTS).names
    missing = [c for c in definition.run_columns if c not in held]
    if missing:
        return (
            f"The latest stratification run ({run.run_id}) has no {', '.join(missing)} column: "
            "it was made with no risk model trained. Run `joinedup model train` then "
            "`joinedup stratify`."
        )
    return ""


def get_definition(list_id: str) -> ListDefinition:
    """The list `list_id`; UnknownListError (a UserError) names the lists there are."""
    try:
        return _definitions()[list_id]
    except KeyError:
        known = ", ".join(_definitions())
        raise UnknownListError(
            f"there is no case-finding list {list_id!r}; known: {known}"
        ) from None
