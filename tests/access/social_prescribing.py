"""Access decisions for social prescribing: the caseload and its steps are the link worker's
(``social_prescribing.use``); anyone who changes care records may open a person's page and
refer (then the person gate applies the legitimate relationship); the reports are aggregates,
for those who see aggregates and for link workers."""

from __future__ import annotations

from tests.access.sets import AGGREGATES

LINK_WORKER = frozenset({"link_worker"})
REFERRERS = frozenset({"gp", "nurse", "care_coordinator", "social_worker", "link_worker"})
PERSON = "/social-prescribing/people/{person_id}"

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/social-prescribing"): LINK_WORKER,
    ("GET", "/social-prescribing/reports"): AGGREGATES | LINK_WORKER,
    ("GET", PERSON): REFERRERS,
    ("POST", PERSON + "/referral"): REFERRERS,
    ("POST", PERSON + "/first-contact"): LINK_WORKER,
    ("POST", PERSON + "/plan"): LINK_WORKER,
    ("POST", PERSON + "/onward"): LINK_WORKER,
    ("POST", PERSON + "/onward/{onward_id}/outcome"): LINK_WORKER,
    ("POST", PERSON + "/measures"): LINK_WORKER,
    ("POST", PERSON + "/follow-up"): LINK_WORKER,
    ("POST", PERSON + "/discharge"): LINK_WORKER,
}
