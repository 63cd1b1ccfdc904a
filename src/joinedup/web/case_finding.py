"""Case-finding pages: every list with its rule, one list's people, and its CSV export.

Thin routes over `joinedup.analytics.case_finding`: parse, authorise, call the service, render.
Who sees what (information governance, issue 5):

* a user with ``case_finding.view_identifiable`` (GP, nurse, care coordinator, manager) sees
  named people for their direct care, only in the practices they work in
  (`joinedup.governance.relationships.user_practices`); the filters offer only those, and a
  practice or neighbourhood outside them is refused with **403** (a code the area does not
  have at all is 404). Every view and export is audited; objectors stay on these lists;
* a user with only ``case_finding.view_pseudonymised`` (commissioner, analyst) sees the whole
  area with each person as a keyed-hash pseudonym, objectors left out, every count
  suppressed (`joinedup.governance.suppression`) and the rows k-anonymous (age bands, place
  generalised, the residue withheld: `joinedup.governance.disclosure`); views and the export
  are audited too.

Holding both permissions (a manager) means the identifiable view.

The list that reads a stratification run (top risk) is given the latest run; with none, or one
without a risk, it is shown as not available with what to run. It leaves out people on the
coordinated care register (`on_register`: the register's open entries).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics import case_finding as cf
from joinedup.analytics.stratify import StratificationRun, latest_run
from joinedup.care.case_finding_audience import CaseFindingAudience, case_finding_audience
from joinedup.care.register import register_members
from joinedup.governance.audit import record_export, record_list_view
from joinedup.governance.roles import Principal
from joinedup.governance.suppression import SUPPRESSION_NOTE, suppress_count
from joinedup.population.reads import people_summaries
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.dependencies import (
    AppSettings,
    CaseFindingViewer,
    Sessions,
    Store,
)
from joinedup.web.pages import is_htmx_partial
from joinedup.web.templating import templates

VIEW_PERMISSIONS = ("case_finding.view_identifiable", "case_finding.view_pseudonymised")

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

#: Rows shown on the page; the CSV export always holds everyone.
PAGE_ROWS = 500
LIST_VIEW = "case_finding_list"


def _audience(
    user: Principal, sessions: sessionmaker[Session], settings: Settings
) -> CaseFindingAudience:
    return case_finding_audience(user, sessions, settings)


def on_register(sessions: sessionmaker[Session]) -> frozenset[int]:
    """People on the coordinated care register now (any state but discharged, declined or not
    contactable): lists that leave register members off (top risk, not on the register) leave
    them off through this."""
    return register_members(sessions)


def _definition(list_id: str) -> cf.ListDefinition:
    try:
        return cf.get_definition(list_id)
    except cf.UnknownListError:
        raise HTTPException(
            status_code=404, detail=f"There is no case-finding list called {list_id}."
        ) from None


def _run(
    store: PopulationStore,
    list_id: str,
    audience: CaseFindingAudience,
    practice: str | None,
    neighbourhood: str | None,
    run: StratificationRun | None,
) -> cf.CaseFindingResult:
    try:
        return audience.run_list(
            store, list_id, practice=practice, neighbourhood=neighbourhood, run=run
        )
    except cf.UnknownOrganisationError as exc:
        raise HTTPException(status_code=404, detail=f"{str(exc).capitalize()}.") from None
    except cf.OrganisationOutOfScopeError:
        raise HTTPException(
            status_code=403,
            detail="You can see named people only in the practices you work in. "
            "Ask your administrator if you work in this one too.",
        ) from None


def _scope(result: cf.CaseFindingResult) -> dict[str, Any]:
    """The scope of a view or export, as the audit trail records it (codes only)."""
    return {
        "practice": result.practice,
        "neighbourhood": result.neighbourhood,
        "within_practices": None
        if result.within_practices is None
        else sorted(result.within_practices),
        "index_date": result.index_date.isoformat(),
        **({"run_id": result.run_id} if result.run_id else {}),
    }


@router.get("/case-finding", name="case_finding")
def case_finding_index(
    request: Request,
    user: CaseFindingViewer,
    store: Store,
    sessions: Sessions,
    settings: AppSettings,
) -> Response:
    audience = _audience(user, sessions, settings)
    run = latest_run(settings)
    counts = cf.list_counts(
        store,
        within_practices=audience.practices,
        excluding=audience.excluding,
        run=run,
        on_register=audience.on_register,
    )
    if not audience.identifiable:
        counts = {k: None if v is None else suppress_count(v) for k, v in counts.items()}
    metadata = store.metadata()
    return templates.TemplateResponse(
        request,
        "case_finding/index.html",
        {
            "definitions": cf.list_definitions(),
            "counts": counts,
            "reasons": {d.id: cf.unavailable_reason(d, run) for d in cf.list_definitions()},
            "identifiable": audience.identifiable,
            "suppressed": not audience.identifiable,
            "suppression_note": SUPPRESSION_NOTE,
            "has_practices": bool(audience.practices) if audience.identifiable else True,
            "area_name": metadata.get("area_name") or "Unnamed area",
            "index_date": cf.extract_date(store),
            "synthetic": bool(metadata.get("synthetic", False)),
        },
    )


@router.get("/case-finding/{list_id}.csv", name="case_finding_csv")
def case_finding_csv(
    list_id: str,
    user: CaseFindingViewer,
    store: Store,
    sessions: Sessions,
    settings: AppSettings,
    practice: str | None = None,
    neighbourhood: str | None = None,
) -> Response:
    definition = _definition(list_id)
    run = latest_run(settings)
    reason = cf.unavailable_reason(definition, run)
    if reason:
        raise HTTPException(status_code=404, detail=reason)
    audience = _audience(user, sessions, settings)
    result = _run(store, list_id, audience, practice or None, neighbourhood or None, run)
    text, withheld = cf.published_csv(result, pseudonym_key=audience.pseudonym_key, k=audience.k)
    record_export(
        sessions,
        user,
        what=LIST_VIEW,
        purpose=audience.purpose,
        detail={
            "list": list_id,
            "scope": _scope(result),
            "rows": result.total,
            "withheld": withheld,  # by disclosure control: the CSV holds rows - withheld
            "identifiable": audience.identifiable,
        },
    )
    scope = practice or neighbourhood or ("practices" if audience.identifiable else "area")
    kind = "" if audience.identifiable else "_pseudonymised"
    name = f"{list_id}_{scope}{kind}_{result.index_date.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            # How many people disclosure control withheld (the page says so in words).
            "X-Rows-Withheld": str(withheld),
        },
    )


@router.get("/case-finding/{list_id}", name="case_finding_list")
def case_finding_list(
    request: Request,
    list_id: str,
    user: CaseFindingViewer,
    store: Store,
    sessions: Sessions,
    settings: AppSettings,
    practice: str | None = None,
    neighbourhood: str | None = None,
) -> Response:
    definition = _definition(list_id)
    run = latest_run(settings)
    reason = cf.unavailable_reason(definition, run)
    if reason:
        return templates.TemplateResponse(
            request,
            "case_finding/unavailable.html",
            {"definition": definition, "reason": reason, "page_title": definition.title},
        )
    audience = _audience(user, sessions, settings)
    practice, neighbourhood = practice or None, neighbourhood or None
    in_scope = audience.practices is None or practice in audience.practices
    if practice and neighbourhood and in_scope:
        # Choosing another neighbourhood leaves a practice of the old one behind: drop it.
        # (A practice outside the user's own is never dropped quietly: it is refused below.)
        practices = _run(store, list_id, audience, None, neighbourhood, run).by_practice
        if practice not in {p.code for p in practices}:
            practice = None
    result = _run(store, list_id, audience, practice, neighbourhood, run)
    # Recorded before anything is shown: the list's rule, scope and date say who was on it.
    record_list_view(
        sessions,
        user,
        what=LIST_VIEW,
        list_id=list_id,
        scope=_scope(result),
        rows=result.total,
        identifiable=audience.identifiable,
    )
    disclosed = (
        None
        if audience.pseudonym_key is None
        else cf.disclosed_rows(result.rows, audience.pseudonym_key, audience.k)
    )
    partial = is_htmx_partial(request)
    query = urlencode(
        {k: v for k, v in (("practice", practice), ("neighbourhood", neighbourhood)) if v}
    )
    list_url = request.url_for("case_finding_list", list_id=list_id).path
    csv_url = request.url_for("case_finding_csv", list_id=list_id).path
    rows = disclosed.rows[:PAGE_ROWS] if disclosed else cf.page_rows(result, PAGE_ROWS)
    context = {
        "definition": definition,
        "result": result,
        "rows": rows,
        "names": _names(store, rows) if audience.identifiable else {},
        "withheld": disclosed.withheld if disclosed else 0,
        "csv_rows": len(disclosed.rows) if disclosed else result.total,
        "k": audience.k,
        "shown_columns": [c for c in result.columns if c.page],
        "page_rows": PAGE_ROWS,
        "more_rows": (len(disclosed.rows) if disclosed else result.total) > PAGE_ROWS,
        "identifiable": audience.identifiable,
        # The person page (their record, and where they join the coordinated care register).
        "can_open_records": audience.identifiable and user.can("record.view"),
        "suppressed": result.suppressed,
        "suppression_note": SUPPRESSION_NOTE,
        "can_export": True,  # both view permissions include their own export
        "has_practices": bool(audience.practices) if audience.identifiable else True,
        "partial": partial,
        "page_title": definition.title,
        "list_url": list_url,
        "csv_url": csv_url + ("?" + query if query else ""),
        "scope_name": _scope_name(result, audience),
        "metadata": store.metadata(),
    }
    response = templates.TemplateResponse(
        request,
        "case_finding/_list.html" if partial else "case_finding/list.html",
        context,
    )
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "no-store"
    if partial:
        response.headers["HX-Push-Url"] = list_url + ("?" + query if query else "")
    return response


def _names(store: PopulationStore, rows: list[dict[str, Any]]) -> dict[int, str | None]:
    """Each shown person's name (FAMILY, Given) for an identifiable list."""
    people = people_summaries(store, (row["person_id"] for row in rows))
    return {person_id: summary.name for person_id, summary in people.items()}


def _scope_name(result: cf.CaseFindingResult, audience: CaseFindingAudience) -> str:
    if result.practice:
        return next(p.name for p in result.practices if p.code == result.practice)
    if result.neighbourhood:
        name = next(h.name for h in result.neighbourhoods if h.code == result.neighbourhood)
        return f"your practices in {name}" if audience.identifiable else name
    return "your practices" if audience.identifiable else "the whole area"
