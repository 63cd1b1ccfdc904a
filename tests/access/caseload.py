"""Access decisions for the neighbourhood caseload and its day of visits: every page and write
needs ``ward.use`` (the clinical roles who run care at home: GP, nurse, care coordinator);
person pages then apply the legitimate relationship through the person gate."""

from __future__ import annotations

CARE_AT_HOME = frozenset({"gp", "nurse", "care_coordinator"})

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/neighbourhood/caseload"): CARE_AT_HOME,
    ("GET", "/neighbourhood/caseload/{code}"): CARE_AT_HOME,
    ("GET", "/neighbourhood/caseload/{code}/visits"): CARE_AT_HOME,
    ("POST", "/neighbourhood/caseload/{code}/visits/plan"): CARE_AT_HOME,
    ("POST", "/neighbourhood/caseload/{code}/visits/adopt"): CARE_AT_HOME,
    ("POST", "/neighbourhood/caseload/{code}/visits/nurse-off"): CARE_AT_HOME,
    ("GET", "/neighbourhood/caseload/{code}/visits/nurses/{member_id}"): CARE_AT_HOME,
    ("POST", "/neighbourhood/caseload/{code}/visits/outcome"): CARE_AT_HOME,
    ("GET", "/neighbourhood/caseload/{code}/capacity"): CARE_AT_HOME,
    ("GET", "/neighbourhood/people/{person_id}/caseload"): CARE_AT_HOME,
    ("POST", "/neighbourhood/people/{person_id}/caseload"): CARE_AT_HOME,
    ("POST", "/neighbourhood/people/{person_id}/caseload/discharge"): CARE_AT_HOME,
}
ROUTES[("GET", "/neighbourhood/caseload/{code}/find")] = CARE_AT_HOME
ROUTES[("POST", "/neighbourhood/caseload/{code}/visits/urgent")] = CARE_AT_HOME
