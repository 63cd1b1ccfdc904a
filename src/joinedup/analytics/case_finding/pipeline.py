"""A list as one engine-neutral Ibis expression: the registered population at the index date
joined to the people its rule finds, with the person's practice and neighbourhood."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from joinedup.analytics.case_finding.definitions import (
    PERSON_COLUMNS,
    ListUnavailableError,
    get_definition,
)
from joinedup.analytics.case_finding.rules import PIPELINES, REGISTER
from joinedup.analytics.stratify import PERSON_RESULTS, StratificationRun
from joinedup.population.reads import registered_population

#: The population-store tables the pipelines read.
TABLES = ("patients", "registrations", "organisations", "clinical_events", "medications")


GP_TABLES = ("gp_appointments",)


def population(tables: Mapping[str, ibis.Table], index_date: dt.date) -> ibis.Table:
    """Registered people at the index date with their NHS number, practice and neighbourhood."""
    patients = tables["patients"]
    people = registered_population(tables["registrations"], patients, index_date)
    people = people.join(patients.select("person_id", "nhs_number"), "person_id")
    orgs = tables["organisations"]
    practices = orgs.filter(orgs.org_type == "practice").select(
        practice_code=orgs.org_code, practice_name=orgs.name, _parent=orgs.parent_code
    )
    hoods = orgs.filter(orgs.org_type == "neighbourhood").select(
        neighbourhood_code=orgs.org_code, neighbourhood_name=orgs.name
    )
    placed = practices.left_join(hoods, practices._parent == hoods.neighbourhood_code).select(
        "practice_code", "practice_name", "neighbourhood_code", "neighbourhood_name"
    )
    joined = people.left_join(placed, "practice_code")
    return joined.select(
        people.person_id.cast("int64").name("person_id"),
        people.nhs_number,
        people.practice_code,
        joined.practice_name,
        joined.neighbourhood_code,
        joined.neighbourhood_name,
        people.age.cast("int64").name("age"),
        people.sex,
    )


def case_finding_pipeline(
    list_id: str,
    tables: Mapping[str, ibis.Table],
    index_date: dt.date,
    *,
    on_register: Collection[int] = frozenset(),
) -> ibis.Table:
    """The Ibis expression of the list over population-store tables (and, for a list that
    reads a stratification run, `RUN_SCORES`): one row per person found, ROW_COLUMNS then the
    list's own `columns`. `on_register`: people on the coordinated care register, for lists
    that leave them out. Engine-neutral: `tables` may live on DuckDB or Spark."""
    definition = get_definition(list_id)
    if not definition.available:
        raise ListUnavailableError(
            f"{definition.title}: {definition.unavailable_reason or definition.status}"
        )
    params = definition.parameters
    people = population(tables, index_date)
    if "min_age" in params:
        people = people.filter(people.age >= int(params["min_age"]))
    register = ibis.memtable(pa.table({"person_id": pa.array(sorted(on_register), pa.int64())}))
    found = PIPELINES[list_id](
        {**tables, "_population": people, REGISTER: register}, index_date, params
    )
    joined = people.join(found, "person_id")
    own = [c.name for c in definition.columns if c.name in found.columns]
    return joined.select(
        *[joined[c] for c in PERSON_COLUMNS],
        evidence=joined.evidence,
        evidence_date=joined.evidence_date.cast("date"),
        **{c: joined[c] for c in own},
    )


def run_scores(run: StratificationRun) -> pa.Table:
    """The `RUN_SCORES` input from a stratification run's person results."""
    held = pq.read_schema(run.path / PERSON_RESULTS).names
    wanted = ["person_id", "risk"] + (["top_factors"] if "top_factors" in held else [])
    results = run.person_results(wanted)
    n = results.num_rows
    table = pa.table(
        {
            "person_id": results["person_id"].cast(pa.int64()),
            "risk": results["risk"].cast(pa.float64()),
            "run_id": pa.array([run.run_id] * n, pa.string()),
            "run_index_date": pa.array([run.index_date] * n, pa.date32()),
        }
    )
    if "top_factors" in wanted:
        words = pc.binary_join(results["top_factors"], "; ")
        table = table.append_column("top_factors", words.cast(pa.string()))
    return table
