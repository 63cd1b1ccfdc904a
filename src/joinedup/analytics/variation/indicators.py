"""The practice-variation indicators, grouped in domains: what each counts and how it is judged.

Kinds:

* ``ratio`` — an **indirectly standardised ratio** (observed ÷ expected at the area's rates for
  people of the same age band, sex and deprivation quintile; `standardisation`), with exact
  Poisson funnel limits (Spiegelhalter 2005; `joinedup.analytics.funnel`). Activity is also
  shown as a crude rate per 1,000 registered people and as an indirectly standardised rate
  (ratio × the area's crude rate).
* ``proportion`` — a share with binomial funnel limits around the area's pooled share.

No indicator is a mean of per-patient indices: such a mean has no simple sampling
distribution to draw funnel limits from, so the mean UPC once offered a "funnel plot" page
that could draw no funnel. Continuity by UPC is the share of patients with high continuity
(UPC 0.75 or more), a proportion of people with binomial limits
(`joinedup.analytics.continuity`, issue 13).

Direction says which side of the funnel is a concern: high emergency admissions, low recorded
prevalence (people who may be living with the condition undiagnosed), low continuity; frailty,
multimorbidity and outpatient activity are *need* or *pattern* (``neutral``): a practice outside
the limits is flagged as higher or lower, not as worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["ratio", "proportion"]
Direction = Literal["high_is_concern", "low_is_concern", "neutral"]


@dataclass(frozen=True)
class Domain:
    id: str
    title: str


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    short: str  # column heading of the matrix
    domain: str
    kind: Kind
    direction: Direction
    events: str  # the column of the indicator-people table (or continuity field) counted
    description: str
    population: str = "registered people"
    among: str | None = None  # a 0/1 column restricting who is counted (e.g. aged 65 and over)
    per_1000: bool = False  # activity: shown as rates per 1,000 people
    denominator_label: str = "Expected count"  # the funnel's x axis
    value_label: str = "Observed ÷ expected"  # the funnel's y axis

    @property
    def drillable(self) -> bool:
        """Whether the people behind the count can be listed (person-level indicators)."""
        return self.domain != "continuity"


DOMAINS: tuple[Domain, ...] = (
    Domain("secondary_care", "Secondary care use"),
    Domain("long_term_conditions", "Long-term conditions: recorded against expected"),
    Domain("frailty", "Frailty and multimorbidity"),
    Domain("prescribing", "Prescribing"),
    Domain("continuity", "Continuity of care"),
)

_STANDARDISED = "Indirectly standardised for age, sex and deprivation quintile."
_PREVALENCE = (
    "People with the condition recorded in their GP record, against the number expected if the "
    "area's recorded prevalence for people of the same age, sex and deprivation applied. Fewer "
    "than expected may mean people living with the condition undiagnosed. Expected comes from "
    "the area's own records, so an area-wide shortfall does not show here. " + _STANDARDISED
)

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "emergency_admissions",
        "Emergency admissions",
        "Emergency admissions",
        "secondary_care",
        "ratio",
        "high_is_concern",
        "emergency_admissions",
        "Hospital spells admitted as an emergency in the 12 months, per 1,000 registered "
        "people. " + _STANDARDISED,
        per_1000=True,
    ),
    Indicator(
        "ae_attendances",
        "A&E attendances",
        "A&E attendances",
        "secondary_care",
        "ratio",
        "high_is_concern",
        "ae_attendances",
        "Arrivals at accident and emergency departments in the 12 months, per 1,000 "
        "registered people. " + _STANDARDISED,
        per_1000=True,
    ),
    Indicator(
        "outpatient_first",
        "Outpatient first attendances",
        "Outpatient first attendances",
        "secondary_care",
        "ratio",
        "neutral",
        "outpatient_first",
        "First outpatient appointments attended in the 12 months, per 1,000 registered "
        "people. " + _STANDARDISED,
        per_1000=True,
    ),
    Indicator(
        "hypertension",
        "Hypertension: recorded against expected",
        "Hypertension",
        "long_term_conditions",
        "ratio",
        "low_is_concern",
        "hypertension",
        _PREVALENCE,
    ),
    Indicator(
        "diabetes",
        "Diabetes: recorded against expected",
        "Diabetes",
        "long_term_conditions",
        "ratio",
        "low_is_concern",
        "diabetes",
        _PREVALENCE,
    ),
    Indicator(
        "atrial_fibrillation",
        "Atrial fibrillation: recorded against expected",
        "Atrial fibrillation",
        "long_term_conditions",
        "ratio",
        "low_is_concern",
        "atrial_fibrillation",
        _PREVALENCE,
    ),
    Indicator(
        "copd",
        "COPD: recorded against expected",
        "COPD",
        "long_term_conditions",
        "ratio",
        "low_is_concern",
        "copd",
        _PREVALENCE,
    ),
    Indicator(
        "frailty",
        "Moderate or severe frailty (eFI), aged 65 and over",
        "Frailty",
        "frailty",
        "ratio",
        "neutral",
        "frail_moderate_severe",
        "People aged 65 and over whose electronic Frailty Index (Clegg 2016) is moderate or "
        "severe, computed as the stratification run computes it. " + _STANDARDISED,
        population="registered people aged 65 and over",
        among="aged_65_plus",
    ),
    Indicator(
        "multimorbidity",
        "Multimorbidity: two or more long-term conditions",
        "Multimorbidity",
        "frailty",
        "ratio",
        "neutral",
        "multimorbidity",
        "People with two or more of the 18 long-term conditions recorded. " + _STANDARDISED,
    ),
    Indicator(
        "polypharmacy",
        "Polypharmacy: 10 or more medicines",
        "Polypharmacy (10+)",
        "prescribing",
        "ratio",
        "high_is_concern",
        "polypharmacy_10",
        "People issued 10 or more different medicines in the 12 months: a prompt for a "
        "structured medication review. " + _STANDARDISED,
    ),
    Indicator(
        "slicc",
        "Consultations with the patient's usual GP (SLICC)",
        "Usual GP (SLICC)",
        "continuity",
        "proportion",
        "low_is_concern",
        "slicc",
        "St Leonard's Index of Continuity of Care (Sidaway-Lee 2019): the share of GP "
        "consultations in the 12 months that were with the patient's usual GP (the GP they saw "
        "most in the year before). Not standardised.",
        population="GP consultations of patients with a usual GP",
        denominator_label="GP consultations",
        value_label="Share with the usual GP",
    ),
    Indicator(
        "upc",
        "High continuity: most GP care from one GP (UPC 0.75 or more)",
        "High continuity (UPC)",
        "continuity",
        "proportion",
        "low_is_concern",
        "patients_high_upc",
        "Of patients with 3 or more GP consultations in the 12 months, the share whose Usual "
        "Provider of Care index (Breslau and Reeb 1975: the share of their consultations with "
        "the GP they saw most) is 0.75 or more, so who saw one GP for at least three in four "
        "consultations. The 0.75 cut-point is the high band of personal-provider continuity "
        "in research (more than 74% of visits with one provider). Not standardised.",
        population="patients with 3 or more GP consultations",
        denominator_label="Patients with 3 or more GP consultations",
        value_label="Share with high continuity",
    ),
)

BY_ID: dict[str, Indicator] = {i.id: i for i in INDICATORS}


class UnknownIndicator(KeyError):
    """There is no indicator with that id."""


def indicator(indicator_id: str) -> Indicator:
    try:
        return BY_ID[indicator_id]
    except KeyError:
        raise UnknownIndicator(indicator_id) from None
