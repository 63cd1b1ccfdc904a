"""Outcome-based capitated contracts: the contract as YAML (`definition`), who is in the cohort
and what care they had (`activity`), the shadow budget ledger and year-end statements
(`ledger`), the risk share and its what-if (`risk_share`), the evaluation report for a board
(`report`). ADR 0024."""
