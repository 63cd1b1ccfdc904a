"""Social prescribing: referrals to a link worker, the link worker's caseload, outcome measures
and reports (issue 19; ADR 0022). Tables in `models`, writes in `referrals`, measures in
`measures`, reads for pages in `caseload`, aggregates in `reports`, demo data in `synthetic`."""
