"""Information governance: users, roles and permissions, legitimate relationships, consent and
objections, pseudonyms and small-number suppression, and the tamper-evident audit trail.

See docs/adr/0007-information-governance.md for the decisions behind it.
"""
