"""Access decisions for the population, case-finding, record, governance and account routes."""

from __future__ import annotations

from tests.access.sets import (
    AGGREGATES,
    ALL,
    BREAK_GLASS,
    CASE_FINDING,
    CONSENT,
    EXPORT,
    GOVERNANCE,
    GP_ONLY,
    RECORD,
)

#: Routes anyone may reach without signing in.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    # The community-services directory in Open Referral UK: public, as the standard intends.
    ("GET", "/api/oruk/"),
    ("GET", "/api/oruk/services"),
    ("GET", "/api/oruk/services/{service_id}"),
    ("GET", "/api/oruk/service_at_locations"),
    ("GET", "/api/oruk/taxonomies"),
    ("GET", "/api/oruk/taxonomies/{taxonomy_id}"),
    ("GET", "/api/oruk/taxonomy_terms"),
    ("GET", "/api/oruk/taxonomy_terms/{term_id}"),
}

#: (method, path) → the roles allowed. Everyone else must be refused.
ROUTES: dict[tuple[str, str], frozenset[str]] = {
    # the overview for AGGREGATES; every other user is sent on to their own landing page
    ("GET", "/"): ALL,
    ("GET", "/population/segments"): AGGREGATES,
    ("GET", "/population/model-card"): AGGREGATES,
    ("GET", "/population/scores"): AGGREGATES,
    ("GET", "/population/overview.csv"): EXPORT,
    ("GET", "/population/segments.csv"): EXPORT,
    ("GET", "/population/scores.csv"): EXPORT,
    ("GET", "/api/population/overview"): AGGREGATES,
    ("GET", "/data-dictionary"): ALL,
    ("GET", "/data-dictionary/{table}"): ALL,
    ("GET", "/api/contracts"): ALL,
    ("GET", "/api/contracts/{table}"): ALL,
    ("GET", "/api/docs"): ALL,
    ("GET", "/case-finding"): CASE_FINDING,
    ("GET", "/case-finding/{list_id}"): CASE_FINDING,
    ("GET", "/case-finding/{list_id}.csv"): CASE_FINDING,
    ("GET", "/people/search"): RECORD,
    ("GET", "/people/{person_id}/scores"): RECORD,
    ("GET", "/people/{person_id}/break-glass"): BREAK_GLASS,
    ("POST", "/people/{person_id}/break-glass"): BREAK_GLASS,
    ("GET", "/people/{person_id}/consent"): CONSENT,
    ("POST", "/people/{person_id}/consent"): CONSENT,
    ("GET", "/pseudonyms/reidentify"): GP_ONLY,
    ("POST", "/pseudonyms/reidentify"): GP_ONLY,
    ("GET", "/governance"): GOVERNANCE,
    ("GET", "/governance/audit"): GOVERNANCE,
    ("GET", "/governance/break-glass"): GOVERNANCE,
    ("POST", "/governance/break-glass/{grant_id}/review"): GOVERNANCE,
    ("GET", "/governance/users/new"): GOVERNANCE,
    ("POST", "/governance/users"): GOVERNANCE,
    ("GET", "/governance/users/{username}"): GOVERNANCE,
    ("POST", "/governance/users/{username}/role"): GOVERNANCE,
    ("POST", "/governance/users/{username}/organisations"): GOVERNANCE,
    ("POST", "/governance/users/{username}/disable"): GOVERNANCE,
    ("POST", "/governance/users/{username}/enable"): GOVERNANCE,
    ("POST", "/governance/users/{username}/reset-password"): GOVERNANCE,
    ("POST", "/sign-out"): ALL,
    ("GET", "/account/password"): ALL,
    ("POST", "/account/password"): ALL,
}
