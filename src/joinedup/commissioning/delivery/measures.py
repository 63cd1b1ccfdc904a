"""Measured actuals: where joinedup holds the data, the actual % is measured, not typed
(`MEASURE_RULES`), from the coordinated-care measures, continuity, the hub rota, same-day
booking of GP appointments and keeping well (care navigation and social prescribing), counts
suppressed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.continuity import HIGH_UPC
from joinedup.carestore.models import Organisation
from joinedup.commissioning.delivery.areas import Area
from joinedup.commissioning.delivery.store_cache import STORE_CACHE, remember, store_version
from joinedup.commissioning.specification import Element
from joinedup.governance.suppression import suppress_count, suppressed_share


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

    def extended_access(self, as_of: dt.date) -> Sequence[Any] | None:
        """`access.compliance.PcnWeek`, one per network with a hub, for the week of `as_of`
        (None: no hub has a rota)."""

    def keeping_well(self, as_of: dt.date) -> Sequence[Any] | None:
        """`PracticeKeepingWell`, one per practice with navigation or social prescribing."""

    def same_day(self, as_of: dt.date) -> Sequence[Any] | None:
        """`access.same_day.PracticeSameDay`, one per practice with appointments whose booking
        date is recorded in the window ending `as_of` (None: no store or no booking dates)."""


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
    "access.extended_hours": MeasureRule(
        "registered patients of neighbourhoods whose hubs, in the week, offered at least "
        "{min_minutes_per_1000} minutes per 1,000 patients and covered 8am to 8pm on all "
        "seven days",
        "care store hub rota",
    ),
    "access.same_day": MeasureRule(
        "GP appointments of the neighbourhood's practices (at the practice or a hub) in the "
        "90 days that were booked the day they took place, of those whose "
        "booking date is recorded",
        "population store GP appointments (booking date)",
    ),
    "continuity.high_upc": MeasureRule(
        "patients with 3 or more GP consultations in the 365 days who saw one GP for at least "
        "{high_upc_percent} of them (usual provider of care index, UPC, {high_upc} or more)",
        "population store GP appointments",
    ),
    "keeping_well.community_assets": MeasureRule(
        "callers signposted at first contact and link-worker onward referrals, for the "
        "neighbourhood's practices in the 90 days, that went to a community service in the "
        "directory (not one of the practice's own services)",
        "care store care navigation and social prescribing",
    ),
    "keeping_well.outcomes_recorded": MeasureRule(
        "people discharged from social prescribing in the 365 days, from the neighbourhood's "
        "practices, whose wellbeing was measured at the start and again at review or end",
        "care store social prescribing",
    ),
}


DEFAULT_PARAMETERS: dict[str, Any] = {
    "high_upc": HIGH_UPC,
    "high_upc_percent": f"{HIGH_UPC:.0%}",
    "min_meetings_90_days": 3,
    "min_minutes_per_1000": 60,
}


#: Keeping-well rule → (numerator, denominator) fields of `PracticeKeepingWell`.
_KEEPING_WELL_COUNTS = {
    "keeping_well.community_assets": ("to_directory", "navigations"),
    "keeping_well.outcomes_recorded": ("discharged_with_outcomes", "discharged"),
}

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
    rule = definition.rule.format(**{**DEFAULT_PARAMETERS, **element.parameters})
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
    if element.measure == "access.extended_hours":
        return _extended_hours(element, area, provider, as_of)
    if element.measure.startswith("keeping_well."):
        return _keeping_well_counts(element.measure, area, provider, as_of)
    if element.measure == "access.same_day":
        return _same_day_counts(area, provider, as_of)
    return _high_continuity(area, provider, as_of)


def _high_continuity(
    area: Area, provider: MeasuresProvider, as_of: dt.date
) -> tuple[int, int] | None:
    """A7: of the patients of the area's practices with enough GP consultations to measure
    (3 or more in the 365 days), those with high continuity (UPC ≥ `HIGH_UPC`): a count of
    people, person by person (`joinedup.analytics.continuity`, where the cut-point is cited)."""
    practices = provider.continuity(as_of)
    if practices is None:
        return None
    home = provider.practice_neighbourhoods()
    mine = [p for p in practices if home.get(p.practice_code) == area.org_code]
    return (
        sum(p.patients_high_upc or 0 for p in mine),
        sum(p.patients or 0 for p in mine),
    )


def _extended_hours(
    element: Element, area: Area, provider: MeasuresProvider, as_of: dt.date
) -> tuple[int, int] | None:
    """A4: the neighbourhood's people count when its hubs met the DES minutes and covered
    8–8 on all seven days that week (the whole neighbourhood or none of it, as for C5)."""
    weeks = provider.extended_access(as_of)
    if weeks is None:
        return None
    minimum = float({**DEFAULT_PARAMETERS, **element.parameters}["min_minutes_per_1000"])
    found = next((w for w in weeks if w.pcn_code == area.org_code), None)
    met = (
        found is not None
        and found.minutes_per_1000 is not None
        and found.minutes_per_1000 >= minimum
        and found.hours_covered >= found.hours_possible
    )
    return (area.population if met else 0), area.population


def _same_day_counts(
    area: Area, provider: MeasuresProvider, as_of: dt.date
) -> tuple[int, int] | None:
    """A5: appointments booked and held the same day, of those with a booking date, summed
    over the area's practices (hub appointments count with their practice's)."""
    practices = provider.same_day(as_of)
    if practices is None:
        return None
    home = provider.practice_neighbourhoods()
    mine = [p for p in practices if home.get(p.practice_code) == area.org_code]
    return sum(p.booked_same_day for p in mine), sum(p.with_booking_date for p in mine)


def _keeping_well_counts(
    rule: str, area: Area, provider: MeasuresProvider, as_of: dt.date
) -> tuple[int, int] | None:
    """The rule's counts summed over the area's practices (P2 and P4 of the London SCF)."""
    practices = provider.keeping_well(as_of)
    if practices is None:
        return None
    numerator_field, denominator_field = _KEEPING_WELL_COUNTS[rule]
    home = provider.practice_neighbourhoods()
    mine = [p for p in practices if home.get(p.practice_code) == area.org_code]
    return (
        sum(getattr(p, numerator_field) for p in mine),
        sum(getattr(p, denominator_field) for p in mine),
    )


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
        self._extended: dict[dt.date, Sequence[Any] | None] = {}
        self._keeping_well: dict[dt.date, Sequence[Any] | None] = {}
        self._same_day: dict[dt.date, Sequence[Any] | None] = {}

    def extended_access(self, as_of: dt.date) -> Sequence[Any] | None:
        if as_of not in self._extended:
            from joinedup.access.compliance import compliance_week
            from joinedup.population.store import PopulationStore, StoreError

            try:
                weeks = compliance_week(
                    self.sessions, PopulationStore(self.settings.population_dir), as_of
                )
            except StoreError:
                weeks = []
            self._extended[as_of] = weeks or None
        return self._extended[as_of]

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

    def keeping_well(self, as_of: dt.date) -> Sequence[Any] | None:
        if as_of not in self._keeping_well:
            from joinedup.directory.keeping_well import practice_keeping_well

            self._keeping_well[as_of] = practice_keeping_well(self.sessions, as_of)
        return self._keeping_well[as_of]

    def same_day(self, as_of: dt.date) -> Sequence[Any] | None:
        if as_of not in self._same_day:
            self._same_day[as_of] = self._read_same_day(as_of)
        return self._same_day[as_of]

    def _read_same_day(self, as_of: dt.date) -> Sequence[Any] | None:
        from joinedup.access.same_day import same_day_by_practice
        from joinedup.governance.objections import active_objectors
        from joinedup.population.store import PopulationStore, StoreError

        store = PopulationStore(self.settings.population_dir)
        objectors = active_objectors(self.sessions)
        key = ("same_day", store_version(store), as_of, hash(objectors))
        if key not in STORE_CACHE:
            try:
                remember(key, same_day_by_practice(store, as_of=as_of, excluding=objectors))
            except StoreError:
                return None
        return list(STORE_CACHE[key]) or None

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
        key = ("continuity", store_version(store), as_of, hash(objectors))
        if key not in STORE_CACHE:
            try:
                remember(key, practice_continuity(store, as_of=as_of, excluding=objectors))
            except StoreError:
                return None
        return list(STORE_CACHE[key])

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
