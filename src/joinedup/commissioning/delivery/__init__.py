"""The delivery-plan tracker: how far each area has got in delivering the specification.

Areas record, per element of the specification (`joinedup.commissioning.specification`) and
per quarter, the planned and actual % of their population covered, with notes. Every
submission is a new version (nothing is overwritten; the highest version stands) written in a
`unit_of_work` with its audit event.

Where joinedup holds the data the actual % is **measured, not typed** (`MEASURE_RULES`): the
coordinated-care elements from `joinedup.care.measures.coordinated_care_measures` and
continuity (A7: patients with high continuity, UPC 0.75 or more, of those with 3 or more GP
consultations) from `joinedup.analytics.continuity.practice_continuity`. Measured actuals
exist for areas that are neighbourhoods of the organisations table; for such an area the
tracker refuses a typed actual for a measured element.

Rules (shown on the pages, `RAG_RULE` and `FLAG_RULE`):

* RAG for an area, element and quarter — *not reported* without an actual; *red* when a
  milestone that has fallen due by the quarter is missed, or the actual is below the plan for
  the quarter by the specification's ``amber_within_points`` or more; *amber* when below the
  plan by less; *green* when at or above the plan (or, with no plan, at or above every
  milestone due); *no plan* when there is nothing to judge it against.
* Late plan flag — for each milestone, the first quarter whose planned % reaches it; flagged
  when that is later than the milestone's quarter, or the plan never reaches it.
* Aggregate across areas — the population-weighted mean of the areas' percentages, over the
  areas that reported (their share of the population is shown beside it); an area whose
  figure was withheld as a small number counts as reporting but is not in the mean.

The demo's local plan and past returns are synthetic (`demo`, ADR 0031).
"""

from __future__ import annotations

from joinedup.commissioning.delivery.areas import (
    Area,
    delivery_areas,
    neighbourhood_populations,
)
from joinedup.commissioning.delivery.csv_files import (
    CSV_COLUMNS,
    EXPORT_COLUMNS,
    FIRST_DATA_LINE,
    ImportReport,
    Rejection,
    export_csv,
    import_submissions,
    read_csv,
)
from joinedup.commissioning.delivery.judging import (
    AGGREGATE_RULE,
    FLAG_RULE,
    RAG_LABELS,
    RAG_RULE,
    MilestoneFlag,
    Rag,
    RagStatus,
    Weighted,
    milestone_flags,
    rag_status,
    weighted_mean,
)
from joinedup.commissioning.delivery.measures import (
    DEFAULT_PARAMETERS,
    MEASURE_RULES,
    Measurement,
    MeasureRule,
    MeasuresProvider,
    StoreMeasures,
    measure,
)
from joinedup.commissioning.delivery.submissions import (
    PURPOSE,
    SubmissionRecord,
    blank_percent,
    record_quarter,
    submissions,
)
from joinedup.commissioning.delivery.tracker import (
    AggregateCell,
    Cell,
    Tracker,
    Trajectory,
    record_measured_snapshot,
    tracker_for,
)
from joinedup.commissioning.delivery.validate import (
    MAX_NOTES,
    SubmissionError,
    SubmissionInput,
    check_submission,
)

__all__ = [
    "AGGREGATE_RULE",
    "CSV_COLUMNS",
    "DEFAULT_PARAMETERS",
    "EXPORT_COLUMNS",
    "FIRST_DATA_LINE",
    "FLAG_RULE",
    "MAX_NOTES",
    "MEASURE_RULES",
    "PURPOSE",
    "RAG_LABELS",
    "RAG_RULE",
    "AggregateCell",
    "Area",
    "Cell",
    "ImportReport",
    "MeasureRule",
    "Measurement",
    "MeasuresProvider",
    "MilestoneFlag",
    "Rag",
    "RagStatus",
    "Rejection",
    "StoreMeasures",
    "SubmissionError",
    "SubmissionInput",
    "SubmissionRecord",
    "Tracker",
    "Trajectory",
    "Weighted",
    "blank_percent",
    "check_submission",
    "delivery_areas",
    "export_csv",
    "import_submissions",
    "measure",
    "milestone_flags",
    "neighbourhood_populations",
    "rag_status",
    "read_csv",
    "record_measured_snapshot",
    "record_quarter",
    "submissions",
    "tracker_for",
    "weighted_mean",
]
