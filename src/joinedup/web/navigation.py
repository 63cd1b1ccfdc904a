"""The service's areas, in the order the header navigation shows them.

An area that is not built yet keeps its final address and shows an honest "not available yet"
page there; building it means adding its router and setting `available=True`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A page inside an area, for the area's own sub-navigation."""

    title: str
    href: str


@dataclass(frozen=True)
class Area:
    title: str
    href: str
    summary: str
    available: bool = False
    #: The area's pages, first the area's own; their paths count as inside the area.
    children: tuple[Page, ...] = ()

    def is_current(self, path: str) -> bool:
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
        available=True,
        children=(
            Page("Overview", "/"),
            Page("Segments and cost", "/population/segments"),
            Page("Risk model card", "/population/model-card"),
        ),
    ),
    Area(
        "Case finding",
        "/case-finding",
        "Lists of people who may benefit from a review, a diagnosis or proactive, coordinated "
        "care, each with the rule that builds it.",
        available=True,
    ),
    Area(
        "Care coordination",
        "/care-coordination",
        "The coordinated care register, named professionals, holistic care plans, "
        "multidisciplinary team decisions and the actions that follow them.",
    ),
    Area(
        "Neighbourhood",
        "/neighbourhood",
        "The virtual ward with NEWS2 and escalation, caseloads and a day's home-visit route.",
    ),
    Area(
        "Access",
        "/access",
        "Extended-access hubs: rotas, appointment slots and booking for any patient of the "
        "federation.",
    ),
    Area(
        "Directory",
        "/directory",
        "Community services and social prescribing referrals and their outcomes.",
    ),
    Area(
        "Commissioning",
        "/commissioning",
        "Delivery of the local primary care specification, fair comparison of practices, "
        "outcome-based contracts and shadow budgets.",
    ),
    Area(
        "Data dictionary",
        "/data-dictionary",
        "Every table of the population store, its columns and their rules.",
        available=True,
    ),
)


def area_titled(title: str) -> Area:
    return next(area for area in AREAS if area.title == title)


def current_area(path: str) -> Area | None:
    return next((area for area in AREAS if area.is_current(path)), None)
