"""The delivery-plan tracker: how far each area has got in delivering the specification.

Areas record, per element of the specification (`joinedup.commissioning.specification`) and
per quarter, the planned and actual % of their population covered, with notes. Every
submission is a new version (nothing is overwritten; the highest version stands) written in a
`unit_of_work` with its audit event.

Where joinedup holds the data the actual % is **measured, not typed** (`MEASURE_RULES`): the
coordinated-care elements from `joinedup.care.measures.coordinated_care_measures` and
continuity (A7) from `joinedup.analytics.continuity.practice_continuity`. Measured actuals
exist for areas that are neighbourhoods of the organisations table; for such an area the
tracker refuses a typed actual for a measured element.

Rules (shown on the pages, `RAG_RULE` and `FLAG_RULE`):

* RAG for an area, element and quarter — *not reported* without an actual; *red* when a
  milestone that has fallen due by the quarter is missed, or the actual is below the plan for
  the quarter by the specification's ``amber_within_points`` or more; *amber* when below the
  plan by less; *green* when at or above the plan (or, with no plan, at or above every
  milestone due); *no plan* when there is nothing to judge it against.
* Late plan flag — for each milestone, the first quarter whose planned % reaches it; flagged
  when that is later than the milestone's quarter, or the plan never reaches it.
* Aggregate across areas — the population-weighted mean of the areas' percentages, over the
  areas that reported (their share of the population is shown beside it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.carestore.models import Organisation
from joinedup.carestore.uow import unit_of_work
from joinedup.commissioning.models import DeliveryArea, DeliverySubmission
from joinedup.commissioning.specification import (
    Element,
    Milestone,
    Quarter,
    QuarterError,
    Specification,
)
from joinedup.errors import UserError
from joinedup.governance.suppression import suppress_count, suppressed_share
from joinedup.population.store import METADATA_FILE

PURPOSE = "commissioning: delivery of the primary care specification"
CSV_COLUMNS = ("area_code", "element_id", "quarter", "planned_percent", "actual_percent", "notes")
EXPORT_COLUMNS = (*CSV_COLUMNS, "version", "source", "submitted_at", "submitted_by")
FIRST_DATA_LINE = 2  # line 1 of a CSV file is its header
MAX_NOTES = 2000

RagStatus = Literal["green", "amber", "red", "not_reported", "no_plan"]
RAG_LABELS: dict[str, str] = {
    "green": "Green",
    "amber": "Amber",
    "red": "Red",
    "not_reported": "Not reported",
    "no_plan": "No plan",
}
RAG_RULE = (
    "Green: the actual % is at or above the plan for the quarter (or, with no plan, at or "
    "above every milestone due). Amber: below the plan by less than {amber:g} percentage "
    "points. Red: below the plan by {amber:g} points or more, or a milestone due by the "
    "quarter is missed. Not reported: no actual %. No plan: nothing to judge the actual by."
)
FLAG_RULE = (
    "A plan is flagged late when the first quarter its planned % reaches a milestone comes "
    "after the milestone's quarter, or when it never reaches the milestone."
)
AGGREGATE_RULE = (
    "Across areas: the mean of the areas' percentages weighted by their registered "
    "population, over the areas that reported."
)


class SubmissionError(UserError, ValueError):
    """A submission cannot be recorded; `reasons` says every problem found."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


# --- Areas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A delivery area: a neighbourhood of the organisations table, or one the specification
    names. `population` weights it in aggregates (0: not weighted)."""

    code: str
    name: str
    population: int
    org_code: str | None = None

    @property
    def measurable(self) -> bool:
        """Whether joinedup measures this area's coordinated-care and continuity elements."""
        return self.org_code is not None


def delivery_areas(
    sessions: sessionmaker[Session],
    spec: Specification,
    populations: Mapping[str, int] | None = None,
) -> list[Area]:
    """The areas the tracker shows: the specification's own areas if it names any, else the
    area's active neighbourhoods (organisations table) with `populations` by neighbourhood
    code; then any other area submissions were recorded for, so no submission is hidden."""
    populations = populations or {}
    if spec.areas:
        areas = [Area(a.code, a.name, a.population) for a in spec.areas]
    else:
        with sessions() as session:
            rows = session.execute(
                select(Organisation.org_code, Organisation.name)
                .where(Organisation.org_type == "neighbourhood", Organisation.active)
                .order_by(Organisation.name)
            ).all()
        areas = [Area(code, name, populations.get(code, 0), org_code=code) for code, name in rows]
    known = {a.code for a in areas}
    with sessions() as session:
        recorded = session.scalars(select(DeliveryArea).order_by(DeliveryArea.name)).all()
    areas += [
        Area(r.code, r.name, r.population, r.org_code) for r in recorded if r.code not in known
    ]
    return areas


def neighbourhood_populations(store: Any) -> dict[str, int]:
    """Registered people per neighbourhood at the population store's extract date (all
    people: these weight percentages and are never shown unsuppressed). Empty if no store."""
    from joinedup.population.overview import population_overview
    from joinedup.population.store import StoreError

    key = ("populations", _store_version(store))
    if key not in _STORE_CACHE:
        try:
            overview = population_overview(store)
        except StoreError:
            return {}
        _remember(key, {row.key: row.count or 0 for row in overview.by_neighbourhood})
    return dict(_STORE_CACHE[key])


# Figures read from the population store, kept while the store is unchanged (its area.json is
# rewritten with every whole-store write): pages would otherwise re-read it on every request.
_STORE_CACHE: dict[tuple[Any, ...], Any] = {}
_STORE_CACHE_SIZE = 16


def _store_version(store: Any) -> tuple[str, int]:
    metadata = Path(store.root) / METADATA_FILE
    return str(store.root), metadata.stat().st_mtime_ns if metadata.is_file() else 0


def _remember(key: tuple[Any, ...], value: Any) -> None:
    if len(_STORE_CACHE) >= _STORE_CACHE_SIZE:
        _STORE_CACHE.pop(next(iter(_STORE_CACHE)))
    _STORE_CACHE[key] = value


# --- Recording submissions -----------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionInput:
    area_code: str
    element_id: str
    quarter: Quarter
    planned_percent: float | None
    actual_percent: float | None
    notes: str = ""


def check_submission(
    spec: Specification, areas: Sequence[Area], raw: Mapping[str, Any]
) -> SubmissionInput:
    """A submission from text fields (a form or a CSV line), or `SubmissionError` naming every
    problem: a known area and element, a quarter of the specification like 2026-27 Q3,
    percentages from 0 to 100 (at least one of them), and no typed actual where joinedup
    measures it."""
    reasons: list[str] = []
    by_code = {a.code: a for a in areas}
    area_code = _text(raw.get("area_code"))
    area = by_code.get(area_code)
    if area is None:
        reasons.append(f"area {area_code!r} is not a delivery area" if area_code else "no area")
    element_id = _text(raw.get("element_id")).upper()
    element: Element | None = None
    try:
        element = spec.element(element_id)
    except KeyError:
        reasons.append(
            f"element {element_id!r} is not in the specification" if element_id else "no element"
        )
    quarter: Quarter | None = None
    try:
        quarter = Quarter.parse(_text(raw.get("quarter")))
        if not spec.first_quarter <= quarter <= spec.last_quarter:
            reasons.append(
                f"quarter {quarter} is outside the specification's quarters "
                f"({spec.first_quarter} to {spec.last_quarter})"
            )
    except QuarterError as exc:
        reasons.append(str(exc))
    planned = _percent("planned", raw.get("planned_percent"), reasons)
    actual = _percent("actual", raw.get("actual_percent"), reasons)
    if planned is None and actual is None and not any("%" in r for r in reasons):
        reasons.append("give a planned %, an actual % or both")
    if actual is not None and element and element.measured and area and area.measurable:
        reasons.append(
            f"{element.id}'s actual % is measured by joinedup for {area.name}: give the planned "
            "% only"
        )
    notes = _text(raw.get("notes"))
    if len(notes) > MAX_NOTES:
        reasons.append(f"notes are longer than {MAX_NOTES} characters")
    if reasons:
        raise SubmissionError(reasons)
    assert quarter is not None
    return SubmissionInput(area_code, element_id, quarter, planned, actual, notes)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _percent(what: str, value: Any, reasons: list[str]) -> float | None:
    text = _text(value).removesuffix("%").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        reasons.append(f"{what} % {text!r} is not a number")
        return None
    if not math.isfinite(number) or not 0 <= number <= 100:
        reasons.append(f"{what} % {text} is not between 0 and 100")
        return None
    return round(number, 1)


def record_quarter(
    sessions: sessionmaker[Session],
    actor: str,
    actor_role: str,
    spec: Specification,
    areas: Sequence[Area],
    raw: Mapping[str, Any],
    *,
    source: str = "form",
) -> int:
    """Record one area's planned and actual % for an element in a quarter; the version made.
    One unit of work, audited; `SubmissionError` (nothing written) if the fields are wrong."""
    submission = check_submission(spec, areas, raw)
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="delivery.submit",
        entity_type="delivery_submission",
        entity_id=f"{submission.area_code}/{submission.element_id}/{submission.quarter}",
        purpose=PURPOSE,
    ) as uow:
        version = _add(uow.session, spec, areas, submission, actor, source, uow.now)
        uow.audit.detail.update({"version": version, "source": source})
    return version


def _add(
    session: Session,
    spec: Specification,
    areas: Sequence[Area],
    submission: SubmissionInput,
    actor: str,
    source: str,
    now: dt.datetime,
) -> int:
    """Insert the submission as the next version of its area, element and quarter."""
    area = next(a for a in areas if a.code == submission.area_code)
    if session.get(DeliveryArea, area.code) is None:
        session.add(
            DeliveryArea(
                code=area.code,
                name=area.name,
                population=area.population,
                org_code=area.org_code,
                created_at=now,
            )
        )
        session.flush()
    previous = session.scalars(
        select(DeliverySubmission)
        .where(
            DeliverySubmission.area_code == submission.area_code,
            DeliverySubmission.element_id == submission.element_id,
            DeliverySubmission.quarter == str(submission.quarter),
        )
        .order_by(DeliverySubmission.version.desc())
        .limit(1)
    ).first()
    version = (previous.version if previous else 0) + 1
    actual = submission.actual_percent
    if actual is None and previous is not None and previous.source == "measured":
        actual = previous.actual_percent  # a new plan keeps the quarter's measured actual
    session.add(
        DeliverySubmission(
            specification_id=spec.id,
            area_code=submission.area_code,
            element_id=submission.element_id,
            quarter=str(submission.quarter),
            version=version,
            planned_percent=submission.planned_percent,
            actual_percent=actual,
            notes=submission.notes,
            source=source,
            submitted_at=now,
            submitted_by=actor,
        )
    )
    session.flush()
    return version


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    recorded: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    committed: bool = True


def read_csv(text: str) -> list[dict[str, str]]:
    """The data rows of a submissions CSV (header naming `CSV_COLUMNS`), or `SubmissionError`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header and c != "notes"]
    if missing:
        raise SubmissionError(
            [f"the header line must name {', '.join(CSV_COLUMNS)} (missing: {', '.join(missing)})"]
        )
    reader.fieldnames = header
    return [{k: v for k, v in row.items() if k is not None} for row in reader]


def import_submissions(
    sessions: sessionmaker[Session],
    actor: str,
    actor_role: str,
    spec: Specification,
    areas: Sequence[Area],
    rows: Iterable[Mapping[str, Any]],
    *,
    strict: bool = False,
) -> ImportReport:
    """Record the rows of a submissions CSV (line 2 onwards) in one transaction with one audit
    event; every line that cannot be used is reported with its reason. With `strict`, nothing
    is recorded when any line is rejected."""
    report = ImportReport()
    good: list[SubmissionInput] = []
    for line, row in enumerate(rows, start=FIRST_DATA_LINE):
        report.rows += 1
        try:
            good.append(check_submission(spec, areas, row))
        except SubmissionError as exc:
            report.rejected.append(Rejection(line, "; ".join(exc.reasons)))
    if (strict and report.rejected) or not good:
        report.committed = not (strict and report.rejected)
        return report
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="delivery.import",
        entity_type="delivery_submission",
        purpose=PURPOSE,
    ) as uow:
        for submission in good:
            _add(uow.session, spec, areas, submission, actor, "csv", uow.now)
        report.recorded = len(good)
        uow.audit.detail.update({"recorded": len(good), "rejected": len(report.rejected)})
    return report


# --- Reading submissions -------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionRecord:
    area_code: str
    element_id: str
    quarter: Quarter
    version: int
    planned_percent: float | None
    actual_percent: float | None
    notes: str
    source: str
    submitted_at: dt.datetime
    submitted_by: str

    def csv_row(self) -> dict[str, Any]:
        return {
            "area_code": self.area_code,
            "element_id": self.element_id,
            "quarter": str(self.quarter),
            "planned_percent": blank_percent(self.planned_percent),
            "actual_percent": blank_percent(self.actual_percent),
            "notes": self.notes,
            "version": self.version,
            "source": self.source,
            "submitted_at": self.submitted_at.isoformat(timespec="seconds"),
            "submitted_by": self.submitted_by,
        }


def blank_percent(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def submissions(
    sessions: sessionmaker[Session],
    *,
    latest_only: bool = True,
    area_code: str | None = None,
    element_id: str | None = None,
) -> list[SubmissionRecord]:
    """Submissions in area, element, quarter, version order: only the version that stands
    for each area, element and quarter, or (``latest_only=False``) every version."""
    query = select(DeliverySubmission)
    if area_code is not None:
        query = query.where(DeliverySubmission.area_code == area_code)
    if element_id is not None:
        query = query.where(DeliverySubmission.element_id == element_id)
    with sessions() as session:
        rows = session.scalars(query).all()
        records = [
            SubmissionRecord(
                r.area_code,
                r.element_id,
                Quarter.parse(r.quarter),
                r.version,
                r.planned_percent,
                r.actual_percent,
                r.notes,
                r.source,
                r.submitted_at,
                r.submitted_by,
            )
            for r in rows
        ]
    records.sort(key=lambda r: (r.area_code, r.element_id, r.quarter, r.version))
    if latest_only:
        standing = {(r.area_code, r.element_id, r.quarter): r for r in records}
        records = list(standing.values())
    return records


def export_csv(records: Iterable[SubmissionRecord]) -> str:
    """Submissions as CSV text (`EXPORT_COLUMNS`), which `import_submissions` reads back."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record.csv_row())
    return buffer.getvalue()


# --- Measured actuals ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """A measured actual % for one area, element and date, with the rule that made it.
    Counts are suppressed; the % is worked out from the suppressed counts."""

    percent: float | None
    numerator: int | None
    denominator: int | None
    rule: str  # numerator / denominator in words
    source: str
    as_of: dt.date

    @property
    def text(self) -> str:
        counts = f"{_count_text(self.numerator)} / {_count_text(self.denominator)}"
        return f"{counts} {self.rule} ({self.source}, as of {self.as_of:%-d %B %Y})"


def _count_text(count: int | None) -> str:
    return "withheld" if count is None else f"{count:,}"


class MeasuresProvider(Protocol):
    """Where measured actuals come from (the real one: `StoreMeasures`; tests pass fakes).
    Each method returns None when the data or the service behind it is not available."""

    def coordinated_care(self, as_of: dt.date) -> Sequence[Any] | None:
        """`CoordinatedCareMeasures`, one per neighbourhood."""

    def continuity(self, as_of: dt.date) -> Sequence[Any] | None:
        """`PracticeContinuity`, one per practice (unsuppressed)."""

    def practice_neighbourhoods(self) -> Mapping[str, str]:
        """Practice code → neighbourhood code."""


@dataclass(frozen=True)
class MeasureRule:
    rule: str
    source: str


MEASURE_RULES: dict[str, MeasureRule] = {
    "coordinated_care.on_register": MeasureRule(
        "people in the top 5% emergency-admission risk cohort on the coordinated care register",
        "care store register and latest risk run",
    ),
    "coordinated_care.named_professional": MeasureRule(
        "people in the top 5% risk cohort with a current named professional",
        "care store named professionals and latest risk run",
    ),
    "coordinated_care.agreed_plan": MeasureRule(
        "people in the top 5% risk cohort with a care plan they agreed",
        "care store care plans and latest risk run",
    ),
    "coordinated_care.mdt_cadence": MeasureRule(
        "neighbourhoods (weighted by population) whose MDT met at least {min_meetings_90_days} "
        "times in the 90 days",
        "care store MDT meetings",
    ),
    "continuity.practice_upc": MeasureRule(
        "patients with 3+ GP consultations in the year at practices whose mean usual-provider-"
        "of-care index (UPC) is at least {min_upc}",
        "population store GP appointments",
    ),
}
DEFAULT_PARAMETERS: dict[str, Any] = {"min_upc": 0.5, "min_meetings_90_days": 3}
_COHORT_NUMERATORS = {
    "coordinated_care.on_register": "cohort_on_register",
    "coordinated_care.named_professional": "cohort_with_named_professional",
    "coordinated_care.agreed_plan": "cohort_with_agreed_plan",
}


def measure(
    element: Element, area: Area, provider: MeasuresProvider, as_of: dt.date
) -> Measurement | None:
    """The measured actual % of `element` in `area` as of `as_of`, or None when the element is
    typed, the area is not one joinedup measures, or the data are not available."""
    if element.measure is None or not area.measurable:
        return None
    definition = MEASURE_RULES[element.measure]
    rule = definition.rule.format(
        **{"min_upc": 0.5, "min_meetings_90_days": 3, **element.parameters}
    )
    counts = _measured_counts(element, area, provider, as_of)
    if counts is None:
        return None
    numerator, denominator = counts
    share = suppressed_share(numerator, denominator)
    return Measurement(
        percent=None if share is None else round(100 * share, 1),
        numerator=suppress_count(numerator),
        denominator=suppress_count(denominator),
        rule=rule,
        source=definition.source,
        as_of=as_of,
    )


def _measured_counts(
    element: Element, area: Area, provider: MeasuresProvider, as_of: dt.date
) -> tuple[int, int] | None:
    """(numerator, denominator) of the element's rule for the area, unsuppressed."""
    assert element.measure is not None
    if element.measure.startswith("coordinated_care."):
        measures = provider.coordinated_care(as_of)
        found = next((m for m in measures or () if m.neighbourhood_code == area.org_code), None)
        if found is None:
            return None
        if element.measure == "coordinated_care.mdt_cadence":
            # Cadence is met or not for the whole neighbourhood: all its people or none.
            needed = int({**DEFAULT_PARAMETERS, **element.parameters}["min_meetings_90_days"])
            met = found.mdt_meetings_held_90_days >= needed
            return (area.population if met else 0), area.population
        return getattr(found, _COHORT_NUMERATORS[element.measure]), found.top_risk_cohort
    practices = provider.continuity(as_of)
    if practices is None:
        return None
    minimum = float({**DEFAULT_PARAMETERS, **element.parameters}["min_upc"])
    home = provider.practice_neighbourhoods()
    mine = [p for p in practices if home.get(p.practice_code) == area.org_code and p.patients]
    numerator = sum(p.patients for p in mine if p.upc is not None and p.upc >= minimum)
    return numerator, sum(p.patients for p in mine)


class StoreMeasures:
    """Measured actuals from joinedup's own stores, each asked once per date.

    The coordinated-care measures (`joinedup.care.measures`) and continuity
    (`joinedup.analytics.continuity`) are read through their agreed interfaces; where one is
    not installed yet, its elements show as not measured rather than failing the page.
    """

    def __init__(self, sessions: sessionmaker[Session], settings: Any) -> None:
        self.sessions = sessions
        self.settings = settings
        self._care: dict[dt.date, Sequence[Any] | None] = {}
        self._continuity: dict[dt.date, Sequence[Any] | None] = {}

    def coordinated_care(self, as_of: dt.date) -> Sequence[Any] | None:
        if as_of not in self._care:
            try:
                from joinedup.care.measures import coordinated_care_measures
            except ImportError:
                self._care[as_of] = None
            else:
                self._care[as_of] = coordinated_care_measures(
                    self.sessions, self.settings, as_of=as_of
                )
        return self._care[as_of]

    def continuity(self, as_of: dt.date) -> Sequence[Any] | None:
        if as_of not in self._continuity:
            self._continuity[as_of] = self._read_continuity(as_of)
        return self._continuity[as_of]

    def _read_continuity(self, as_of: dt.date) -> Sequence[Any] | None:
        from joinedup.governance.objections import active_objectors
        from joinedup.population.store import PopulationStore, StoreError

        try:
            from joinedup.analytics.continuity import practice_continuity
        except ImportError:
            return None
        store = PopulationStore(self.settings.population_dir)
        objectors = active_objectors(self.sessions)
        key = ("continuity", _store_version(store), as_of, hash(objectors))
        if key not in _STORE_CACHE:
            try:
                _remember(key, practice_continuity(store, as_of=as_of, excluding=objectors))
            except StoreError:
                return None
        return list(_STORE_CACHE[key])

    @cached_property
    def _practices(self) -> dict[str, str]:
        with self.sessions() as session:
            rows = session.execute(
                select(Organisation.org_code, Organisation.parent_code).where(
                    Organisation.org_type == "practice"
                )
            ).all()
        return {code: parent for code, parent in rows if parent}

    def practice_neighbourhoods(self) -> Mapping[str, str]:
        return self._practices


# --- Judging: RAG, late plans, aggregates --------------------------------------------------


@dataclass(frozen=True)
class Rag:
    status: RagStatus
    reason: str

    @property
    def label(self) -> str:
        return RAG_LABELS[self.status]


def rag_status(
    planned: float | None,
    actual: float | None,
    quarter: Quarter,
    milestones: Sequence[Milestone],
    amber_within: float,
) -> Rag:
    """The RAG status of an actual % in a quarter (rule: `RAG_RULE`)."""
    if actual is None:
        return Rag("not_reported", "no actual % for the quarter")
    due = [m for m in milestones if m.by <= quarter]
    missed = [m for m in due if actual < m.percent]
    if missed:
        worst = max(missed, key=lambda m: m.percent)
        return Rag("red", f"{actual:g}% misses the {worst.percent:g}% milestone due {worst.by}")
    if planned is None:
        if due:
            return Rag("green", "meets every milestone due")
        return Rag("no_plan", "no planned % for the quarter and no milestone due")
    gap = planned - actual
    if gap <= 0:
        return Rag("green", f"{actual:g}% is at or above the plan of {planned:g}%")
    status: RagStatus = "amber" if gap < amber_within else "red"
    return Rag(status, f"{actual:g}% is {gap:g} points below the plan of {planned:g}%")


@dataclass(frozen=True)
class MilestoneFlag:
    milestone: Milestone
    reached: Quarter | None  # the first quarter the plan reaches the milestone
    late: bool

    @property
    def text(self) -> str:
        m = self.milestone
        if self.reached is None:
            return f"the plan never reaches {m.percent:g}% (due {m.by})"
        when = "later than" if self.late else "by"
        return f"the plan reaches {m.percent:g}% in {self.reached}, {when} {m.by}"


def milestone_flags(
    planned: Mapping[Quarter, float | None], milestones: Sequence[Milestone]
) -> list[MilestoneFlag]:
    """For each milestone, when the plan reaches it and whether that is late (`FLAG_RULE`);
    empty when there is no plan at all."""
    plan = sorted((q, p) for q, p in planned.items() if p is not None)
    if not plan:
        return []
    flags = []
    for milestone in milestones:
        reached = next((q for q, p in plan if p >= milestone.percent), None)
        flags.append(
            MilestoneFlag(milestone, reached, late=reached is None or reached > milestone.by)
        )
    return flags


@dataclass(frozen=True)
class Weighted:
    """A population-weighted mean across areas, and how much of the population it covers."""

    percent: float | None
    areas_reporting: int
    population_share: float | None  # of the areas' total population, the share reporting


def weighted_mean(values: Sequence[tuple[float | None, int]]) -> Weighted:
    """Population-weighted mean of (percent, population) pairs, over those with a percent."""
    reporting = [(p, w) for p, w in values if p is not None and w > 0]
    total = sum(w for _, w in values if w > 0)
    weight = sum(w for _, w in reporting)
    if not weight:
        return Weighted(None, 0, 0.0 if total else None)
    mean = sum(p * w for p, w in reporting) / weight
    return Weighted(round(mean, 1), len(reporting), weight / total if total else None)


# --- The tracker: everything the pages show --------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One area's position on one element in one quarter."""

    quarter: Quarter
    planned: float | None
    actual: float | None
    measurement: Measurement | None
    record: SubmissionRecord | None
    rag: Rag

    @property
    def measured(self) -> bool:
        return self.measurement is not None


@dataclass(frozen=True)
class Trajectory:
    area: Area
    element: Element
    cells: list[Cell]
    flags: list[MilestoneFlag]


@dataclass(frozen=True)
class AggregateCell:
    quarter: Quarter
    planned: Weighted
    actual: Weighted
    rag: Rag


class Tracker:
    """The specification, the areas, the standing submissions and the measured actuals, as of
    a date.

    Measured actuals are measured for the current quarter only, as of `as_of`: the register,
    named professionals and agreed plans behind them are current states, not histories, so
    an earlier quarter's figure cannot be measured after the event. A closed quarter shows the
    measured figures recorded for it by `record_measured_snapshot` (source "measured")."""

    def __init__(
        self,
        spec: Specification,
        areas: Sequence[Area],
        records: Iterable[SubmissionRecord],
        provider: MeasuresProvider | None,
        as_of: dt.date,
    ) -> None:
        self.spec = spec
        self.areas = list(areas)
        self.provider = provider
        self.as_of = as_of
        self.current_quarter = Quarter.containing(as_of)
        self._standing = {(r.area_code, r.element_id, r.quarter): r for r in records}

    def area(self, code: str) -> Area:
        for area in self.areas:
            if area.code == code:
                return area
        raise KeyError(code)

    def measurement_date(self, quarter: Quarter) -> dt.date | None:
        return self.as_of if quarter == self.current_quarter else None

    def cell(self, area: Area, element: Element, quarter: Quarter) -> Cell:
        record = self._standing.get((area.code, element.id, quarter))
        planned = record.planned_percent if record else None
        actual = record.actual_percent if record else None
        measurement = None
        when = self.measurement_date(quarter)
        if self.provider is not None and when is not None:
            measurement = measure(element, area, self.provider, when)
            if measurement is not None:
                actual = measurement.percent
        rag = rag_status(
            planned, actual, quarter, self.spec.milestones, self.spec.amber_within_points
        )
        return Cell(quarter, planned, actual, measurement, record, rag)

    def trajectory(self, area: Area, element: Element) -> Trajectory:
        cells = [self.cell(area, element, q) for q in self.spec.quarters]
        flags = milestone_flags({c.quarter: c.planned for c in cells}, self.spec.milestones)
        return Trajectory(area, element, cells, flags)

    def aggregate(self, element: Element, quarter: Quarter) -> AggregateCell:
        cells = [(a, self.cell(a, element, quarter)) for a in self.areas]
        planned = weighted_mean([(c.planned, a.population) for a, c in cells])
        actual = weighted_mean([(c.actual, a.population) for a, c in cells])
        rag = rag_status(
            planned.percent,
            actual.percent,
            quarter,
            self.spec.milestones,
            self.spec.amber_within_points,
        )
        return AggregateCell(quarter, planned, actual, rag)

    def late_plans(self) -> list[tuple[Area, Element, MilestoneFlag]]:
        """Every area and element whose plan reaches a milestone late (or never)."""
        late = []
        for area in self.areas:
            for element in self.spec.elements:
                planned = {
                    q: r.planned_percent
                    for (a, e, q), r in self._standing.items()
                    if a == area.code and e == element.id
                }
                late += [
                    (area, element, flag)
                    for flag in milestone_flags(planned, self.spec.milestones)
                    if flag.late
                ]
        return late

    def rag_rule(self) -> str:
        return RAG_RULE.format(amber=self.spec.amber_within_points)


def record_measured_snapshot(
    sessions: sessionmaker[Session], actor: str, actor_role: str, tracker: Tracker
) -> int:
    """Record the current quarter's measured actuals as submissions (source "measured", the
    rule in the notes, the standing plan kept), so the quarter keeps them once it closes.
    One unit of work, audited; the number of submissions recorded."""
    quarter = tracker.current_quarter
    if not tracker.spec.first_quarter <= quarter <= tracker.spec.last_quarter:
        raise SubmissionError([f"the current quarter {quarter} is outside the specification"])
    snapshot = []
    for area in tracker.areas:
        for element in tracker.spec.elements:
            cell = tracker.cell(area, element, quarter)
            if cell.measurement is not None and cell.actual is not None:
                snapshot.append(
                    SubmissionInput(
                        area.code,
                        element.id,
                        quarter,
                        cell.planned,
                        cell.actual,
                        cell.measurement.text,
                    )
                )
    if not snapshot:
        return 0
    with unit_of_work(
        sessions,
        actor=actor,
        actor_role=actor_role,
        action="delivery.snapshot",
        entity_type="delivery_submission",
        entity_id=str(quarter),
        purpose=PURPOSE,
        detail={"recorded": len(snapshot)},
    ) as uow:
        for submission in snapshot:
            _add(uow.session, tracker.spec, tracker.areas, submission, actor, "measured", uow.now)
    return len(snapshot)


def tracker_for(
    sessions: sessionmaker[Session],
    settings: Any,
    spec: Specification,
    *,
    as_of: dt.date,
    provider: MeasuresProvider | None = None,
) -> Tracker:
    """The tracker of the area `settings` names: its areas (weighted by the population store's
    neighbourhood populations), the standing submissions and `StoreMeasures` (or `provider`)."""
    from joinedup.population.store import PopulationStore

    populations = (
        {} if spec.areas else neighbourhood_populations(PopulationStore(settings.population_dir))
    )
    areas = delivery_areas(sessions, spec, populations)
    return Tracker(
        spec,
        areas,
        submissions(sessions),
        provider if provider is not None else StoreMeasures(sessions, settings),
        as_of,
    )
