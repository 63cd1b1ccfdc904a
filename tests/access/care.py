"""Access decisions for coordinated care: register, named professional, caseloads, coverage,
worklists and the person page."""

from __future__ import annotations

from tests.access.sets import AGGREGATES, ALL, RECORD, TEAM_LEADS

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # The area home: everyone signed in (the receptionist lands here); what it shows depends on
    # the role (exact counts with record.view, suppressed with population.view_aggregates).
    ("GET", "/care-coordination"): ALL,
    ("GET", "/care-coordination/register"): RECORD,
    ("POST", "/care-coordination/register"): RECORD,  # care.write: the same roles
    ("POST", "/care-coordination/register/{entry_id}/move"): RECORD,
    ("GET", "/care-coordination/worklist"): RECORD,
    # Leads: the neighbourhood team's manager and the GP (clinical lead).
    ("GET", "/care-coordination/worklist/team"): TEAM_LEADS,
    ("GET", "/care-coordination/caseloads"): RECORD,
    ("GET", "/care-coordination/coverage"): AGGREGATES,
    ("GET", "/people/{person_id}"): RECORD,
    ("GET", "/people/{person_id}/named-professional"): RECORD,
    ("POST", "/people/{person_id}/named-professional"): RECORD,
}
