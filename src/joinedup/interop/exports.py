"""Exports for `joinedup export …`: the same services and governance as the web downloads.

A CLI export is made *as* a named joinedup user (``--as USERNAME``): their role decides what they
get, exactly as on the web, and every export is an audit event naming the user "via cli".

* scores and segments: aggregate figures (``aggregates.export``), objectors left out and counts
  suppressed by the services the web CSVs use (`analytics.score_distributions`,
  `analytics.published_segments`);
* case-finding lists: named people in the user's own practices for direct care, else the whole
  area by pseudonym with objectors left out (`governance.audience`, with the register left out
  by `care.case_finding_audience`) and made k-anonymous (`governance.disclosure`: age bands,
  place generalised where a group is small, the residue withheld and counted);
* one person's record as FHIR: only with a legitimate relationship (`governance.relationships`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import UserError
from joinedup.governance.audit import COMMISSIONING, DIRECT_CARE, record_export
from joinedup.governance.roles import Principal
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

CLI = "cli"
FORMATS = ("csv", "parquet")


class ExportRefused(UserError, PermissionError):
    """The user's role or relationships do not allow this export."""


class ExportUnavailable(UserError, LookupError):
    """There is nothing to export yet (no run, unknown list or person)."""


@dataclass(frozen=True)
class Export:
    """An export ready to write: its bytes, a suggested file name and how many rows."""

    body: bytes
    filename: str
    rows: int
    withheld: int = 0  # pseudonymised people withheld by disclosure control (k-anonymity)


def cli_principal(sessions: sessionmaker[Session], username: str) -> Principal:
    """The joinedup user `username` as a principal (UserError if unknown or disabled)."""
    from joinedup.governance.users import get_user, organisations_of

    user = get_user(sessions, username)  # UserNotFound is a UserError
    if not user.active:
        raise ExportRefused(f"the user {user.username!r} is disabled")
    orgs = organisations_of(sessions, user.id)
    return Principal(user.id, user.username, user.display_name, user.role, orgs)


def _require(user: Principal, permission: str, what: str) -> None:
    if not user.can(permission):
        raise ExportRefused(f"{user.username} ({user.role_name}) may not export {what}")


def _table_bytes(csv_text: str, fmt: str) -> bytes:
    if fmt == "csv":
        return csv_text.encode("utf-8")
    if fmt != "parquet":
        raise UserError(f"unknown format {fmt!r}: use {' or '.join(FORMATS)}")
    options = pacsv.ConvertOptions(strings_can_be_null=True)
    table = pacsv.read_csv(io.BytesIO(csv_text.encode("utf-8")), convert_options=options)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _rows_csv(columns: tuple[str, ...] | list[str], rows: list[dict[str, Any]]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def export_scores(
    settings: Settings,
    sessions: sessionmaker[Session],
    user: Principal,
    *,
    score: str | None = None,
    level: str | None = None,
    fmt: str = "csv",
) -> Export:
    """Score distributions by area and group (objectors out, cells suppressed), audited."""
    from joinedup.analytics import score_distributions as sd
    from joinedup.governance.objections import active_objectors

    _require(user, "aggregates.export", "score distributions")
    try:
        result = sd.score_distributions(settings, active_objectors(sessions), score, level)
    except (KeyError, ValueError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    if result is None:
        raise ExportUnavailable("there are no scores yet: run `joinedup stratify` first")
    text = sd.distributions_csv(result)
    rows = text.count("\n") - 1
    record_export(
        sessions,
        user,
        what="population.scores",
        purpose="population health management",
        detail={"score": result.score.id, "run_id": result.run_id, "rows": rows, "format": fmt},
        channel=CLI,
    )
    name = f"scores_{result.score.id}_{result.index_date}.{fmt}"
    return Export(_table_bytes(text, fmt), name, rows)


def export_segments(
    settings: Settings, sessions: sessionmaker[Session], user: Principal, *, fmt: str = "csv"
) -> Export:
    """Segments and cost concentration of the latest run (objectors out, suppressed), audited."""
    from joinedup.analytics.published_segments import SEGMENTS_CSV_COLUMNS, published_segment_rows
    from joinedup.analytics.stratify import latest_run
    from joinedup.governance.objections import active_objectors

    _require(user, "aggregates.export", "segments")
    run = latest_run(settings)
    if run is None:
        raise ExportUnavailable("there is no stratification run yet: run `joinedup stratify`")
    rows = published_segment_rows(run, active_objectors(sessions), settings)
    record_export(
        sessions,
        user,
        what="population.segments",
        purpose=COMMISSIONING,
        detail={"run_id": run.run_id, "rows": len(rows), "format": fmt},
        channel=CLI,
    )
    text = _rows_csv(SEGMENTS_CSV_COLUMNS, rows)
    return Export(_table_bytes(text, fmt), f"segments-and-cost-{run.run_id}.{fmt}", len(rows))


def export_case_finding(
    store: PopulationStore,
    settings: Settings,
    sessions: sessionmaker[Session],
    user: Principal,
    list_id: str,
    *,
    practice: str | None = None,
    neighbourhood: str | None = None,
) -> Export:
    """A case-finding list as the user may see it (named for direct care in their practices,
    else pseudonymised for the whole area without objectors), audited."""
    from joinedup.analytics import case_finding as cf
    from joinedup.analytics.stratify import latest_run
    from joinedup.care.case_finding_audience import case_finding_audience
    from joinedup.governance.audience import may_see_people

    if not may_see_people(user):
        raise ExportRefused(f"{user.username} ({user.role_name}) may not export case-finding lists")
    try:
        definition = cf.get_definition(list_id)
    except cf.UnknownListError:
        known = ", ".join(d.id for d in cf.list_definitions())
        raise ExportUnavailable(
            f"there is no case-finding list {list_id!r}; lists: {known}"
        ) from None
    run = latest_run(settings)
    reason = cf.unavailable_reason(definition, run)
    if reason:
        raise ExportUnavailable(reason)
    audience = case_finding_audience(user, sessions, settings)
    try:
        result = audience.run_list(
            store, list_id, practice=practice, neighbourhood=neighbourhood, run=run
        )
    except cf.UnknownOrganisationError as exc:
        raise ExportUnavailable(str(exc)) from None
    except cf.OrganisationOutOfScopeError:
        raise ExportRefused(
            f"{user.username} can export named people only in the practices they work in"
        ) from None
    text, withheld = cf.published_csv(result, pseudonym_key=audience.pseudonym_key, k=audience.k)
    record_export(
        sessions,
        user,
        what="case_finding_list",
        purpose=audience.purpose,
        detail={
            "list": list_id,
            "practice": practice,
            "neighbourhood": neighbourhood,
            "rows": result.total,
            "withheld": withheld,  # by disclosure control: the export holds rows - withheld
            "identifiable": audience.identifiable,
        },
        channel=CLI,
    )
    kind = "" if audience.identifiable else "_pseudonymised"
    scope = practice or neighbourhood or ("practices" if audience.identifiable else "area")
    name = f"{list_id}_{scope}{kind}_{result.index_date.isoformat()}.csv"
    return Export(text.encode("utf-8"), name, result.total - withheld, withheld)


def export_person_fhir(
    store: PopulationStore,
    sessions: sessionmaker[Session],
    user: Principal,
    person_id: int,
    *,
    base_url: str = "urn:joinedup:",
) -> Export:
    """One person's record as a FHIR R4 searchset Bundle, only with a legitimate relationship;
    audited as an export of that person's record."""
    from joinedup.governance.relationships import person_access
    from joinedup.interop.person_fhir import person_bundle
    from joinedup.population.reads import find_person

    _require(user, "record.view", "a person's record")
    person = find_person(store, person_id)
    if person is None:
        raise ExportUnavailable(f"there is no person {person_id}")
    if not person_access(sessions, user, person_id, person.practice_code).allowed:
        raise ExportRefused(
            f"{user.username} has no legitimate relationship with person {person_id}: not "
            "registered where they work, and they are not on the person's care team"
        )
    bundle = person_bundle(store, sessions, person, base_url)
    record_export(
        sessions,
        user,
        what="fhir.everything",
        purpose=DIRECT_CARE,
        detail={"resources": len(bundle.entry or [])},
        channel=CLI,
        person_id=person_id,
    )
    body = bundle.model_dump_json(indent=2).encode("utf-8")
    return Export(body, f"person-{person_id}.fhir.json", len(bundle.entry or []))
