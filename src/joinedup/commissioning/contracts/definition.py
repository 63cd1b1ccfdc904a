"""An outcome-based capitated contract, as a YAML file: what it covers and how it pays.

A contract names its cohort (a rule over the person summary, written as the segmentation rules
are, or one segment of a segmentation scheme), the years it runs, the services in scope and the
tariff each is priced at, the weighted capitation that sets each member's budget, the risk share
(gain and loss bands with caps) and the outcome measures with the share of the value at risk
each carries. The format, field by field, is in the shipped example (`frailty_alliance.yaml`)
and ADR 0024. Every fault is a `ContractError` naming the file and the field to fix.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from joinedup.analytics.person_summary import CATEGORY_VALUES
from joinedup.analytics.segmentation import (
    Scheme,
    SegmentationError,
    builtin_scheme,
    parse_scheme,
)
from joinedup.errors import UserError

CONTRACTS_DIR = Path(__file__).resolve().parent
RECORDED_COST = "recorded_cost"
COHORT = "cohort"

# Each service the population store holds activity for: its label, what one unit is, and
# whether a bed-day price may be added to the unit price.
SERVICES: dict[str, tuple[str, str, bool]] = {
    "emergency_admissions": ("Emergency admissions", "spell", True),
    "elective_admissions": ("Elective admissions", "spell", True),
    "ae_attendances": ("A&E attendances", "attendance", False),
    "outpatients": ("Outpatient appointments (attended)", "appointment", False),
    "community": ("Community health contacts", "contact", False),
    "social_care_contacts": ("Social care contacts", "contact", False),
    "care_packages": ("Social care packages", "package-week", False),
    "prescribing": ("Prescribing (GP issues)", "item", False),
    "gp_appointments": ("GP appointments (attended)", "appointment", False),
}
# What a contract might want that the store does not hold, said on the pages and in the docs.
NOT_AVAILABLE = (
    "ambulance (999) journeys, mental health inpatient stays, continuing healthcare and place "
    "of death are not in the population store, so they cannot be in scope"
)
# Outcome measures: the cohort's rate per 1,000 member-years of these, lower being better.
OUTCOME_MEASURES: dict[str, str] = {
    "emergency_admissions": "emergency admissions per 1,000 member-years",
    "emergency_bed_days": "emergency bed days per 1,000 member-years",
    "ae_attendances": "A&E attendances per 1,000 member-years",
}


class ContractError(UserError, ValueError):
    """A contract file that cannot be used as written."""


@dataclass(frozen=True)
class Tariff:
    service: str
    price: float | None  # £ per unit; None: the activity's recorded cost
    bed_day_price: float = 0.0  # £ per night in hospital, admissions only

    @property
    def label(self) -> str:
        return SERVICES[self.service][0]

    @property
    def unit(self) -> str:
        return SERVICES[self.service][1]

    def describe(self) -> str:
        if self.price is None:
            return "at recorded cost"
        text = f"£{self.price:,.2f} per {self.unit}"
        return text + (f" + £{self.bed_day_price:,.2f} per bed day" if self.bed_day_price else "")


@dataclass(frozen=True)
class AgeSexWeight:
    age_from: int
    age_to: int | None  # inclusive; None: and over
    female: float
    male: float

    @property
    def label(self) -> str:
        return f"{self.age_from}+" if self.age_to is None else f"{self.age_from}–{self.age_to}"

    def holds(self, age: int) -> bool:
        return age >= self.age_from and (self.age_to is None or age <= self.age_to)


# Person-summary columns a need weight may be keyed on, and the values each takes (a value not
# given a weight weighs 1). IMD deciles are written as numbers (1 most deprived).
NEED_COLUMNS: dict[str, tuple[str, ...]] = {
    "efi_category": CATEGORY_VALUES["efi_category"],
    "hfrs_category": CATEGORY_VALUES["hfrs_category"],
    "imd_decile": tuple(str(d) for d in range(1, 11)),
}


@dataclass(frozen=True)
class NeedWeights:
    """One additional-need adjustment: a weight for each value of a person-summary column."""

    column: str
    weights: tuple[tuple[str, float], ...]  # value → weight; any other value weighs 1
    source: str  # where these weights come from, cited, or said to be an assumption

    @property
    def label(self) -> str:
        return {
            "efi_category": "frailty (eFI category)",
            "hfrs_category": "frailty (Hospital Frailty Risk Score category)",
            "imd_decile": "deprivation (IMD decile, 1 most deprived)",
        }[self.column]

    def describe(self) -> str:
        """The weights in one line, e.g. `moderate 3.00, severe 4.00`."""
        return ", ".join(f"{value} {weight:.2f}" for value, weight in self.weights)


@dataclass(frozen=True)
class Capitation:
    base_rate: float  # £ per weighted member-year in the first contract year
    uplift: float  # yearly growth of the base rate (0.03 = 3%)
    age_sex: tuple[AgeSexWeight, ...]
    needs: tuple[NeedWeights, ...]  # multiplied together with the age-sex weight
    source: str  # where the weights come from, cited (the whole method)
    age_sex_source: str = ""  # where the age-sex weights come from, when said apart
    base_rate_source: str = ""  # how the base rate was set, when said apart

    @property
    def need_columns(self) -> tuple[str, ...]:
        return tuple(n.column for n in self.needs)

    def describe_age_sex(self) -> str:
        """The age-sex weights in one line, e.g. `65–69 F 1.63 M 1.74; 70–74 …`."""
        return "; ".join(f"{b.label} F {b.female:.2f} M {b.male:.2f}" for b in self.age_sex)

    def base_rate_in(self, year: int) -> float:
        """The base rate in contract year `year` (1, 2, …), uplifted and rounded to pence."""
        return round(self.base_rate * (1 + self.uplift) ** (year - 1), 2)


@dataclass(frozen=True)
class Band:
    up_to: float  # variance as a share of the budget, this band's upper edge
    provider_share: float  # share of the variance in this band the provider keeps or bears


@dataclass(frozen=True)
class RiskShare:
    gain: tuple[Band, ...]  # underspend bands; beyond the last, the provider keeps nothing
    loss: tuple[Band, ...]  # overspend bands; beyond the last, the provider bears nothing
    gain_cap: float | None  # most the provider may gain, as a share of the budget
    loss_cap: float | None  # most the provider may lose, as a share of the budget


@dataclass(frozen=True)
class OutcomeMeasure:
    measure: str
    target_change: float  # relative change on the baseline rate needed to earn, e.g. -0.05
    share: float  # share of the value at risk this measure carries

    @property
    def label(self) -> str:
        return OUTCOME_MEASURES[self.measure]


@dataclass(frozen=True)
class Outcomes:
    value_at_risk: float  # share of the budget withheld and paid back against outcomes
    measures: tuple[OutcomeMeasure, ...]


@dataclass(frozen=True)
class EvaluationLink:
    programme: str
    outcome: str
    method: str


@dataclass(frozen=True)
class Contract:
    name: str
    title: str
    provider: str
    cohort_description: str
    cohort_scheme: Scheme  # segment `cohort_segment` of this scheme is the cohort
    cohort_segment: str
    start: dt.date
    years: int
    tariffs: tuple[Tariff, ...]
    capitation: Capitation
    risk_share: RiskShare
    outcomes: Outcomes
    evaluation: EvaluationLink | None

    def year_start(self, year: int) -> dt.date:
        return dt.date(self.start.year + year - 1, self.start.month, self.start.day)

    def year_end(self, year: int) -> dt.date:
        """The last day of contract year `year`."""
        return self.year_start(year + 1) - dt.timedelta(days=1)

    @property
    def cohort_rule(self) -> str:
        return self.cohort_scheme.segment(self.cohort_segment).describe()

    def tariff(self, service: str) -> Tariff:
        for tariff in self.tariffs:
            if tariff.service == service:
                return tariff
        raise KeyError(service)


# --- reading ------------------------------------------------------------------------------------


def contract_files() -> list[Path]:
    return sorted(CONTRACTS_DIR.glob("*.yaml"))


def find_contract(name: str) -> Contract:
    """A shipped contract by its name, or a contract file by its path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return load_contract(path)
    contracts = [load_contract(p) for p in contract_files()]
    for contract in contracts:
        if contract.name == name:
            return contract
    known = ", ".join(c.name for c in contracts) or "none"
    raise ContractError(f"no contract named {name!r}; the contracts are: {known}")


def load_contract(path: Path) -> Contract:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ContractError(f"cannot read contract file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ContractError(f"{path.name} is not valid YAML: {error}") from None
    return parse_contract(data, path.name)


_TOP_KEYS = {
    "name",
    "title",
    "provider",
    "cohort",
    "start",
    "years",
    "services",
    "capitation",
    "risk_share",
    "outcomes",
    "evaluation",
}


def parse_contract(data: Any, where: str = "contract") -> Contract:
    """A checked `Contract` from parsed YAML; `ContractError` names the field to fix."""
    top = _mapping(data, where)
    _no_unknown(top, _TOP_KEYS, where)
    name = _text(top, "name", where)
    scheme, segment, description = _cohort(top.get("cohort"), f"{where}: cohort")
    start = _date(top.get("start"), f"{where}: start")
    if start.day != 1:
        raise ContractError(f"{where}: start must be the first day of a month, not {start}")
    years = top.get("years")
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 10:
        raise ContractError(f"{where}: years must be a whole number from 1 to 10, not {years!r}")
    return Contract(
        name=name,
        title=str(top.get("title") or name),
        provider=str(top.get("provider") or "the provider"),
        cohort_description=description,
        cohort_scheme=scheme,
        cohort_segment=segment,
        start=start,
        years=years,
        tariffs=_services(top.get("services"), f"{where}: services"),
        capitation=_capitation(top.get("capitation"), f"{where}: capitation"),
        risk_share=_risk_share(top.get("risk_share"), f"{where}: risk_share"),
        outcomes=_outcomes(top.get("outcomes"), f"{where}: outcomes"),
        evaluation=_evaluation(top.get("evaluation"), f"{where}: evaluation"),
    )


def _cohort(raw: Any, where: str) -> tuple[Scheme, str, str]:
    """The cohort as a scheme segment: either `segment: scheme/segment_id` or `conditions`."""
    cohort = _mapping(raw, where)
    _no_unknown(cohort, {"description", "conditions", "segment"}, where)
    description = " ".join(str(cohort.get("description") or "").split())
    if ("segment" in cohort) == ("conditions" in cohort):
        raise ContractError(f"{where}: give either conditions or segment (one of them)")
    if "segment" in cohort:
        reference = str(cohort["segment"])
        scheme_id, _, segment_id = reference.partition("/")
        try:
            scheme = builtin_scheme(scheme_id)
            segment = scheme.segment(segment_id)
        except SegmentationError as error:
            raise ContractError(f"{where}: {error}") from None
        except KeyError:
            raise ContractError(
                f"{where}: scheme {scheme_id!r} has no segment {segment_id!r}; write "
                "segment: SCHEME/SEGMENT"
            ) from None
        return scheme, segment.id, description or segment.name
    try:
        scheme = parse_scheme(
            {
                "id": "contract_cohort",
                "name": "Contract cohort",
                "segments": [
                    {"id": COHORT, "name": "In the cohort", "conditions": cohort["conditions"]},
                    {"id": "not_in_cohort", "name": "Not in the cohort", "conditions": []},
                ],
            },
            where=where,
        )
    except SegmentationError as error:
        raise ContractError(str(error)) from None
    if not scheme.segments[0].conditions:
        raise ContractError(f"{where}: conditions must name at least one condition")
    return scheme, COHORT, description or scheme.segments[0].describe()


def _services(raw: Any, where: str) -> tuple[Tariff, ...]:
    services = _mapping(raw, where)
    if not services:
        raise ContractError(f"{where}: name at least one service in scope")
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise ContractError(
            f"{where}: unknown service(s) {', '.join(map(str, unknown))}; the services the "
            f"population store holds are {', '.join(SERVICES)} ({NOT_AVAILABLE})"
        )
    tariffs = []
    for service, value in services.items():
        here = f"{where}: {service}"
        spec = _mapping(value, here)
        _no_unknown(spec, {"price", "bed_day_price"}, here)
        price = spec.get("price")
        if price == RECORDED_COST:
            amount = None
        else:
            amount = _number(price, f"{here}: price (a £ amount or {RECORDED_COST})", low=0)
        bed_day = spec.get("bed_day_price", 0)
        if bed_day and not SERVICES[service][2]:
            raise ContractError(f"{here}: bed_day_price applies to admissions only")
        if bed_day and amount is None:
            raise ContractError(f"{here}: bed_day_price needs a unit price, not {RECORDED_COST}")
        tariffs.append(Tariff(service, amount, _number(bed_day, f"{here}: bed_day_price", low=0)))
    return tuple(tariffs)


def _capitation(raw: Any, where: str) -> Capitation:
    cap = _mapping(raw, where)
    _no_unknown(
        cap,
        {"base_rate", "base_rate_source", "uplift", "age_sex_weights", "need_weights", "source"},
        where,
    )
    source = _words(cap.get("source"))
    if not source:
        raise ContractError(f"{where}: source must cite where the weights come from")
    age_sex, age_sex_source = _age_sex(cap.get("age_sex_weights"), f"{where}: age_sex_weights")
    raw_needs = cap.get("need_weights")
    listed = raw_needs if isinstance(raw_needs, list) else [raw_needs]
    needs = tuple(
        _need(item, f"{where}: need_weights" + (f" {i}" if isinstance(raw_needs, list) else ""))
        for i, item in enumerate(listed, 1)
    )
    columns = [n.column for n in needs]
    if not needs or len(set(columns)) != len(columns):
        raise ContractError(f"{where}: need_weights must give each column once")
    return Capitation(
        base_rate=_number(cap.get("base_rate"), f"{where}: base_rate (£)", low=0),
        uplift=_number(cap.get("uplift", 0), f"{where}: uplift", low=-0.5, high=0.5),
        age_sex=age_sex,
        needs=needs,
        source=source,
        age_sex_source=age_sex_source,
        base_rate_source=_words(cap.get("base_rate_source")),
    )


def _words(raw: Any) -> str:
    return " ".join(str(raw or "").split())


def _age_sex(raw: Any, where: str) -> tuple[tuple[AgeSexWeight, ...], str]:
    """Age bands as a list, or {source: …, bands: [...]} to cite them apart."""
    source = ""
    if isinstance(raw, Mapping):
        _no_unknown(raw, {"source", "bands"}, where)
        source, raw = _words(raw.get("source")), raw.get("bands")
    if not isinstance(raw, list) or not raw:
        raise ContractError(f"{where} must be a list of age bands")
    age_sex = tuple(_age_band(b, f"{where} {i}") for i, b in enumerate(raw, 1))
    for before, after in itertools.pairwise(age_sex):
        if before.age_to is None or after.age_from != before.age_to + 1:
            raise ContractError(
                f"{where}: age bands must follow on without gaps or overlaps "
                f"({before.label} then {after.label})"
            )
    if age_sex[-1].age_to is not None:
        raise ContractError(f"{where}: the last age band must be open-ended, e.g. ages: 85+")
    return age_sex, source


def _need(raw: Any, where: str) -> NeedWeights:
    need = _mapping(raw, where)
    _no_unknown(need, {"column", "weights", "source"}, where)
    column = need.get("column")
    if column not in NEED_COLUMNS:
        raise ContractError(f"{where}: column must be one of {', '.join(NEED_COLUMNS)}")
    weights = {str(k): v for k, v in _mapping(need.get("weights"), f"{where}: weights").items()}
    unknown = sorted(set(weights) - set(NEED_COLUMNS[column]))
    if unknown or not weights:
        raise ContractError(
            f"{where}: weights must give {column} values from "
            f"{', '.join(NEED_COLUMNS[column])} (others weigh 1)"
        )
    return NeedWeights(
        column=str(column),
        weights=tuple((k, _number(v, f"{where}: weight {k}", low=0)) for k, v in weights.items()),
        source=_words(need.get("source")),
    )


def _age_band(raw: Any, where: str) -> AgeSexWeight:
    band = _mapping(raw, where)
    _no_unknown(band, {"ages", "F", "M"}, where)
    ages = str(band.get("ages", "")).strip()
    try:
        if ages.endswith("+"):
            low, high = int(ages[:-1]), None
        else:
            first, _, last = ages.partition("-")
            low, high = int(first), int(last)
    except ValueError:
        raise ContractError(f"{where}: ages must read like 65-74 or 85+, not {ages!r}") from None
    if high is not None and high < low:
        raise ContractError(f"{where}: ages {ages} run backwards")
    return AgeSexWeight(
        low,
        high,
        _number(band.get("F"), f"{where}: F", low=0),
        _number(band.get("M"), f"{where}: M", low=0),
    )


def _risk_share(raw: Any, where: str) -> RiskShare:
    terms = _mapping(raw, where)
    _no_unknown(terms, {"gain", "loss", "gain_cap", "loss_cap"}, where)
    return RiskShare(
        gain=_bands(terms.get("gain"), f"{where}: gain"),
        loss=_bands(terms.get("loss"), f"{where}: loss"),
        gain_cap=_cap(terms.get("gain_cap"), f"{where}: gain_cap"),
        loss_cap=_cap(terms.get("loss_cap"), f"{where}: loss_cap"),
    )


def _bands(raw: Any, where: str) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise ContractError(f"{where}: give a list of bands ({{up_to: 0.02, provider_share: 0.5}})")
    bands = []
    for i, item in enumerate(raw, 1):
        here = f"{where} band {i}"
        band = _mapping(item, here)
        _no_unknown(band, {"up_to", "provider_share"}, here)
        bands.append(
            Band(
                _number(band.get("up_to"), f"{here}: up_to (share of budget)", low=0, high=1),
                _number(band.get("provider_share"), f"{here}: provider_share", low=0, high=1),
            )
        )
    return check_bands(tuple(bands), where)


def check_bands(bands: tuple[Band, ...], where: str) -> tuple[Band, ...]:
    """Bands must rise: each band's edge above the one before (what-if terms are checked too)."""
    edges = [b.up_to for b in bands]
    if edges[0] <= 0 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ContractError(f"{where}: band edges (up_to) must be above 0 and rise band by band")
    return bands


def _cap(raw: Any, where: str) -> float | None:
    return None if raw is None else _number(raw, f"{where} (share of budget)", low=0, high=1)


def _outcomes(raw: Any, where: str) -> Outcomes:
    spec = _mapping(raw, where)
    _no_unknown(spec, {"value_at_risk", "measures"}, where)
    measures_raw = spec.get("measures")
    if not isinstance(measures_raw, list) or not measures_raw:
        raise ContractError(f"{where}: measures must be a list")
    measures = []
    for i, item in enumerate(measures_raw, 1):
        here = f"{where}: measure {i}"
        m = _mapping(item, here)
        _no_unknown(m, {"measure", "target_change", "share"}, here)
        if m.get("measure") not in OUTCOME_MEASURES:
            raise ContractError(
                f"{here}: measure must be one of {', '.join(OUTCOME_MEASURES)}, "
                f"not {m.get('measure')!r}"
            )
        measures.append(
            OutcomeMeasure(
                str(m["measure"]),
                _number(m.get("target_change"), f"{here}: target_change", low=-1, high=1),
                _number(m.get("share"), f"{here}: share", low=0, high=1),
            )
        )
    total = sum(m.share for m in measures)
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ContractError(f"{where}: the measures' shares must add up to 1, not {total:g}")
    if len({m.measure for m in measures}) != len(measures):
        raise ContractError(f"{where}: each measure may be named once")
    return Outcomes(
        _number(spec.get("value_at_risk"), f"{where}: value_at_risk", low=0, high=0.5),
        tuple(measures),
    )


def _evaluation(raw: Any, where: str) -> EvaluationLink | None:
    if raw is None:
        return None
    spec = _mapping(raw, where)
    _no_unknown(spec, {"programme", "outcome", "method"}, where)
    return EvaluationLink(
        _text(spec, "programme", where),
        str(spec.get("outcome") or "emergency_admissions"),
        str(spec.get("method") or "did"),
    )


# --- small checks ---------------------------------------------------------------------------------


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: expected a mapping of fields, got {raw!r}")
    return raw


def _no_unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        raise ContractError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContractError(f"{where}: {key} must be some text")
    return value.strip()


def _number(raw: Any, where: str, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ContractError(f"{where} must be a number, not {raw!r}")
    if (low is not None and raw < low) or (high is not None and raw > high):
        raise ContractError(f"{where} must be from {low} to {high}, not {raw!r}")
    return float(raw)


def _date(raw: Any, where: str) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ContractError(f"{where} must be a date (YYYY-MM-DD), not {raw!r}") from None
