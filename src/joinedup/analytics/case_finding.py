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
are left off it through the `on_register` seam (the register is not built yet: callers pass
an empty set, and the rule on the page says so).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from joinedup.analytics.engine import Engine, connect, put_table, read_store
from joinedup.analytics.scores import efi
from joinedup.analytics.scores.conditions import window_start
from joinedup.analytics.stratify import PERSON_RESULTS, RUN_FILE, StratificationRun
from joinedup.errors import UserError
from joinedup.governance.pseudonyms import pseudonyms
from joinedup.governance.suppression import suppress_count
from joinedup.population.nhs_numbers import format_nhs_number
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore, StoreError
from joinedup.terminology.codelists import codelist_table, load_codelist

LISTS_FILE = Path(__file__).resolve().parent / "case_finding_lists.yaml"
AVAILABLE = "available"

#: Columns every result's rows begin with, in order (also the identifiable CSV export's);
#: a list may add its own after them (`ListDefinition.columns`).
ROW_COLUMNS = (
    "person_id",
    "nhs_number",
    "practice_code",
    "practice_name",
    "neighbourhood_code",
    "neighbourhood_name",
    "age",
    "sex",
    "evidence",
    "evidence_date",
)
#: Who a row is about (from the registered population), before the list's own columns.
PERSON_COLUMNS = ROW_COLUMNS[:8]

#: Columns of a pseudonymised row and CSV: a keyed-hash pseudonym in place of the person, and
#: no NHS number or date of birth (`joinedup.governance.pseudonyms`).
PSEUDONYMISED_COLUMNS = (
    "pseudonym",
    *(c for c in ROW_COLUMNS if c not in ("person_id", "nhs_number")),
)


class CaseFindingError(UserError):
    """A case-finding list cannot be run as asked."""


class UnknownListError(CaseFindingError, KeyError):
    """No case-finding list has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ListUnavailableError(CaseFindingError):
    """The list is declared but cannot be computed yet (its inputs do not exist)."""


class UnknownOrganisationError(CaseFindingError, LookupError):
    """A practice or neighbourhood filter names an organisation the area does not have."""


class OrganisationOutOfScopeError(CaseFindingError, PermissionError):
    """A practice or neighbourhood filter names an organisation outside the practices the
    list is restricted to (for identifiable lists: those the user works in)."""


# --- definitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class CodelistUse:
    """A codelist a list uses, at the version its rule was written against."""

    id: str
    version: int
    role: str
    name: str
    size: int


@dataclass(frozen=True)
class Citation:
    citation: str
    url: str | None = None


@dataclass(frozen=True)
class ListColumn:
    """A column a list adds after the evidence (its CSV column, and on the page when `page`).

    Declared in the YAML, so it is also the allow-list of what a pseudonymised row may carry
    beyond PSEUDONYMISED_COLUMNS."""

    name: str
    label: str
    page: bool = True
    suffix: str = ""  # shown after the value on the page ("%")


@dataclass(frozen=True)
class ListDefinition:
    """One case-finding list as declared in `case_finding_lists.yaml`."""

    id: str
    title: str
    audience: str
    rule: str
    numerator: str
    exclusions: tuple[str, ...]
    window: str
    evidence_shown: str
    evidence: tuple[Citation, ...]
    codelists: tuple[CodelistUse, ...]
    parameters: Mapping[str, Any]
    status: str = AVAILABLE
    unavailable_reason: str = ""
    notes: str = ""
    denominator: str = ""
    source: str = ""
    columns: tuple[ListColumn, ...] = ()
    run_columns: tuple[str, ...] = ()  # a stratification run's columns the list needs
    order_by: tuple[str, ...] = ("practice_name", "person_id")

    @property
    def available(self) -> bool:
        """Declared as computable (a list reading a run also needs one: `unavailable_reason`)."""
        return self.status == AVAILABLE


@functools.cache
def _definitions() -> dict[str, ListDefinition]:
    with LISTS_FILE.open(encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)["lists"]
    found: dict[str, ListDefinition] = {}
    for entry in entries:
        uses = []
        for use in entry.get("codelists") or ():
            codelist = load_codelist(use["id"])
            if codelist.version != int(use["version"]):
                raise CaseFindingError(
                    f"case-finding list {entry['id']!r} was written for codelist {use['id']!r} "
                    f"version {use['version']}, but the index holds version {codelist.version}: "
                    "review the rule, then update the version in case_finding_lists.yaml"
                )
            uses.append(
                CodelistUse(use["id"], codelist.version, use["role"], codelist.name, len(codelist))
            )
        definition = ListDefinition(
            id=entry["id"],
            title=entry["title"],
            audience=entry["audience"],
            rule=entry["rule"],
            numerator=entry["numerator"],
            exclusions=tuple(entry.get("exclusions") or ()),
            window=entry["window"],
            evidence_shown=entry["evidence_shown"],
            evidence=tuple(Citation(e["citation"], e.get("url")) for e in entry["evidence"]),
            codelists=tuple(uses),
            parameters=dict(entry.get("parameters") or {}),
            status=entry.get("status", AVAILABLE),
            unavailable_reason=entry.get("unavailable_reason", ""),
            notes=entry.get("notes", ""),
            denominator=entry.get("denominator", ""),
            source=entry.get("source", ""),
            columns=tuple(ListColumn(**c) for c in entry.get("columns") or ()),
            run_columns=tuple(entry.get("run_columns") or ()),
            order_by=tuple(entry.get("order_by") or ListDefinition.order_by),
        )
        clash = {c.name for c in definition.columns} & {*ROW_COLUMNS, "pseudonym"}
        if clash:
            raise CaseFindingError(
                f"case-finding list {definition.id!r} declares columns it may not add: "
                + ", ".join(sorted(clash))
            )
        if definition.available and definition.id not in PIPELINES:
            raise CaseFindingError(f"case-finding list {definition.id!r} has no pipeline")
        found[definition.id] = definition
    return found


def list_definitions() -> list[ListDefinition]:
    """Every declared case-finding list, available or not, in the file's order."""
    return list(_definitions().values())


def unavailable_reason(definition: ListDefinition, run: StratificationRun | None) -> str:
    """Why the list cannot be run now, given the latest stratification run ("" when it can)."""
    if not definition.available:
        return definition.unavailable_reason or definition.status
    if not definition.run_columns:
        return ""
    if run is None:
        return (
            "This list ranks people by the emergency-admission risk model's scores in a "
            "stratification run, and there is no run yet: run `joinedup model train` then "
            "`joinedup stratify`."
        )
    held = pq.read_schema(run.path / PERSON_RESULTS).names
    missing = [c for c in definition.run_columns if c not in held]
    if missing:
        return (
            f"The latest stratification run ({run.run_id}) has no {', '.join(missing)} column: "
            "it was made with no risk model trained. Run `joinedup model train` then "
            "`joinedup stratify`."
        )
    return ""


def get_definition(list_id: str) -> ListDefinition:
    """The list `list_id`; UnknownListError (a UserError) names the lists there are."""
    try:
        return _definitions()[list_id]
    except KeyError:
        known = ", ".join(_definitions())
        raise UnknownListError(
            f"there is no case-finding list {list_id!r}; known: {known}"
        ) from None


# --- pipelines -------------------------------------------------------------------------------

#: The population-store tables the pipelines read.
TABLES = ("patients", "registrations", "organisations", "clinical_events", "medications")
GP_TABLES = ("gp_appointments",)


def _lists(*ids: str) -> ibis.Table:
    return ibis.memtable(codelist_table(ids))


def _coded(events: ibis.Table, codelist_ids: tuple[str, ...], on_or_before: dt.date) -> ibis.Table:
    """Events on or before the date whose (code_system, code) is in one of the lists."""
    recent = events.filter(events.event_date <= ibis.literal(on_or_before))
    lists = _lists(*codelist_ids)
    return recent.join(lists, ["code_system", "code"]).select(
        recent.person_id,
        lists.codelist_id,
        recent.event_date,
        recent.value,
        recent.unit,
    )


def _in_window(t: ibis.Table, column: str, index_date: dt.date, days: int) -> ibis.Table:
    start = window_start(index_date, days)
    return t.filter((t[column] > ibis.literal(start)) & (t[column] <= ibis.literal(index_date)))


def _ever(events: ibis.Table, codelist_id: str, index_date: dt.date) -> ibis.Table:
    """Person ids with any code of the list on or before the index date."""
    return _coded(events, (codelist_id,), index_date).select("person_id").distinct()


def _num(value: ibis.Value) -> ibis.StringValue:
    """A measurement as whole-number text ("152"); "?" when missing."""
    return value.round().cast("int64").cast("string").fill_null("?")


def _day(value: ibis.Value) -> ibis.StringValue:
    return value.cast("date").cast("string")


Pipeline = Callable[[Mapping[str, ibis.Table], dt.date, Mapping[str, Any]], ibis.Table]


def _raised_bp(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    readings = _in_window(
        _coded(events, ("systolic-blood-pressure", "diastolic-blood-pressure"), index_date),
        "event_date",
        index_date,
        int(p["window_days"]),
    ).filter(lambda t: t.value.notnull())
    systolic = readings.codelist_id == "systolic-blood-pressure"
    days = readings.group_by(["person_id", "event_date"]).aggregate(
        sys=readings.value.max(where=systolic),
        dia=readings.value.max(where=~systolic),
    )
    raised = days.filter(
        (days.sys >= float(p["systolic_mmhg"])) | (days.dia >= float(p["diastolic_mmhg"]))
    )
    ranked = raised.mutate(
        _n=ibis.row_number().over(
            ibis.window(group_by="person_id", order_by=[ibis.desc("event_date")])
        ),
        _text=_num(raised.sys) + "/" + _num(raised.dia) + " on " + _day(raised.event_date),
    )
    per_person = ranked.group_by("person_id").aggregate(
        raised_days=ranked.count(),
        latest=ranked._text.max(where=ranked._n == 0),
        before=ranked._text.max(where=ranked._n == 1),
        evidence_date=ranked.event_date.max(),
    )
    found = per_person.filter(per_person.raised_days >= int(p["raised_days"]))
    found = found.anti_join(_ever(events, "hypertension", index_date), "person_id")
    evidence = (
        "BP "
        + found.before
        + " and "
        + found.latest
        + " ("
        + found.raised_days.cast("string")
        + " raised days in 2 years)"
    )
    return found.select("person_id", evidence=evidence, evidence_date=found.evidence_date)


def _raised_hba1c(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    readings = _in_window(
        _coded(events, ("hba1c",), index_date), "event_date", index_date, int(p["window_days"])
    )
    readings = readings.filter(
        readings.value.notnull() & (readings.unit.isnull() | (readings.unit == "mmol/mol"))
    )
    threshold = float(p["hba1c_mmol_mol"])
    ranked = readings.mutate(
        _n=ibis.row_number().over(
            ibis.window(
                group_by="person_id", order_by=[ibis.desc("event_date"), ibis.desc("value")]
            )
        )
    )
    per_person = ranked.group_by("person_id").aggregate(
        latest_value=ranked.value.max(where=ranked._n == 0),
        evidence_date=ranked.event_date.max(),
        raised_days=ranked.event_date.nunique(where=ranked.value >= threshold),
    )
    found = per_person.filter(
        (per_person.latest_value >= threshold)
        | (per_person.raised_days >= int(p["raised_readings"]))
    )
    found = found.anti_join(_ever(events, "diabetes", index_date), "person_id")
    evidence = (
        "Latest HbA1c "
        + _num(found.latest_value)
        + " mmol/mol on "
        + _day(found.evidence_date)
        + " ("
        + found.raised_days.cast("string")
        + " of "
        + str(int(threshold))
        + " or more in 2 years)"
    )
    return found.select("person_id", evidence=evidence, evidence_date=found.evidence_date)


def _irregular_pulse(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    pulses = _in_window(
        _coded(events, ("irregular-pulse",), index_date),
        "event_date",
        index_date,
        int(p["window_days"]),
    )
    per_person = pulses.group_by("person_id").aggregate(
        times=pulses.event_date.nunique(), evidence_date=pulses.event_date.max()
    )
    found = per_person.anti_join(_ever(events, "atrial-fibrillation", index_date), "person_id")
    evidence = (
        "Irregular pulse on "
        + _day(found.evidence_date)
        + " ("
        + found.times.cast("string")
        + " recorded in 2 years)"
    )
    return found.select("person_id", evidence=evidence, evidence_date=found.evidence_date)


def _frailty(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    events = tables["clinical_events"]
    scores = efi.from_store(tables, index_date)
    frail = scores.filter(scores.category.isin(list(p["categories"])))
    reviews = _coded(events, ("care-plan-review",), index_date)
    last = reviews.group_by("person_id").aggregate(last_review=reviews.event_date.max())
    recent = last.filter(
        last.last_review > ibis.literal(window_start(index_date, int(p["review_window_days"])))
    )
    found = frail.anti_join(recent, "person_id").left_join(last, "person_id")
    review_text = ibis.cases(
        (found.last_review.isnull(), ibis.literal("no review recorded")),
        else_="last review " + _day(found.last_review),
    )
    evidence = (
        "eFI "
        + found.category
        + " ("
        + found.deficits.cast("string")
        + " deficits, "
        + (found.efi * 100).round().cast("int64").cast("string")
        + "/100); "
        + review_text
    )
    return found.select(
        found.person_id, evidence=evidence, evidence_date=found.last_review.cast("date")
    )


def _high_gp_users(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    gp = tables["gp_appointments"]
    attended = _in_window(
        gp.filter(gp.attended), "appointment_date", index_date, int(p["window_days"])
    )
    counts = attended.group_by("person_id").aggregate(
        appointments=attended.count(), evidence_date=attended.appointment_date.max()
    )
    people = tables["_population"].select("person_id", "practice_code")
    list_size = people.group_by("practice_code").aggregate(registered=people.count())
    users = counts.join(people, "person_id").join(list_size, "practice_code")
    ranked = users.mutate(
        # rank() is 0-based and shares ties: the number of the practice's people with more.
        _more=ibis.rank().over(
            ibis.window(group_by="practice_code", order_by=[ibis.desc("appointments")])
        )
    )
    found = ranked.filter(
        (ranked._more.cast("float64") < ranked.registered.cast("float64") * float(p["top_share"]))
        & (ranked.appointments >= int(p["min_appointments"]))
    )
    threshold = found.group_by("practice_code").aggregate(threshold=found.appointments.min())
    found = found.join(threshold, "practice_code")
    evidence = (
        found.appointments.cast("string")
        + " GP appointments attended in 12 months (practice top "
        + str(round(100 * float(p["top_share"])))
        + "% from "
        + found.threshold.cast("string")
        + ")"
    )
    return found.select(found.person_id, evidence=evidence, evidence_date=found.evidence_date)


#: The input table of a list that reads a stratification run (`run_columns`): one row per person
#: of the run with person_id, risk (probability, 0-1; null when the model scored no one),
#: top_factors (plain words joined by "; ", only when the run holds them), run_id and
#: run_index_date. `run_scores` builds it from a run.
RUN_SCORES = "run_scores"
#: The people already on the coordinated care register (person_id), for the lists that leave
#: them out.
REGISTER = "coordinated_care_register"


def _tenths(value: ibis.NumericValue) -> ibis.StringValue:
    """A non-negative number as text with one decimal place ("34.5"), the same on every engine
    (casting a float to text differs between them)."""
    tenths = (value * 10).round().cast("int64")
    return (tenths // 10).cast("string") + "." + (tenths % 10).cast("string")


def _top_risk(
    tables: Mapping[str, ibis.Table], index_date: dt.date, p: Mapping[str, Any]
) -> ibis.Table:
    """The top `top_percents` (e.g. 2 and 5) of the run's people by risk, ranked over the whole
    area: a person is in the top k% when fewer than k% of the people with a risk have a
    higher one, so people with equal risk share a rank and a tier (ties at a boundary are all
    in). Each person is in the smallest tier that holds them; people on the register are left
    out after ranking (they still count in the area's ranking)."""
    scores = tables[RUN_SCORES]
    scored = scores.filter(scores.risk.notnull())
    ranked = scored.mutate(
        # rank() is 0-based and shares ties: the number of people with a higher risk.
        _more=ibis.rank().over(ibis.window(order_by=[ibis.desc("risk")])).cast("int64"),
        _people=scored.count().over(ibis.window()).cast("int64"),
    )
    percents = sorted(int(k) for k in p["top_percents"])
    inside = [(ranked._more * 100 < ranked._people * k, f"Top {k}%") for k in percents]
    ranked = ranked.mutate(tier=ibis.cases(*inside, else_=ibis.null("string")))
    found = ranked.filter(ranked.tier.notnull())
    found = found.anti_join(tables[REGISTER], "person_id")
    risk_text = _tenths(found.risk * 100)
    rank = (found._more + 1).cast("int64")
    evidence = (
        "Risk "
        + risk_text
        + "%, rank "
        + rank.cast("string")
        + " of "
        + found._people.cast("string")
        + " in the area ("
        + found.tier.lower()
        + ")"
    )
    extra = {"top_factors": found.top_factors} if "top_factors" in found.columns else {}
    return found.select(
        found.person_id,
        evidence=evidence,
        evidence_date=found.run_index_date.cast("date"),
        tier=found.tier,
        risk_percent=(found.risk * 100).round(1),
        rank=rank,
        # the share of the area with this risk or lower (100 = the highest), as the person's
        # page shows it (analytics/person_scores.py)
        rank_percentile=(
            (found._people - found._more).cast("float64") * 100 / found._people.cast("float64")
        ).round(1),
        run_id=found.run_id,
        run_index_date=found.run_index_date.cast("date"),
        **extra,
    )


PIPELINES: dict[str, Pipeline] = {
    "raised-bp-no-hypertension": _raised_bp,
    "raised-hba1c-no-diabetes": _raised_hba1c,
    "irregular-pulse-no-af": _irregular_pulse,
    "frailty-no-review": _frailty,
    "high-gp-users": _high_gp_users,
    "top-risk-not-on-register": _top_risk,
}


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


# --- running a list ------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCount:
    """People found in one practice or neighbourhood, beside its registered population.

    In a suppressed result (`CaseFindingResult.published`) both counts are as published:
    None when withheld, otherwise rounded (`joinedup.governance.suppression`)."""

    code: str
    name: str
    found: int | None
    registered: int | None
    neighbourhood_code: str | None = None

    @property
    def per_1000(self) -> float | None:
        if self.found is None or not self.registered:
            return None
        return 1000 * self.found / self.registered

    def published(self) -> GroupCount:
        return replace(
            self, found=suppress_count(self.found), registered=suppress_count(self.registered)
        )


@dataclass(frozen=True)
class CaseFindingResult:
    """One run of a list: the people found (Arrow rows, ROW_COLUMNS), counts and the rules.

    `within_practices` is the set of practices the run was restricted to (None: the whole
    area); `suppressed` says the counts are as published, for views beyond direct care."""

    definition: ListDefinition
    index_date: dt.date
    engine: str
    rows: pa.Table
    by_practice: tuple[GroupCount, ...]
    by_neighbourhood: tuple[GroupCount, ...]
    practice: str | None = None
    neighbourhood: str | None = None
    practices: tuple[GroupCount, ...] = field(default=(), repr=False)  # every practice in scope
    neighbourhoods: tuple[GroupCount, ...] = field(default=(), repr=False)
    registered: int = 0  # registered people in the chosen scope (after any exclusions)
    within_practices: frozenset[str] | None = None
    suppressed: bool = False
    run_id: str | None = None  # the stratification run a list that reads one was taken from

    @property
    def total(self) -> int:
        return self.rows.num_rows

    @property
    def columns(self) -> tuple[ListColumn, ...]:
        """The list's own columns this result holds (top_factors only when the run had them)."""
        return tuple(c for c in self.definition.columns if c.name in self.rows.column_names)

    @property
    def shown_total(self) -> int | None:
        """The number of people found as the page shows it (suppressed when `suppressed`)."""
        return suppress_count(self.total) if self.suppressed else self.total

    @property
    def shown_registered(self) -> int | None:
        return suppress_count(self.registered) if self.suppressed else self.registered

    @property
    def per_1000(self) -> float | None:
        """People found per 1,000 registered, from the counts as shown."""
        found, registered = self.shown_total, self.shown_registered
        return None if found is None or not registered else 1000 * found / registered

    def people(self) -> list[dict[str, Any]]:
        return self.rows.to_pylist()

    def published(self) -> CaseFindingResult:
        """The same result with every count as published (small numbers suppressed)."""

        def each(groups: tuple[GroupCount, ...]) -> tuple[GroupCount, ...]:
            return tuple(g.published() for g in groups)

        return replace(
            self,
            by_practice=each(self.by_practice),
            by_neighbourhood=each(self.by_neighbourhood),
            practices=each(self.practices),
            neighbourhoods=each(self.neighbourhoods),
            suppressed=True,
        )


def extract_date(store: PopulationStore) -> dt.date:
    value = store.metadata().get("extract_date")
    if not value:
        raise StoreError(f"the population store at {store.root} does not say its extract date")
    return dt.date.fromisoformat(str(value)[:10])


def _stamp(store: PopulationStore) -> float:
    """Changes when the store is regenerated (the metadata file is rewritten)."""
    return (store.root / "area.json").stat().st_mtime_ns if store.exists() else 0.0


@functools.lru_cache(maxsize=64)
def _run_area(
    root: str,
    stamp: float,
    list_id: str,
    engine: Engine,
    index_date: dt.date,
    run_path: str | None,
    on_register: frozenset[int],
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The whole area's rows, sorted; the registered population by practice; and each
    registered person's practice (person_id, practice_code), to leave people out of it.
    (A run folder is never rewritten, so its path is a safe cache key.)"""
    store = PopulationStore(Path(root))
    definition = get_definition(list_id)
    needed = list(TABLES) + (list(GP_TABLES) if list_id == "high-gp-users" else [])
    missing = [t for t in needed if not store.path(t).is_file()]
    if missing:
        raise StoreError(
            f"the population store at {store.root} has no {', '.join(missing)} table; "
            "run `joinedup generate` or `joinedup ingest` first"
        )
    con = connect(engine)
    try:
        tables = read_store(con, store, needed)
        if run_path is not None:
            tables[RUN_SCORES] = put_table(
                con, f"joinedup_{RUN_SCORES}_{secrets.token_hex(4)}", run_scores(_run_at(run_path))
            )
        expr = case_finding_pipeline(list_id, tables, index_date, on_register=on_register)
        rows = con.to_pyarrow(expr)
        people = population(tables, index_date)
        sizes = con.to_pyarrow(
            people.group_by(["practice_code", "practice_name", "neighbourhood_code"])
            .aggregate(
                neighbourhood_name=people.neighbourhood_name.max(), registered=people.count()
            )
            .order_by("practice_code")
        )
        registered = con.to_pyarrow(people.select("person_id", "practice_code"))
    finally:
        if engine == "duckdb":
            con.disconnect()
    rows = rows.cast(_row_schema(rows.schema)).sort_by(
        [(c, "ascending") for c in definition.order_by]
    )
    return rows, sizes, registered


def _run_at(path: str) -> StratificationRun:
    folder = Path(path)
    return StratificationRun(
        folder.name, folder, json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    )


def _row_schema(schema: pa.Schema) -> pa.Schema:
    types = {
        "person_id": pa.int64(),
        "age": pa.int64(),
        "evidence_date": pa.date32(),
        "risk_percent": pa.float64(),
        "rank": pa.int64(),
        "rank_percentile": pa.float64(),
        "run_index_date": pa.date32(),
    }
    return pa.schema([pa.field(n, types.get(n, pa.string())) for n in schema.names])


def run_list(
    store: PopulationStore,
    list_id: str,
    *,
    engine: Engine = "duckdb",
    index_date: dt.date | str | None = None,
    practice: str | None = None,
    neighbourhood: str | None = None,
    within_practices: Collection[str] | None = None,
    excluding: Collection[int] = (),
    run: StratificationRun | None = None,
    on_register: Collection[int] = frozenset(),
) -> CaseFindingResult:
    """Run one list over the store as of `index_date` (default: the store's extract date),
    optionally for one practice or one neighbourhood (organisation codes).

    `within_practices` restricts everything — rows, counts and the practices and
    neighbourhoods offered — to those practices (an identifiable list shows only the user's
    own); `excluding` leaves those people out of the rows and the registered counts (objectors,
    in views beyond direct care).

    A list that reads a stratification run (`run_columns`) reads `run` (the latest, from
    `joinedup.analytics.stratify.latest_run`), as of the run's index date; other lists ignore
    it. `on_register` holds the people already on the coordinated care register: lists that
    leave them out do so after ranking, and they still count as registered.

    Raises UnknownListError, ListUnavailableError (also for a run list with no run holding its
    columns), UnknownOrganisationError (a code the area does not have) or
    OrganisationOutOfScopeError (one outside `within_practices`), all UserErrors, and
    StoreError when the store is missing.
    """
    definition = get_definition(list_id)
    reason = unavailable_reason(definition, run)
    if reason:
        raise ListUnavailableError(f"{definition.title}: {reason}")
    if not store.exists():
        raise StoreError(f"no population store at {store.root}; run `joinedup generate` first")
    when = _index_date(store, definition, run, index_date)
    rows, sizes, registered = _run_area(
        str(store.root),
        _stamp(store),
        list_id,
        engine,
        when,
        str(run.path) if run is not None and definition.run_columns else None,
        frozenset(on_register),
    )
    _check_known(sizes, practice, neighbourhood)
    if excluding:
        left_out = pa.array(sorted(excluding), pa.int64())
        rows = rows.filter(pc.invert(pc.is_in(rows["person_id"], value_set=left_out)))
        sizes = _registered_without(sizes, registered, left_out)
    allowed = None if within_practices is None else frozenset(within_practices)
    if allowed is not None:
        codes = pa.array(sorted(allowed), pa.string())
        rows = rows.filter(pc.is_in(rows["practice_code"], value_set=codes))
        sizes = sizes.filter(pc.is_in(sizes["practice_code"], value_set=codes))
    practices = _practice_counts(rows, sizes)
    hoods = _neighbourhood_counts(practices, sizes)
    if practice and practice not in {p.code for p in practices}:
        raise OrganisationOutOfScopeError(f"practice {practice!r} is outside this list's scope")
    if neighbourhood and neighbourhood not in {h.code for h in hoods}:
        raise OrganisationOutOfScopeError(
            f"neighbourhood {neighbourhood!r} is outside this list's scope"
        )
    scoped_practices = practices
    scoped_hoods = hoods
    if neighbourhood:
        rows = rows.filter(pc.equal(rows["neighbourhood_code"], neighbourhood))
        scoped_practices = tuple(p for p in practices if p.neighbourhood_code == neighbourhood)
        scoped_hoods = tuple(h for h in hoods if h.code == neighbourhood)
    if practice:
        rows = rows.filter(pc.equal(rows["practice_code"], practice))
        scoped_practices = tuple(p for p in scoped_practices if p.code == practice)
        hood = next(p.neighbourhood_code for p in practices if p.code == practice)
        scoped_hoods = tuple(h for h in scoped_hoods if h.code == hood)
    return CaseFindingResult(
        definition=definition,
        index_date=when,
        engine=engine,
        rows=rows,
        by_practice=scoped_practices,
        by_neighbourhood=scoped_hoods,
        practice=practice or None,
        neighbourhood=neighbourhood or None,
        practices=practices,
        neighbourhoods=hoods,
        registered=sum(p.registered or 0 for p in scoped_practices),
        within_practices=allowed,
        run_id=run.run_id if run is not None and definition.run_columns else None,
    )


def _index_date(
    store: PopulationStore,
    definition: ListDefinition,
    run: StratificationRun | None,
    asked: dt.date | str | None,
) -> dt.date:
    """The date the list is as of: the one asked for, else the run's index date for a list
    that reads a run (its risk is as of that date), else the store's extract date."""
    when = (
        None
        if asked is None
        else asked
        if isinstance(asked, dt.date)
        else dt.date.fromisoformat(asked)
    )
    if run is None or not definition.run_columns:
        return extract_date(store) if when is None else when
    if when is not None and when != run.index_date:
        raise CaseFindingError(
            f"{definition.title} is as of its stratification run's index date, "
            f"{run.index_date.isoformat()}, not {when.isoformat()}: run "
            f"`joinedup stratify --index-date {when.isoformat()}` for another date"
        )
    return run.index_date


def _check_known(sizes: pa.Table, practice: str | None, neighbourhood: str | None) -> None:
    if practice and practice not in set(sizes["practice_code"].to_pylist()):
        raise UnknownOrganisationError(f"the area has no practice {practice!r}")
    if neighbourhood and neighbourhood not in set(sizes["neighbourhood_code"].to_pylist()):
        raise UnknownOrganisationError(f"the area has no neighbourhood {neighbourhood!r}")


def _registered_without(sizes: pa.Table, registered: pa.Table, left_out: pa.Array) -> pa.Table:
    """The registered population by practice with `left_out` people taken away."""
    gone = registered.filter(pc.is_in(registered["person_id"], value_set=left_out))
    counts = gone.group_by("practice_code").aggregate([("person_id", "count")])
    by_code = dict(
        zip(counts["practice_code"].to_pylist(), counts["person_id_count"].to_pylist(), strict=True)
    )
    remaining = [
        int(n) - int(by_code.get(code, 0))
        for code, n in zip(
            sizes["practice_code"].to_pylist(), sizes["registered"].to_pylist(), strict=True
        )
    ]
    column = sizes.schema.get_field_index("registered")
    return sizes.set_column(column, "registered", pa.array(remaining, pa.int64()))


def _practice_counts(rows: pa.Table, sizes: pa.Table) -> tuple[GroupCount, ...]:
    found: dict[str, int] = {}
    for code in rows["practice_code"].to_pylist():
        found[code] = found.get(code, 0) + 1
    groups = [
        GroupCount(
            code=s["practice_code"],
            name=s["practice_name"] or s["practice_code"],
            found=found.get(s["practice_code"], 0),
            registered=int(s["registered"]),
            neighbourhood_code=s["neighbourhood_code"],
        )
        for s in sizes.to_pylist()
    ]
    return tuple(sorted(groups, key=lambda g: (g.name, g.code)))


def _neighbourhood_counts(
    practices: tuple[GroupCount, ...], sizes: pa.Table
) -> tuple[GroupCount, ...]:
    names = {
        s["neighbourhood_code"]: s["neighbourhood_name"]
        for s in sizes.to_pylist()
        if s["neighbourhood_code"]
    }
    found: dict[str, int] = {}
    registered: dict[str, int] = {}
    for p in practices:
        if p.neighbourhood_code:
            found[p.neighbourhood_code] = found.get(p.neighbourhood_code, 0) + (p.found or 0)
            registered[p.neighbourhood_code] = registered.get(p.neighbourhood_code, 0) + (
                p.registered or 0
            )
    groups = [GroupCount(code, names[code], found[code], registered[code]) for code in names]
    return tuple(sorted(groups, key=lambda g: (g.name, g.code)))


def list_counts(
    store: PopulationStore,
    *,
    engine: Engine = "duckdb",
    index_date: dt.date | str | None = None,
    within_practices: Collection[str] | None = None,
    excluding: Collection[int] = (),
    run: StratificationRun | None = None,
    on_register: Collection[int] = frozenset(),
) -> dict[str, int | None]:
    """People found by every list (None for a list that cannot be run: `unavailable_reason`):
    the whole area, or only `within_practices`, leaving out `excluding` (see `run_list`)."""
    return {
        d.id: (
            None
            if unavailable_reason(d, run)
            else run_list(
                store,
                d.id,
                engine=engine,
                index_date=None if d.run_columns else index_date,
                within_practices=within_practices,
                excluding=excluding,
                run=run,
                on_register=on_register,
            ).total
        )
        for d in list_definitions()
    }


# --- what leaves: rows for a page and the CSV export -----------------------------------------


def pseudonymised_rows(rows: pa.Table, key: bytes) -> pa.Table:
    """`rows` with a keyed-hash pseudonym in place of person_id and no NHS number: only the
    columns of PSEUDONYMISED_COLUMNS and the lists' declared own `columns` are kept (an
    allow-list, so nothing else can slip out)."""
    names = pseudonyms(key, rows["person_id"].to_pylist())
    declared = {c.name for d in list_definitions() for c in d.columns}
    own = [c for c in rows.column_names if c in declared]
    kept = [*PSEUDONYMISED_COLUMNS[1:], *own]
    return pa.table(
        [pa.array(names, pa.string()), *(rows[c] for c in kept)],
        names=[PSEUDONYMISED_COLUMNS[0], *kept],
    )


def page_rows(
    result: CaseFindingResult, limit: int, *, pseudonym_key: bytes | None = None
) -> list[dict[str, Any]]:
    """The first `limit` people as the page shows them: identifiable (with the NHS number in
    3-3-4 groups) or, given a key, pseudonymised."""
    rows = result.rows.slice(0, limit)
    if pseudonym_key is not None:
        return pseudonymised_rows(rows, pseudonym_key).to_pylist()
    return [
        {**row, "nhs_number_display": format_nhs_number(row["nhs_number"])}
        for row in rows.to_pylist()
    ]


def export_csv(
    result: CaseFindingResult, path: Path | str, *, pseudonym_key: bytes | None = None
) -> Path:
    """Write the result's people as CSV (header first, dates as YYYY-MM-DD): ROW_COLUMNS, or
    PSEUDONYMISED_COLUMNS given a pseudonym key, then the list's own columns."""
    target = Path(path)
    target.write_text(csv_text(result, pseudonym_key=pseudonym_key), encoding="utf-8")
    return target


def csv_text(result: CaseFindingResult, *, pseudonym_key: bytes | None = None) -> str:
    """The CSV export as text (see `export_csv`)."""
    import io

    rows = result.rows
    if pseudonym_key is not None:
        rows = pseudonymised_rows(rows, pseudonym_key)
    columns = rows.column_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows.to_pylist():
        writer.writerow(["" if row[c] is None else str(row[c]) for c in columns])
    return buffer.getvalue()
