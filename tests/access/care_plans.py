"""Access decisions for holistic care plans.

Reading a plan needs ``record.view``; writing it and recording the person's agreement need
``care.write`` (agreement to a plan is part of the care record, not a data-sharing consent, so
``consent.record`` is not asked for). Both are then limited per person by the sharing rule
(`joinedup.care.care_plan.plan_access`): a legitimate relationship, and the person's consent
to share outside their own practice.
"""

from __future__ import annotations

from tests.access.sets import RECORD

#: The roles holding ``care.write`` (today the same as those with ``record.view``).
CARE_WRITE = RECORD

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/people/{person_id}/care-plan"): RECORD,
    ("GET", "/people/{person_id}/care-plan/versions"): RECORD,
    ("GET", "/people/{person_id}/care-plan/diff"): RECORD,
    ("GET", "/people/{person_id}/care-plan/print"): RECORD,
    ("GET", "/people/{person_id}/care-plan/edit"): CARE_WRITE,
    ("POST", "/people/{person_id}/care-plan/edit"): CARE_WRITE,
    ("POST", "/people/{person_id}/care-plan/agree"): CARE_WRITE,
}
