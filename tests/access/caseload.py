"""Access decisions for the neighbourhood caseload and its day of visits: every page and write
needs ``ward.use`` (the clinical roles who run care at home: GP, nurse, care coordinator), but
the caseload list and a neighbourhood's caseload, which need ``caseload.view`` (those roles and
social workers, who see their own neighbourhood's only); person pages then apply the legitimate
relationship through the person gate."""

from __future__ import annotations

CARE_AT_HOME = frozenset({"gp", "nurse", "care_coordinator"})
#: ``caseload.view``: the caseload itself, read only for a social worker of the neighbourhood.
CASELOAD_VIEW = CARE_AT_HOME | {"social_worker"}

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/neighbourhood/caseload"): CASELOAD_VIEW,
    ("GET", "/neighbourhood/caseload/{code}"): CASELOAD_VIEW,
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
ROUTES.update(
    {
        ("GET", "/neighbourhood/caseload/{code}/team"): CARE_AT_HOME,
        ("POST", "/neighbourhood/caseload/{code}/team"): CARE_AT_HOME,
        ("GET", "/neighbourhood/caseload/{code}/team/{member_id}"): CARE_AT_HOME,
        ("POST", "/neighbourhood/caseload/{code}/team/{member_id}"): CARE_AT_HOME,
        ("POST", "/neighbourhood/caseload/{code}/team/{member_id}/remove"): CARE_AT_HOME,
        ("GET", "/neighbourhood/caseload/{code}/rota"): CARE_AT_HOME,
        ("POST", "/neighbourhood/caseload/{code}/rota"): CARE_AT_HOME,
        ("POST", "/neighbourhood/caseload/{code}/rota/remove"): CARE_AT_HOME,
    }
)
