"""Access decisions for the directory's pages: the asset map, a service and the gaps are for
every signed-in user (the directory itself is public); the asset map from a person's home is a
person page; care navigation is recorded by front-desk and link-worker roles, and its
suppressed report is also seen by those who see aggregates."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, ALL, RECORD

NAVIGATORS = frozenset({"care_navigator", "receptionist", "link_worker"})

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/directory"): ALL,
    ("GET", "/directory/gaps"): ALL,
    ("GET", "/directory/services/{service_id}"): ALL,
    ("GET", "/people/{person_id}/asset-map"): RECORD,
    ("GET", "/directory/navigation"): NAVIGATORS | AGGREGATES,
    ("GET", "/directory/navigation/record"): NAVIGATORS,
    ("POST", "/directory/navigation/record"): NAVIGATORS,
}
