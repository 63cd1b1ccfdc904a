"""Commissioner pages of outcome-based capitated contracts: the shadow budget ledger (budget
against spend by month and setting, chart and table), the outcome dashboard with payments
earned, the what-if on risk-share terms, and the evaluation report in plain words, which can be
downloaded as a document for a board.

Thin routes over `joinedup.commissioning.contracts.service`; objectors are left out of the
cohort (both budget and spend), the counts of people shown pass through suppression, and so does
money worked out from a small count (`joinedup.commissioning.contracts.published`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.commissioning.contracts import service
from joinedup.commissioning.contracts.definition import NOT_AVAILABLE, SERVICES, ContractError
from joinedup.commissioning.contracts.ledger import Ledger, what_if
from joinedup.commissioning.contracts.published import (
    PublishedMonth,
    published_month,
    published_year,
    withheld_lines,
)
from joinedup.commissioning.contracts.report import statement_lines
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count
from joinedup.web.dependencies import AggregateExporter, AggregateViewer, Sessions, Store
from joinedup.web.navigation import area_titled
from joinedup.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

CHART_WIDTH = 720
CHART_HEIGHT = 240
LEFT = 70


@dataclass(frozen=True)
class MonthBar:
    label: str
    x: float
    width: float
    spend_y: float
    spend_height: float
    budget_y: float


def ledger_chart(months: list[PublishedMonth]) -> tuple[list[MonthBar], list[tuple[float, str]]]:
    """Bars of spend (none where it is withheld) and marks of budget per month (chart units),
    and the axis ticks."""
    top = max([p.month.budget for p in months] + [p.spend.total or 0.0 for p in months] + [1.0])
    step = (CHART_WIDTH - LEFT) / max(len(months), 1)

    def y(value: float) -> float:
        return round(CHART_HEIGHT - value / top * (CHART_HEIGHT - 20), 1)

    bars = [
        MonthBar(
            label=p.month.month.strftime("%B %Y"),
            x=round(LEFT + i * step + step * 0.15, 1),
            width=round(step * 0.7, 1),
            spend_y=y(p.spend.total or 0.0),
            spend_height=round(CHART_HEIGHT - y(p.spend.total or 0.0), 1),
            budget_y=y(p.month.budget),
        )
        for i, p in enumerate(months)
    ]
    ticks = [(y(top * f), f"£{top * f / 1000:,.0f}k") for f in (0, 0.25, 0.5, 0.75, 1)]
    return bars, ticks


def count_text(value: float) -> str:
    """An activity count as the pages show it: small counts withheld, as every count is."""
    shown = suppress_count(round(value))
    return "fewer than 8" if shown is None else f"{shown:,}"


def _ledger(store: Store, sessions: Sessions, name: str) -> Ledger:
    try:
        return service.secondary_use_ledger(store, sessions, name)
    except ContractError as error:
        raise HTTPException(status_code=404, detail=f"{str(error).capitalize()}.") from None


def _common(page_title: str) -> dict[str, object]:
    return {
        "commissioning": area_titled("Commissioning"),
        "page_title": page_title,
        "services": SERVICES,
        "not_available": NOT_AVAILABLE,
        "suppress": suppress_count,
        "suppression_note": SUPPRESSION_NOTE,
    }


@router.get("/commissioning/contracts", name="commissioning_contracts")
def contracts_page(request: Request, user: AggregateViewer) -> Response:
    return templates.TemplateResponse(
        request,
        "commissioning/contracts/index.html",
        {**_common("Capitated contracts"), "contracts": service.contracts()},
    )


@router.get("/commissioning/contracts/ledger", name="commissioning_contract_ledger")
def ledger_page(
    request: Request, store: Store, sessions: Sessions, user: AggregateViewer, contract: str
) -> Response:
    ledger = _ledger(store, sessions, contract)
    form = dict(request.query_params)
    asked = any(key.startswith(("gain", "loss")) for key in form)
    what_if_error = None
    terms = ledger.contract.risk_share
    if asked:
        try:
            terms = service.terms_from_form(form, ledger.contract.risk_share)
        except ContractError as error:
            what_if_error = str(error)
    alternatives = what_if(ledger, terms) if asked and what_if_error is None else None
    tariffs = ledger.contract.tariffs
    months = [published_month(tariffs, m) for m in ledger.months]
    bars, ticks = ledger_chart(months)
    return templates.TemplateResponse(
        request,
        "commissioning/contracts/ledger.html",
        {
            **_common(ledger.contract.title),
            "ledger": ledger,
            "months": months,
            "contract": ledger.contract,
            "bars": bars,
            "ticks": ticks,
            "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": LEFT},
            "statements": [
                (
                    year,
                    statement_lines(
                        year, count_text=count_text, capitation=ledger.contract.capitation
                    ),
                    None
                    if alternatives is None
                    else statement_lines(
                        year, alternatives[i], count_text, ledger.contract.capitation
                    ),
                    withheld_lines(year, published_year(tariffs, year)),
                )
                for i, year in enumerate(ledger.years)
            ],
            "terms": terms,
            "asked": asked,
            "what_if_error": what_if_error,
        },
    )


@router.get("/commissioning/contracts/evaluation", name="commissioning_contract_evaluation")
def evaluation_page(
    request: Request, store: Store, user: AggregateViewer, contract: str
) -> Response:
    report = _report(store, contract)
    return templates.TemplateResponse(
        request,
        "commissioning/contracts/evaluation.html",
        {
            **_common("Evaluation report"),
            "report": report,
            "contract_name": contract,
            "can_export": user.can("aggregates.export"),
        },
    )


@router.get(
    "/commissioning/contracts/evaluation-report.html",
    name="commissioning_contract_evaluation_document",
)
def evaluation_document(
    request: Request, store: Store, user: AggregateExporter, contract: str
) -> Response:
    report = _report(store, contract)
    response = templates.TemplateResponse(
        request, "commissioning/contracts/evaluation_document.html", {"report": report}
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="evaluation-{report.contract}.html"'
    )
    return response


def _report(store: Store, contract: str):  # type: ignore[no-untyped-def]
    try:
        return service.contract_evaluation(store, contract, dt.date.today())
    except ContractError as error:
        raise HTTPException(status_code=404, detail=f"{str(error).capitalize()}.") from None
