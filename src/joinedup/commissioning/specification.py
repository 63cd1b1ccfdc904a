"""The local primary care specification as configuration: its elements, milestones and areas.

A specification is a YAML file (or, for the elements alone, a CSV file) that names the
elements an area commissions, the delivery milestones (e.g. 90% and 100% of the population
covered by a given quarter), the RAG rule's tolerance and, optionally, the delivery areas.
The default is the London Strategic Commissioning Framework's seventeen elements
(``specifications/london_scf.yaml``; source: NHS England (London region) and London CCGs,
"Transforming primary care in London: a strategic commissioning framework", 2015).

Quarters are NHS financial-year quarters written ``2026-27 Q3`` (Q1 April–June, Q2 July–
September, Q3 October–December, Q4 January–March of the following calendar year).

`load_specification` checks everything and raises `SpecificationError` naming the file, the
element and what is wrong, so a bad specification never half-loads.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from joinedup.errors import UserError

SPECIFICATIONS_DIR = Path(__file__).parent / "specifications"
DEFAULT_SPECIFICATION = SPECIFICATIONS_DIR / "london_scf.yaml"

#: The rules that measure an element from data joinedup holds (see `joinedup.commissioning.
#: delivery`, where each is implemented and described).
MEASURES = frozenset(
    {
        "coordinated_care.on_register",
        "coordinated_care.named_professional",
        "coordinated_care.agreed_plan",
        "coordinated_care.mdt_cadence",
        "continuity.high_upc",
        "access.extended_hours",
        "access.same_day",
        "keeping_well.community_assets",
        "keeping_well.outcomes_recorded",
    }
)
CSV_COLUMNS = ("id", "domain", "title", "description", "measure")
ELEMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
QUARTER = re.compile(r"^(\d{4})-(\d{2}) Q([1-4])$")
DEFAULT_MILESTONES = ((90, "2027-28 Q4"), (100, "2028-29 Q4"))
DEFAULT_AMBER_WITHIN = 10.0


class SpecificationError(UserError, ValueError):
    """The specification file cannot be used as it is; the message says where and why."""


class QuarterError(UserError, ValueError):
    """A quarter is not written like ``2026-27 Q3``."""


@dataclass(frozen=True, order=True)
class Quarter:
    """A quarter of an NHS financial year; `year` is the calendar year the year starts in."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = QUARTER.match(str(text).strip())
        if not match:
            raise QuarterError(f"quarter {text!r} is not written like 2026-27 Q3")
        start, end, number = int(match[1]), int(match[2]), int(match[3])
        if (start + 1) % 100 != end:
            raise QuarterError(f"quarter {text!r}: {start}-{end:02d} is not a financial year")
        return cls(start, number)

    @classmethod
    def containing(cls, day: dt.date) -> Quarter:
        year = day.year if day.month >= 4 else day.year - 1
        return cls(year, (day.month - 4) % 12 // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d} Q{self.number}"

    @property
    def last_day(self) -> dt.date:
        month = 3 * self.number + 3  # Q1 ends in June, Q4 in March (month 15 = next March)
        year = self.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return following - dt.timedelta(days=1)

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def until(self, last: Quarter) -> list[Quarter]:
        """This quarter and every one after it up to `last`, in order."""
        quarters, quarter = [], self
        while quarter <= last:
            quarters.append(quarter)
            quarter = quarter.next()
        return quarters


@dataclass(frozen=True)
class Milestone:
    """`percent` of the population covered by the end of `by`."""

    percent: float
    by: Quarter


@dataclass(frozen=True)
class Element:
    id: str
    domain: str
    title: str
    description: str
    #: The rule that measures the actual % where joinedup holds the data (None: typed).
    measure: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.measure is not None


@dataclass(frozen=True)
class AreaSpec:
    """A delivery area named in the specification (e.g. a CCG of a collaborative)."""

    code: str
    name: str
    population: int


@dataclass(frozen=True)
class Specification:
    id: str
    title: str
    source: str
    domains: dict[str, str]
    elements: tuple[Element, ...]
    milestones: tuple[Milestone, ...]
    first_quarter: Quarter
    last_quarter: Quarter
    amber_within_points: float = DEFAULT_AMBER_WITHIN
    areas: tuple[AreaSpec, ...] = ()

    def element(self, element_id: str) -> Element:
        for element in self.elements:
            if element.id == element_id:
                return element
        raise KeyError(element_id)

    @property
    def element_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.elements)

    @property
    def quarters(self) -> list[Quarter]:
        return self.first_quarter.until(self.last_quarter)

    def by_domain(self) -> list[tuple[str, list[Element]]]:
        return [
            (title, [e for e in self.elements if e.domain == key])
            for key, title in self.domains.items()
        ]


def load_specification(path: Path | None = None) -> Specification:
    """The specification in `path` (YAML, or CSV of elements), else the London SCF default."""
    path = path or DEFAULT_SPECIFICATION
    if not path.is_file():
        raise SpecificationError(f"specification file {path} does not exist")
    if path.suffix.lower() == ".csv":
        return _from_document(_csv_document(path), path.name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecificationError(f"{path.name} is not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise SpecificationError(f"{path.name} is not UTF-8 text") from None
    return _from_document(document, path.name)


def _csv_document(path: Path) -> dict[str, Any]:
    """A CSV of elements (id, domain, title, description, measure) as a YAML-shaped document;
    milestones and quarters take their defaults."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in CSV_COLUMNS[:4] if c not in header]
            if missing:
                raise SpecificationError(
                    f"{path.name} needs the columns {', '.join(CSV_COLUMNS)} (missing: "
                    f"{', '.join(missing)})"
                )
            reader.fieldnames = header
            rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    except UnicodeDecodeError:
        raise SpecificationError(f"{path.name} is not UTF-8 text") from None
    domains = {row["domain"]: row["domain"].replace("_", " ").capitalize() for row in rows}
    for row in rows:
        row["measure"] = row.get("measure") or None
    return {
        "id": path.stem,
        "title": path.stem.replace("_", " "),
        "source": path.name,
        "domains": domains,
        "elements": rows,
    }


def _from_document(document: Any, name: str) -> Specification:
    if not isinstance(document, dict):
        raise SpecificationError(f"{name}: expected a mapping with id, title and elements")
    problems: list[str] = []
    domains = document.get("domains") or {}
    if not isinstance(domains, dict) or not domains:
        problems.append("domains: give a mapping of domain key to title")
        domains = {}
    elements = _elements(document.get("elements"), {str(k) for k in domains}, problems)
    milestones = _milestones(document.get("milestones"), problems)
    first, last = _quarter_range(document.get("quarters"), milestones, problems)
    amber = _amber(document.get("rag"), problems)
    areas = _areas(document.get("areas"), problems)
    for key in ("id", "title"):
        if not str(document.get(key) or "").strip():
            problems.append(f"{key}: missing")
    if problems:
        raise SpecificationError(
            f"{name} is not a valid specification:\n  " + "\n  ".join(problems)
        )
    return Specification(
        id=str(document["id"]),
        title=str(document["title"]),
        source=str(document.get("source") or ""),
        domains={str(k): str(v) for k, v in domains.items()},
        elements=tuple(elements),
        milestones=tuple(milestones),
        first_quarter=first,
        last_quarter=last,
        amber_within_points=amber,
        areas=tuple(areas),
    )


def _elements(raw: Any, domains: set[str], problems: list[str]) -> list[Element]:
    if not isinstance(raw, list) or not raw:
        problems.append("elements: give a list of elements")
        return []
    elements, seen = [], set()
    for index, item in enumerate(raw, start=1):
        where = f"element {index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        element_id = str(item.get("id") or "").strip()
        where = f"element {element_id or index}"
        if not ELEMENT_ID.match(element_id):
            problems.append(f"{where}: id must be a capital letter then up to 7 letters/digits")
        elif element_id in seen:
            problems.append(f"{where}: id given twice")
        seen.add(element_id)
        domain = str(item.get("domain") or "")
        if domain not in domains:
            problems.append(f"{where}: domain {domain!r} is not one of {sorted(domains)}")
        for key in ("title", "description"):
            if not str(item.get(key) or "").strip():
                problems.append(f"{where}: {key} missing")
        measure = item.get("measure") or None
        if measure is not None and measure not in MEASURES:
            problems.append(f"{where}: measure {measure!r} is not one of {sorted(MEASURES)}")
        parameters = item.get("parameters") or {}
        if not isinstance(parameters, dict):
            problems.append(f"{where}: parameters must be a mapping")
            parameters = {}
        elements.append(
            Element(
                id=element_id,
                domain=domain,
                title=str(item.get("title") or "").strip(),
                description=" ".join(str(item.get("description") or "").split()),
                measure=measure,
                parameters=dict(parameters),
            )
        )
    return elements


def _milestones(raw: Any, problems: list[str]) -> list[Milestone]:
    if raw is None:
        return [Milestone(float(p), Quarter.parse(q)) for p, q in DEFAULT_MILESTONES]
    if not isinstance(raw, list) or not raw:
        problems.append("milestones: give a list of {percent, by}")
        return []
    milestones = []
    for item in raw:
        try:
            percent = float(item["percent"])
            if not 0 < percent <= 100:
                raise ValueError
            milestones.append(Milestone(percent, Quarter.parse(item["by"])))
        except QuarterError as exc:
            problems.append(f"milestones: {exc}")
        except (KeyError, TypeError, ValueError):
            problems.append(f"milestones: {item!r} needs percent (1–100) and by (a quarter)")
    milestones.sort(key=lambda m: m.percent)
    if any(a.by > b.by for a, b in itertools.pairwise(milestones)):
        problems.append("milestones: a higher percentage cannot fall due before a lower one")
    return milestones


def _quarter_range(
    raw: Any, milestones: list[Milestone], problems: list[str]
) -> tuple[Quarter, Quarter]:
    last_due = max((m.by for m in milestones), default=Quarter(2028, 4))
    first, last = Quarter(last_due.year - 3, 1), last_due
    if raw is None:
        return first, last
    try:
        first, last = Quarter.parse(raw["first"]), Quarter.parse(raw["last"])
    except QuarterError as exc:
        problems.append(f"quarters: {exc}")
    except (KeyError, TypeError):
        problems.append("quarters: give first and last, e.g. {first: 2025-26 Q1, last: 2028-29 Q4}")
    if first > last:
        problems.append("quarters: first comes after last")
    return first, last


def _amber(raw: Any, problems: list[str]) -> float:
    if raw is None:
        return DEFAULT_AMBER_WITHIN
    try:
        value = float(raw["amber_within_points"])
        if not 0 <= value <= 100:
            raise ValueError
        return value
    except (KeyError, TypeError, ValueError):
        problems.append("rag: amber_within_points must be a number of percentage points, 0–100")
        return DEFAULT_AMBER_WITHIN


def _areas(raw: Any, problems: list[str]) -> list[AreaSpec]:
    if not raw:
        return []
    if not isinstance(raw, list):
        problems.append("areas: give a list of {code, name, population}")
        return []
    areas = []
    for item in raw:
        try:
            code, population = str(item["code"]).strip(), int(item["population"])
            if not code or len(code) > 12 or population <= 0:
                raise ValueError
            areas.append(AreaSpec(code, str(item.get("name") or code), population))
        except (KeyError, TypeError, ValueError):
            problems.append(f"areas: {item!r} needs a code (≤12 characters) and a population > 0")
    if len({a.code for a in areas}) != len(areas):
        problems.append("areas: a code is given twice")
    return areas
