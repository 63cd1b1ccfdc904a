"""What the ledger says, in words and lines: the year-end statement a finance lead checks line
by line, the ledger as JSON, and the evaluation report in plain words for a board (what was
compared with what, the estimate and its interval, the checks, and what it does not show)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joinedup.analytics.evaluation.result import Evaluation
from joinedup.analytics.evaluation.service import evaluate_programme, resolve
from joinedup.commissioning.contracts.definition import SERVICES, Capitation, Contract
from joinedup.commissioning.contracts.ledger import Ledger, YearStatement
from joinedup.commissioning.contracts.risk_share import Settlement
from joinedup.errors import UserError
from joinedup.population.store import PopulationStore


@dataclass(frozen=True)
class Line:
    ref: str  # the line's number, for a finance lead to tick off
    label: str
    amount: float | None  # £; None: a heading or a note
    how: str  # how it is worked out, from the lines above


def _count(value: float) -> str:
    return f"{value:,.2f}"


def capitation_lines(year: YearStatement, capitation: Capitation) -> list[Line]:
    """Lines 1.x: how the budget on line 1 is set, each weight shown with its source."""
    base_how = (
        f"year 1's £{capitation.base_rate:,.2f} uplifted {capitation.uplift:.1%} a year"
        if year.year > 1 and capitation.uplift
        else "the contract's base rate"
    )
    if capitation.base_rate_source:
        base_how += f"; {capitation.base_rate_source}"
    lines = [
        Line(
            "1.1",
            f"Base rate: £{year.base_rate:,.2f} per weighted member-year",
            None,
            f"{base_how}. A member's budget = base rate × age-sex weight"
            + "".join(f" × {n.label} weight" for n in capitation.needs)
            + ", for the days of the year they were a member",
        ),
        Line(
            "1.2",
            "Age-sex weights",
            None,
            capitation.describe_age_sex()
            + f" (source: {capitation.age_sex_source or capitation.source})",
        ),
    ]
    for i, need in enumerate(capitation.needs, start=3):
        lines.append(
            Line(
                f"1.{i}",
                f"Need weights: {need.label}",
                None,
                f"{need.describe()}; any other value 1.00 "
                f"(source: {need.source or capitation.source})",
            )
        )
    return lines


def statement_lines(
    year: YearStatement,
    settlement: Settlement | None = None,
    count_text: Callable[[float], str] = _count,
    capitation: Capitation | None = None,
) -> list[Line]:
    """The year's reconciliation, each line worked from the ones before it. `settlement` other
    than the year's own is a what-if; `count_text` writes activity counts (pages suppress small
    ones); `capitation`, the contract's, adds lines 1.x saying how the budget is set."""
    s = settlement or year.settlement
    lines = [Line("1", "Capitated budget", s.budget, f"{year.member_years:,.2f} member-years")]
    if capitation is not None:
        lines.extend(capitation_lines(year, capitation))
    for i, (service, amount) in enumerate(year.spend.items(), start=1):
        lines.append(
            Line(
                f"2.{i}",
                f"Spend: {SERVICES[service][0]}",
                amount,
                f"{count_text(year.units[service])} {SERVICES[service][1]}s at the contract tariff",
            )
        )
    lines.append(Line("2", "Spend at contract tariff", s.spend, "sum of lines 2.1 onwards"))
    word = {"gain": "gain (underspend)", "loss": "loss (overspend)"}.get(s.kind, "no variance")
    lines.append(Line("3", f"Variance: {word}", s.variance, "line 1 − line 2"))
    for i, band in enumerate(s.bands, start=1):
        lines.append(
            Line(
                f"3.{i}",
                f"Variance {band.label}",
                band.amount,
                f"provider {band.provider_share:.0%}: £{band.provider:,.2f}; commissioner "
                f"£{band.commissioner:,.2f}",
            )
        )
    cap_note = "no cap" if s.cap is None else f"capped at £{s.cap:,.2f}"
    lines.append(
        Line(
            "4",
            f"Provider's share of the {s.kind}" if s.kind != "none" else "Provider's share",
            s.provider,
            f"sum of provider amounts, £{s.provider_before_cap:,.2f}, {cap_note}; "
            "positive: the provider gains, negative: it bears a loss",
        )
    )
    lines.append(Line("5", "Commissioner's share", s.commissioner, "line 3 − line 4"))
    lines.append(Line("6", "Settled value of care", s.settled_value, "line 2 + line 4"))
    lines.append(
        Line(
            "7",
            "Value at risk withheld against outcomes",
            -year.value_at_risk,
            f"{year.value_at_risk / year.budget:.0%} of line 1" if year.budget else "",
        )
    )
    for i, o in enumerate(year.outcomes, start=1):
        lines.append(Line(f"8.{i}", f"Outcome: {o.measure.label}", o.earned, o.reason))
    lines.append(Line("8", "Outcome payments earned", year.outcome_payments, "sum of lines 8.x"))
    payable = round(s.settled_value - year.value_at_risk + year.outcome_payments, 2)
    lines.append(Line("9", "Payable to the provider", payable, "line 6 + line 7 + line 8"))
    return lines


def ledger_json(ledger: Ledger) -> dict[str, Any]:
    contract = ledger.contract
    return {
        "contract": contract.name,
        "title": contract.title,
        "cohort": contract.cohort_description,
        "cohort_rule": contract.cohort_rule,
        "start": contract.start.isoformat(),
        "years": contract.years,
        "extract_date": ledger.extract_date.isoformat(),
        "left_out": ledger.left_out,
        "tariff": {t.service: t.describe() for t in contract.tariffs},
        "months": [
            {
                "year": m.year,
                "month": m.month.isoformat()[:7],
                "member_months": m.member_months,
                "budget": m.budget,
                "spend": m.spend,
                "units": m.units,
                "total_spend": m.total_spend,
                "variance": m.variance,
            }
            for m in ledger.months
        ],
        "statements": [
            {
                "year": y.year,
                "from": y.first_day.isoformat(),
                "to": y.last_day.isoformat(),
                "complete": y.complete,
                "months": y.months,
                "movement": vars(y.movement),
                "lines": [
                    vars(line) for line in statement_lines(y, capitation=contract.capitation)
                ],
            }
            for y in ledger.years
        ],
    }


# --- the evaluation report -------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationReport:
    contract: str
    programme: str
    method: str
    outcome: str
    made_on: dt.date
    evaluation: Evaluation | None
    problem: str | None  # why there is no evaluation, in plain words

    @property
    def headline(self) -> str:
        e = self.evaluation
        if e is None:
            return f"No evaluation: {self.problem}"
        change = "fewer" if e.estimate < 0 else "more"
        verdict = (
            "The interval includes no change, so this does not show the programme made a "
            "difference."
            if e.covers_zero
            else "The interval excludes no change."
        )
        failed = [c.name for c in e.checks if not c.passed]
        caution = (
            f" {len(failed)} of {len(e.checks)} checks of the method's assumptions failed "
            f"({', '.join(failed)}): treat the estimate with caution."
            if failed
            else f" All {len(e.checks)} checks of the method's assumptions passed."
        )
        return (
            f"Our best estimate is {abs(e.estimate):.0%} {change} {e.outcome.replace('_', ' ')} "
            f"than expected without the programme (95% interval {e.ci_low:+.0%} to "
            f"{e.ci_high:+.0%}). {verdict}{caution}"
        )

    @property
    def does_not_show(self) -> list[str]:
        return [
            "It is an estimate from routine records, not a randomised trial: a difference "
            "between the places that did and did not run the programme that the method cannot "
            "see would bias it.",
            "It says nothing about outcomes not measured here (quality of life, experience of "
            "care, carers), nor about the cost of running the programme.",
            "People chosen because they are high-risk this year are lower-risk next year "
            "whatever is done (regression to the mean): a before-and-after fall in the cohort "
            "alone is not evidence of an effect.",
            "The shadow ledger's outcome measures compare the cohort with the cohort the same "
            "rule found a year before the contract, and so are not an evaluation: they do not "
            "allow for trends in the whole area, which a comparison group does.",
        ]


def evaluation_report(
    store: PopulationStore, contract: Contract, today: dt.date
) -> EvaluationReport:
    link = contract.evaluation
    if link is None:
        return EvaluationReport(
            contract.name, "", "", "", today, None, "the contract names no programme to evaluate"
        )
    try:
        result = evaluate_programme(
            store, resolve(store, link.programme, None), link.outcome, link.method
        )
        problem = None
    except UserError as error:  # the programme or outcome cannot be evaluated here
        result, problem = None, str(error)
    return EvaluationReport(
        contract.name, link.programme, link.method, link.outcome, today, result, problem
    )
