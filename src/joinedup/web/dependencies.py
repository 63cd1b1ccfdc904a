"""What routes ask FastAPI for, named once: the app's settings, its stores and the signed-in
principal with the permission a route needs.

Every route module takes its parameters from these aliases rather than writing its own
``Annotated[…, Depends(…)]``::

    @router.get("/care-coordination/worklist")
    def worklist_page(request: Request, user: Viewer, sessions: Sessions) -> Response: ...

A principal alias is `joinedup.web.security.require` with the permission(s) from roles.yaml
that allow the route (any one will do). Identifiable person routes take the person gate
instead (`joinedup.web.person_gate`), which requires the permission itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session, sessionmaker

from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web.app_state import (
    population_store_dependency,
    sessions_dependency,
    settings_dependency,
)
from joinedup.web.security import require

# --- the stores and settings --------------------------------------------------------------------

AppSettings = Annotated[Settings, Depends(settings_dependency)]
Store = Annotated[PopulationStore, Depends(population_store_dependency)]
Sessions = Annotated[sessionmaker[Session], Depends(sessions_dependency)]

# --- the signed-in principal, by the permission the route needs ---------------------------------

#: Any signed-in user of the service.
ServiceUser = Annotated[Principal, Depends(require("service.use"))]
#: Named people's records (direct care).
Viewer = Annotated[Principal, Depends(require("record.view"))]
#: Care records: register, named professionals, plans, MDT, actions.
Writer = Annotated[Principal, Depends(require("care.write"))]
#: Leads: the team worklist of their practices' people.
TeamLead = Annotated[Principal, Depends(require("worklist.team"))]
ConsentRecorder = Annotated[Principal, Depends(require("consent.record"))]
BreakGlassUser = Annotated[Principal, Depends(require("record.break_glass"))]
Reidentifier = Annotated[Principal, Depends(require("pseudonym.reidentify"))]
#: Case-finding lists, named or pseudonymised.
CaseFindingViewer = Annotated[
    Principal,
    Depends(require("case_finding.view_identifiable", "case_finding.view_pseudonymised")),
]
#: Suppressed aggregates, objectors left out.
AggregateViewer = Annotated[Principal, Depends(require("population.view_aggregates"))]
AggregateExporter = Annotated[Principal, Depends(require("aggregates.export"))]
DeliverySubmitter = Annotated[Principal, Depends(require("delivery.submit"))]
AppointmentBooker = Annotated[Principal, Depends(require("appointments.book"))]
#: For a router of pages: the user must also hold service.use (system clients such as NHS 111
#: hold appointments.book for the API only and never use the pages).
PAGES_ONLY_FOR_SERVICE_USERS = Depends(require("service.use"))
#: The extended-access area: bookers, and those who see the hubs' compliance in aggregate.
AccessUser = Annotated[
    Principal, Depends(require("appointments.book", "population.view_aggregates"))
]
#: The virtual ward: board, alert queue, readings, admission and discharge.
WardUser = Annotated[Principal, Depends(require("ward.use"))]
#: Device readings into the virtual ward through the FHIR API: those who run a ward, and device
#: platforms' system accounts.
ReadingSender = Annotated[Principal, Depends(require("ward.use", "ward.readings.send"))]
#: The neighbourhood caseload read only (ward.use roles and social workers).
CaseloadViewer = Annotated[Principal, Depends(require("caseload.view"))]
#: Care navigation at first contact: recording signposting, and seeing it counted.
NavigationRecorder = Annotated[Principal, Depends(require("navigation.record"))]
NavigationViewer = Annotated[
    Principal, Depends(require("navigation.record", "population.view_aggregates"))
]
Auditor = Annotated[Principal, Depends(require("audit.view"))]
BreakGlassReviewer = Annotated[Principal, Depends(require("break_glass.review"))]
GovernanceUser = Annotated[
    Principal, Depends(require("audit.view", "break_glass.review", "users.manage"))
]
