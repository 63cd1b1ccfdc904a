"""Practice variation on the area's own population store (issue 7).

* `indicators`: the indicators and their domains;
* `standardisation`: indirect standardisation for age, sex and deprivation;
* `people`: one row per registered person at a year end, what the indicators count;
* `matrix`: every practice on every indicator with funnel limits, peer groups, trends and the
  people behind a count.

Continuity of care is `joinedup.analytics.continuity`; funnel limits are
`joinedup.analytics.funnel`.
"""
