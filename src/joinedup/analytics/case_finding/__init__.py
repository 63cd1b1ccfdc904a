"""Case-finding lists: worklists for practices and neighbourhoods, each with its rules shown.

The lists are declared as data in `case_finding_lists.yaml` (title, who it is for, the rule in
plain words, evidence base, codelists with versions, windows, exclusions and the numbers the
rule uses). Each available list compiles into one engine-neutral Ibis pipeline over the
population-store tables as of an index date (default: the store's extract date) and returns one
row per person found, with the evidence that put them on the list:

    >>> result = run_list(store, "raised-bp-no-hypertension")          # doctest: +SKIP
    >>> result.rows.to_pylist()[0]["evidence"]                         # doctest: +SKIP
    'BP 152/94 on 2025-11-02 and 148/92 on 2026-01-15 (2 raised days)'

Windows: "the last N days" is ``index − N days < date ≤ index``; "ever" is ``date ≤ index``.
Everyone listed is registered and alive at the index date (`registered_population`).

A list whose inputs do not exist yet is declared with a ``status`` and reported as
unavailable, with the reason: it is never computed from something else.

One list reads a stratification run rather than the store alone: the top 2% and 5% by
emergency-admission risk (``run_columns: [risk]`` in the YAML). `run_list` is given the run
(`joinedup.analytics.stratify.latest_run`); its person results reach the pipeline as one more
Ibis table, `RUN_SCORES`, beside the store's tables, so the list goes through the same
machinery as every other. With no run, or a run made with no risk model, the list reports
itself unavailable (`unavailable_reason`). People already on the coordinated care register
are left off it through the `on_register` seam: the page passes the register's open entries
when it is viewed, and they are taken off after the ranking, so the tiers stay the area's.
"""

from __future__ import annotations

from joinedup.analytics.case_finding.definitions import (
    AVAILABLE,
    LISTS_FILE,
    PERSON_COLUMNS,
    PSEUDONYMISED_COLUMNS,
    ROW_COLUMNS,
    CaseFindingError,
    Citation,
    CodelistUse,
    ListColumn,
    ListDefinition,
    ListUnavailableError,
    OrganisationOutOfScopeError,
    UnknownListError,
    UnknownOrganisationError,
    get_definition,
    list_definitions,
    unavailable_reason,
)
from joinedup.analytics.case_finding.pipeline import (
    GP_TABLES,
    TABLES,
    case_finding_pipeline,
    population,
    run_scores,
)
from joinedup.analytics.case_finding.publish import (
    LIST_QUASI_IDENTIFIERS,
    csv_text,
    disclosed_rows,
    export_csv,
    page_rows,
    pseudonymised_rows,
    published_csv,
)
from joinedup.analytics.case_finding.rules import (
    PIPELINES,
    REGISTER,
    RUN_SCORES,
    Pipeline,
)
from joinedup.analytics.case_finding.run import (
    CaseFindingResult,
    GroupCount,
    extract_date,
    list_counts,
    run_list,
)
from joinedup.population.nhs_numbers import format_nhs_number

__all__ = [
    "AVAILABLE",
    "GP_TABLES",
    "LISTS_FILE",
    "LIST_QUASI_IDENTIFIERS",
    "PERSON_COLUMNS",
    "PIPELINES",
    "PSEUDONYMISED_COLUMNS",
    "REGISTER",
    "ROW_COLUMNS",
    "RUN_SCORES",
    "TABLES",
    "CaseFindingError",
    "CaseFindingResult",
    "Citation",
    "CodelistUse",
    "GroupCount",
    "ListColumn",
    "ListDefinition",
    "ListUnavailableError",
    "OrganisationOutOfScopeError",
    "Pipeline",
    "UnknownListError",
    "UnknownOrganisationError",
    "case_finding_pipeline",
    "csv_text",
    "disclosed_rows",
    "export_csv",
    "extract_date",
    "format_nhs_number",
    "get_definition",
    "list_counts",
    "list_definitions",
    "page_rows",
    "population",
    "pseudonymised_rows",
    "published_csv",
    "run_list",
    "run_scores",
    "unavailable_reason",
]
