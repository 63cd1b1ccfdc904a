"""Named groups of roles the matrix fragments are written in."""

from __future__ import annotations

from joinedup.governance.roles import ROLE_IDS

#: Roles of system clients that call the API with a token and never use the pages.
SYSTEMS = frozenset({"nhs111", "ward_device"})
ALL = frozenset(ROLE_IDS) - SYSTEMS
AGGREGATES = frozenset(
    {"commissioner", "analyst", "manager", "gp", "nurse", "care_coordinator", "administrator"}
)
CASE_FINDING = frozenset({"commissioner", "analyst", "manager", "gp", "nurse", "care_coordinator"})
EXPORT = frozenset({"commissioner", "analyst", "manager"})
RECORD = frozenset({"gp", "nurse", "care_coordinator", "social_worker", "link_worker"})
BREAK_GLASS = frozenset({"gp", "nurse", "care_coordinator", "social_worker"})
CONSENT = RECORD
GP_ONLY = frozenset({"gp"})
#: Who leads a team: the team worklist (worklist.team).
TEAM_LEADS = frozenset({"manager", "gp"})
#: Who may book appointments: clinicians, receptionists and NHS 111 (a system client).
BOOKERS = frozenset({"gp", "nurse", "care_coordinator", "receptionist", "nhs111"})
GOVERNANCE = frozenset({"administrator"})
NOBODY: frozenset[str] = frozenset()
