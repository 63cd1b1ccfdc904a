"""The one gate in front of every identifiable person route.

    find the person → may this user see them? → 404 / 403 (with the break-glass offer) →
    audit the view → the route renders

A person route takes the gate as a dependency; it gets an `OpenedPerson` only when the user
may see the person and the view has been recorded in the audit trail::

    @router.get("/people/{person_id}/visits", name="person_visits")
    def visits_page(
        request: Request,
        opened: Annotated[OpenedPerson[Access], Depends(person_gate("person.visits"))],
    ) -> Response:
        return templates.TemplateResponse(request, "…", {"person": opened.person})

* **One lookup**: `joinedup.population.reads.find_person` (the fast index). An unknown person
  gets the one not-found answer (404).
* **One rule, or a refinement of it**: by default the legitimate relationship
  (`governance.relationships.person_access`). A domain with a stricter or wider rule passes its
  own `AccessRule` — care plans add the person's consent outside their own practice
  (`care_plan_rule`), MDT pages let the meeting's invited attendees in. A rule may also end the
  request itself (e.g. 404 for a meeting that does not exist) before deciding.
* **One refusal**: ``people/refused.html`` (403), saying why, with the way to break glass only
  for roles that may (``record.break_glass``). Nothing identifying is shown and nothing is
  audited.
* **One audit**: an allowed view is recorded (`governance.audit.record_view`, ``view.<what>``,
  with the basis of access and the path's other parameters) *before* the route renders. Routes
  that write pass ``what=None``: their write is audited by its unit of work, and a route that
  shows the person again (a form with errors) calls `OpenedPerson.record_view`.
* **No caching**: every answer of a gated request — the page, the refusal, the not-found page,
  an error raised later by the route — carries ``Cache-Control: no-store`` (set by
  `joinedup.web.app.SecurityHeadersMiddleware` from the flag the gate leaves on the request).
* **Pages or FHIR**: the FHIR API passes ``answers=FHIR_ANSWERS`` and gets OperationOutcome JSON
  for 404 and 403; the decision is the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.audit import record_view
from joinedup.governance.relationships import Access, person_access
from joinedup.governance.roles import Principal
from joinedup.population.reads import PersonIdentity, find_person
from joinedup.population.store import PopulationStore
from joinedup.web.app_state import population_store_dependency, sessions_dependency
from joinedup.web.security import require
from joinedup.web.templating import templates

T = TypeVar("T")

NO_STORE = {"Cache-Control": "no-store"}
#: Left on ``request.state`` by the gate: the response shows (or concerns) a named person.
IDENTIFIABLE = "identifiable_person"
#: Left on ``request.state`` by the gate: the `OpenedPerson` (every person page's banner).
OPENED = "opened_person"
NOT_FOUND = "There is no person with that number."
NO_RELATIONSHIP = (
    "You have no legitimate relationship with this person: they are not registered where you "
    "work and you are not on their care team."
)
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Verdict(Generic[T]):
    """What an access rule decided, and what it found (handed to the route as `access`)."""

    allowed: bool
    access: T
    basis: str | None = None
    #: Why not, for the refusal page: no_relationship | no_consent | read_only.
    refusal: str = "no_relationship"
    #: The person's consent decision in force, where the rule asked (care plans).
    consent_decision: str | None = None


#: Who may see the person: (request, sessions, user, person) → the verdict.
AccessRule = Callable[[Request, sessionmaker[Session], Principal, PersonIdentity], Verdict[Any]]


def relationship_rule(
    request: Request, sessions: sessionmaker[Session], user: Principal, person: PersonIdentity
) -> Verdict[Access]:
    """The legitimate relationship (or an unexpired break-glass grant)."""
    access = person_access(sessions, user, person.person_id, person.practice_code)
    return Verdict(access.allowed, access, access.basis)


@dataclass(frozen=True)
class OpenedPerson(Generic[T]):
    """A person the user may see, whose view (if the route shows one) is already audited."""

    person: PersonIdentity
    access: T
    basis: str | None
    user: Principal
    sessions: sessionmaker[Session]

    @property
    def person_id(self) -> int:
        return self.person.person_id

    def record_view(self, what: str, detail: dict[str, Any] | None = None) -> None:
        """Audit a further view in the same request (e.g. a write's form shown again)."""
        record_view(self.sessions, self.user, person_id=self.person_id, what=what, detail=detail)


class GateAnswer(Exception):
    """The gate's own answer (not found, refused), returned as it is by the app."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Answers(Protocol):
    def not_found(self, request: Request) -> Response: ...

    def refused(
        self, request: Request, user: Principal, person_id: int, verdict: Verdict[Any], subject: str
    ) -> Response: ...


class PageAnswers:
    """The HTML pages: one not-found page and one refusal page."""

    def not_found(self, request: Request) -> Response:
        return templates.TemplateResponse(
            request, "people/not_found.html", {"message": NOT_FOUND}, status_code=404,
            headers=NO_STORE,
        )  # fmt: skip

    def refused(
        self, request: Request, user: Principal, person_id: int, verdict: Verdict[Any], subject: str
    ) -> Response:
        return templates.TemplateResponse(
            request,
            "people/refused.html",
            {
                "refusal": verdict.refusal,
                "basis": verdict.basis,
                "consent_decision": verdict.consent_decision,
                "person_id": person_id,
                "subject": subject,
                "can_break_glass": user.can("record.break_glass"),
                "break_glass_url": f"/people/{person_id}/break-glass",
            },
            status_code=403,
            headers=NO_STORE,
        )


class FhirAnswers:
    """The FHIR API: OperationOutcome resources."""

    def not_found(self, request: Request) -> Response:
        return operation_outcome(404, "not-found", NOT_FOUND)

    def refused(
        self, request: Request, user: Principal, person_id: int, verdict: Verdict[Any], subject: str
    ) -> Response:
        return operation_outcome(403, "forbidden", NO_RELATIONSHIP)


def operation_outcome(status_code: int, code: str, text: str) -> Response:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(json.dumps(outcome), status_code, media_type=FHIR_JSON, headers=NO_STORE)


PAGE_ANSWERS = PageAnswers()
FHIR_ANSWERS = FhirAnswers()


def mark_identifiable(request: Request) -> None:
    """Every answer to this request concerns a named person: never cached."""
    setattr(request.state, IDENTIFIABLE, True)


def person_not_found(request: Request, answers: Answers = PAGE_ANSWERS) -> GateAnswer:
    """The one not-found answer, to raise (for a person named in a form rather than the path)."""
    mark_identifiable(request)
    return GateAnswer(answers.not_found(request))


def find_person_or_answer(
    request: Request, store: PopulationStore, person_id: int, answers: Answers = PAGE_ANSWERS
) -> PersonIdentity:
    """The person, or the one not-found answer (for person routes with no relationship to
    check, such as the break-glass request itself)."""
    mark_identifiable(request)
    person = find_person(store, person_id)
    if person is None:
        raise person_not_found(request, answers)
    return person


def person_gate(
    what: str | None,
    *,
    permissions: Iterable[str] = ("record.view",),
    rule: AccessRule = relationship_rule,
    answers: Answers = PAGE_ANSWERS,
    audit_query: Iterable[str] = (),
    subject: str = "record",
) -> Callable[..., OpenedPerson[Any]]:
    """The dependency for a route with ``{person_id}`` in its path (module doc).

    `what` names the view in the audit trail (``view.<what>``; None: the route writes and does
    not show the person). `permissions`: the route's `require` (any one will do). `rule`: who
    may see the person. `audit_query`: query parameters recorded with the view (e.g. the plan
    version asked for). `subject`: what the refusal page says cannot be seen ("care plan").
    """
    guard = require(*permissions)
    asked = tuple(audit_query)

    def gate(
        request: Request,
        person_id: int,
        # Defaults, not Annotated: `guard` is this call's own `require`, not a module name.
        user: Principal = Depends(guard),
        store: PopulationStore = Depends(population_store_dependency),
        sessions: sessionmaker[Session] = Depends(sessions_dependency),
    ) -> OpenedPerson[Any]:
        person = find_person_or_answer(request, store, person_id, answers)
        verdict = rule(request, sessions, user, person)
        if not verdict.allowed:
            raise GateAnswer(answers.refused(request, user, person_id, verdict, subject))
        opened = OpenedPerson(person, verdict.access, verdict.basis, user, sessions)
        setattr(request.state, OPENED, opened)  # the layout's patient banner shows this person
        if what is not None:
            opened.record_view(what, _audit_detail(request, verdict, asked))
        return opened

    return gate


def _audit_detail(
    request: Request, verdict: Verdict[Any], asked: tuple[str, ...]
) -> dict[str, Any]:
    detail: dict[str, Any] = {"basis": verdict.basis}
    detail.update({k: _number(v) for k, v in request.path_params.items() if k != "person_id"})
    detail.update({k: _number(request.query_params.get(k)) for k in asked})
    return detail


def _number(value: Any) -> Any:
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() else (value or None)
