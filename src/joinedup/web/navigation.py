"""The service's areas, in the order the header navigation shows them.

An area is in the header only once it is built: when the app has a route at its address or
under it (`built_areas`, worked out once when the app is made). An area not built yet has no
link and no page; building it means adding its router, and the header follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from joinedup.governance.roles import Role


@dataclass(frozen=True)
class Page:
    """A page inside an area, for the area's own sub-navigation."""

    title: str
    href: str
    #: The permission a user needs to be shown the link (the route checks it again).
    permission: str = "service.use"


@dataclass(frozen=True)
class Area:
    title: str
    href: str
    summary: str
    #: The area's pages, first the area's own; their paths count as inside the area.
    children: tuple[Page, ...] = ()
    #: The permission a user needs to be shown the area (its routes check their own).
    permission: str = "service.use"

    def is_current(self, path: str) -> bool:
        """Whether `path` is inside the area: its address, one of its pages, or under it."""
        if any(path == child.href for child in self.children):
            return True
        if self.href == "/":
            return path == "/"
        return path == self.href or path.startswith(self.href + "/")


AREAS: tuple[Area, ...] = (
    Area(
        "Population",
        "/",
        "Who is registered with the area's practices, by practice, neighbourhood, age, sex "
        "and deprivation.",
        children=(
            Page("Overview", "/"),
            Page("Segments and cost", "/population/segments"),
            Page("Scores by practice", "/population/scores"),
            Page("Inequalities", "/population/inequalities"),
            Page("Risk model card", "/population/model-card"),
        ),
        permission="population.view_aggregates",
    ),
    Area(
        "Case finding",
        "/case-finding",
        "Lists of people who may benefit from a review, a diagnosis or proactive, coordinated "
        "care, each with the rule that builds it.",
        permission="case_finding.view_identifiable case_finding.view_pseudonymised",
    ),
    Area(
        "Care coordination",
        "/care-coordination",
        "The coordinated care register, named professionals, holistic care plans, "
        "multidisciplinary team decisions and the actions that follow them.",
        children=(
            Page("Overview", "/care-coordination"),
            Page("My worklist", "/care-coordination/worklist", "record.view"),
            Page("Team worklist", "/care-coordination/worklist/team", "worklist.team"),
            Page("Register", "/care-coordination/register", "record.view"),
            Page("Caseloads", "/care-coordination/caseloads", "record.view"),
            Page("Coverage", "/care-coordination/coverage", "population.view_aggregates"),
            Page("MDT meetings", "/care-coordination/mdt", "record.view"),
        ),
        # Shown to those who may see a page in it beyond the overview, whose register counts
        # a receptionist or care navigator may not see.
        permission="record.view worklist.team population.view_aggregates",
    ),
    Area(
        "Neighbourhood",
        "/neighbourhood",
        "The virtual ward with NEWS2 and escalation, caseloads and a day's home-visit route.",
        permission="ward.use",
    ),
    Area(
        "Social prescribing",
        "/social-prescribing",
        "The link worker's caseload: referrals, what matters, plans, onward referrals to "
        "community services, wellbeing outcomes and their reports.",
        children=(
            Page("Caseload", "/social-prescribing", "social_prescribing.use"),
            Page(
                "Reports",
                "/social-prescribing/reports",
                "population.view_aggregates social_prescribing.use",
            ),
        ),
        permission="social_prescribing.use",
    ),
    Area(
        "Access",
        "/access",
        "Extended-access hubs: rotas, appointment slots and booking for any patient of the "
        "federation.",
        children=(
            Page("Hubs", "/access", "appointments.book population.view_aggregates"),
            Page("Find a patient", "/access/patients", "appointments.book"),
            Page("Compliance", "/access/compliance", "population.view_aggregates"),
        ),
        permission="appointments.book population.view_aggregates",
    ),
    Area(
        "Directory",
        "/directory",
        "Community services and social prescribing referrals and their outcomes.",
        children=(
            Page("Asset map", "/directory"),
            Page("Gaps", "/directory/gaps"),
            Page(
                "Care navigation",
                "/directory/navigation",
                "navigation.record population.view_aggregates",
            ),
        ),
    ),
    Area(
        "Commissioning",
        "/commissioning",
        "Delivery of the local primary care specification, fair comparison of practices, "
        "outcome-based contracts and shadow budgets.",
        children=(
            Page("Commissioning", "/commissioning", "population.view_aggregates"),
            Page("Delivery plan", "/commissioning/delivery", "population.view_aggregates"),
            Page("Practice variation", "/commissioning/practices", "population.view_aggregates"),
            Page(
                "Published practice data", "/commissioning/published", "population.view_aggregates"
            ),
            Page("Workforce", "/commissioning/workforce", "population.view_aggregates"),
            Page("Contracts", "/commissioning/contracts", "population.view_aggregates"),
        ),
        permission="population.view_aggregates",
    ),
    Area(
        "Data dictionary",
        "/data-dictionary",
        "Every table of the population store, its columns and their rules.",
        permission="data.view_dictionary",
    ),
    Area(
        "Governance",
        "/governance",
        "Who looked at whose record, break-glass access to review, and user accounts.",
        children=(
            Page("Audit trail", "/governance/audit", "audit.view"),
            Page("Break-glass reviews", "/governance/break-glass", "break_glass.review"),
        ),
        permission="audit.view break_glass.review users.manage",
    ),
)


def built_areas(paths: Iterable[str]) -> tuple[Area, ...]:
    """The areas some route path is inside (`Area.is_current`), in header order."""
    served = set(paths)
    return tuple(area for area in AREAS if any(area.is_current(p) for p in served))


def route_paths(routes: Iterable[Any], prefix: str = "") -> Iterator[str]:
    """The full path of every route, looking inside included routers (FastAPI keeps an
    included router whole, behind a wrapper with `original_router` and its include prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from route_paths(included.routes, prefix + route.include_context.prefix)
        elif getattr(route, "path", None) is not None:
            yield prefix + route.path


def visible_areas(can: Callable[[str], bool], areas: Sequence[Area]) -> list[Area]:
    """The built `areas` (and within them the pages) a user may be shown; `permission`
    strings with several names separated by spaces need any one of them."""

    def allowed(permission: str) -> bool:
        return any(can(p) for p in permission.split())

    if not can("service.use"):  # system clients (NHS 111) call the API and use no pages
        return []
    return [
        replace(area, children=tuple(c for c in area.children if allowed(c.permission)))
        for area in areas
        if allowed(area.permission)
    ]


def landing_href(role: Role, areas: Sequence[Area]) -> str:
    """Where signing in takes `role`: its landing page (roles.yaml) if it has one, else the
    first built area it may open (the overview for most)."""
    if role.landing is not None:
        return role.landing
    shown = visible_areas(role.permissions.__contains__, areas)
    return shown[0].href if shown else "/account/password"


def area_titled(title: str) -> Area:
    return next(area for area in AREAS if area.title == title)


def current_area(path: str, areas: Sequence[Area] = AREAS) -> Area | None:
    return next((area for area in areas if area.is_current(path)), None)
