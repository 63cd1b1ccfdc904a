"""One person's scores, each with the items that produced it, for their record page.

`person_scores(settings, person_id)` reads only that person's rows of the population store
(DuckDB skips every Parquet row group whose person_id range leaves them out, so this is fast
on a large area) and runs each score's published ``*_contributions`` pipeline on them: the
same Ibis code the population runs use, so the items listed here are exactly what the
stratification run counted. From the latest run it adds the person's segment in each scheme,
their admission risk and its rank; the risk model's top contributing factors (plain words)
are worked out for this one person with the latest trained model when the run holds none.

The index date is the latest run's (so the page agrees with the run), else the store's
extract date. Identifiable: callers check the legitimate relationship and audit the view.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from joinedup.analytics.risk.explain import explain
from joinedup.analytics.risk.features import (
    FEATURE_COLUMNS,
    NO_ADMISSION_DAYS,
    activity,
)
from joinedup.analytics.risk.features import TABLES as RISK_TABLES
from joinedup.analytics.risk.model import matrix
from joinedup.analytics.scores import charlson, cms, conditions, efi, elixhauser, hfrs, icd10
from joinedup.analytics.scores.conditions import LONG_TERM_CONDITIONS
from joinedup.analytics.stratify import PERSON_RESULTS, StratificationRun, latest_run
from joinedup.errors import UserError
from joinedup.population.reads import registered_population
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings
from joinedup.terminology.codelists import load_codelist
from joinedup.terminology.icd10 import normalise_icd10

if TYPE_CHECKING:
    from joinedup.analytics.risk.registry import TrainedModel

#: The population-store tables read for one person (the scores', and the risk features').
PERSON_TABLES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            "clinical_events",
            "medications",
            "hospital_spells",
            "spell_diagnoses",
            *RISK_TABLES,
        )
    )
)


class PersonNotFound(UserError, LookupError):
    """No one with this person_id in the population store."""


@dataclass(frozen=True)
class CodedItem:
    """A deficit or condition found in the GP record: the first code that produced it."""

    key: str
    name: str
    code_system: str
    code: str
    term: str  # the code's description in its codelist, or the medicine's name
    codelist_id: str | None
    date: dt.date | None


@dataclass(frozen=True)
class WeightedGroup:
    """A group of an ICD-10 score (HFRS, Charlson, Elixhauser) with its weight and evidence."""

    group: str
    description: str
    weight: float
    codes: tuple[str, ...]
    dates: tuple[dt.date, ...]  # admissions in the score's look-back where the codes appear


@dataclass(frozen=True)
class CmsItem:
    code: str
    condition: str
    weight: float


@dataclass(frozen=True)
class SegmentPlace:
    scheme_id: str
    scheme_name: str
    segment_id: str | None
    segment_name: str


@dataclass(frozen=True)
class RiskView:
    risk: float | None  # probability of an emergency admission in the next year
    rank: int | None  # 1 = highest risk in the run
    out_of: int | None
    percentile: float | None  # share of people with this risk or lower (100 = highest)
    factors: tuple[str, ...]
    factors_source: str  # "run", "model" or "" (none available)
    model_id: str | None


@dataclass(frozen=True)
class PersonScores:
    person_id: int
    index_date: dt.date
    age: int | None
    efi_deficits: tuple[CodedItem, ...]
    efi_score: float
    efi_category: str
    hfrs_groups: tuple[WeightedGroup, ...]
    hfrs_score: float
    hfrs_category: str
    hfrs_lookback_from: dt.date
    charlson_groups: tuple[WeightedGroup, ...]
    charlson_score: int
    elixhauser_groups: tuple[WeightedGroup, ...]
    elixhauser_score: int
    cms_conditions: tuple[CmsItem, ...]
    cms_score: float
    long_term_conditions: tuple[CodedItem, ...]
    medicines_12m: int
    run_id: str | None = None
    run_index_date: dt.date | None = None
    segments: tuple[SegmentPlace, ...] = ()
    risk: RiskView | None = None
    timings: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def efi_count(self) -> int:
        return len(self.efi_deficits)

    @property
    def ltc_count(self) -> int:
        return len(self.long_term_conditions)

    @property
    def polypharmacy(self) -> bool:
        return self.medicines_12m >= 5


def person_scores(
    settings: Settings, person_id: int, index_date: dt.date | None = None
) -> PersonScores:
    """`person_id`'s scores at `index_date` (default: the latest run's, else the extract date)
    with the items behind each; raises `PersonNotFound` if the store does not hold them."""
    store = PopulationStore(settings.population_dir)
    run = latest_run(settings)
    when = index_date or (run.index_date if run else _extract_date(store))
    timings: dict[str, float] = {}
    with _ENGINE.lock:
        started = time.perf_counter()
        available = _ENGINE.load_person(store, person_id)
        timings["read"] = time.perf_counter() - started
        results = _ENGINE.run(store, available, when, timings)
        timings["score"] = time.perf_counter() - started - timings["read"]
    if not results["patients"]:
        raise PersonNotFound(f"no person {person_id} in the population store")
    scores = _scores(results, person_id, when)
    if run is not None:
        before = time.perf_counter()
        scores = _with_run(scores, run, settings, _features_row(results, scores))
        timings["run"] = time.perf_counter() - before
    timings["total"] = time.perf_counter() - started
    return replace(scores, timings=timings)


def _extract_date(store: PopulationStore) -> dt.date:
    value = store.metadata().get("extract_date")
    if not value:
        raise StoreError(f"the population store at {store.root} does not say its extract date")
    return dt.date.fromisoformat(str(value)[:10])


Rows = list[dict[str, Any]]


class _PersonEngine:
    """One DuckDB connection whose tables hold one person's rows at a time.

    Why: building and compiling the Ibis pipelines costs about a second, far more than running
    them on one person's few hundred rows. So each pipeline is compiled to SQL once per (store,
    index date) against tables with fixed names, and each request only replaces those tables'
    rows and runs the SQL. Parquet footers stay cached, so reading a person skips straight to
    the row groups that can hold them. The lock serialises requests on the connection.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._con: BaseBackend | None = None
        self._compiled: dict[tuple[str, float, dt.date, tuple[str, ...]], dict[str, str]] = {}
        # The compiled expressions, kept alive: Ibis drops a pipeline's lookup tables from the
        # connection when the expression that made them is garbage-collected.
        self._keep: list[dict[str, ibis.Table]] = []

    @property
    def con(self) -> BaseBackend:
        if self._con is None:
            con = ibis.duckdb.connect()
            con.raw_sql("SET parquet_metadata_cache = true")  # type: ignore[attr-defined]
            # One person's rows are a few hundred: threads only add hand-over cost (measured:
            # 470 ms vs 720 ms median on a busy 2-core machine, bench/bench_person_scores.py).
            con.raw_sql("SET threads = 1")  # type: ignore[attr-defined]
            for name, table in (
                ("efi_codelists", efi.efi_codelists()),
                ("cms_codelists", cms.cms_codelists()),
                ("ltc_codelists", conditions.ltc_codelists()),
            ):
                con.create_table(name, table, temp=True)
            self._con = con
        return self._con

    def load_person(self, store: PopulationStore, person_id: int) -> tuple[str, ...]:
        """Replace each table's rows with this person's; the names of the tables there are."""
        available = []
        for name in PERSON_TABLES:
            path = store.path(name)
            if not path.is_file():
                if name in ("patients", "clinical_events"):
                    raise StoreError(f"the population store at {store.root} has no {name} table")
                continue
            self.con.raw_sql(  # type: ignore[attr-defined]
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS '
                "SELECT * FROM read_parquet(?) WHERE person_id = ?",
                parameters=[str(path), int(person_id)],
            )
            available.append(name)
        return tuple(available)

    def run(
        self,
        store: PopulationStore,
        available: tuple[str, ...],
        when: dt.date,
        timings: dict[str, float],
    ) -> dict[str, Rows]:
        """Run every compiled query on the person's rows; each query's seconds in `timings`."""
        # A regenerated store may change its tables' columns: compile again.
        key = (str(store.root), store.path("patients").stat().st_mtime, when, available)
        if key not in self._compiled:
            self._compiled[key] = self._compile(available, when)
        raw = self.con.con  # type: ignore[attr-defined]
        results = {}
        for name, sql in self._compiled[key].items():
            started = time.perf_counter()
            results[name] = raw.sql(sql).to_arrow_table().to_pylist()
            timings[f"query {name}"] = time.perf_counter() - started
        return results

    def _compile(self, available: tuple[str, ...], when: dt.date) -> dict[str, str]:
        con = self.con
        expressions = _pipelines({name: con.table(name) for name in available}, con, when)
        self._keep.append(expressions)
        compiled = {}
        for name, expr in expressions.items():
            expr.to_pyarrow()  # registers the pipeline's own lookup tables on the connection
            compiled[name] = str(con.compile(expr))
        return compiled


_ENGINE = _PersonEngine()


def _pipelines(
    tables: Mapping[str, ibis.Table], con: BaseBackend, when: dt.date
) -> dict[str, ibis.Table]:
    """Every query person_scores runs, as Ibis expressions over the person's tables."""
    events = tables["clinical_events"]
    meds = tables.get("medications")
    patients = tables["patients"]
    out: dict[str, ibis.Table] = {
        "patients": patients.select("person_id", "date_of_birth"),
        "efi": efi.efi_contributions(
            events, meds, index_date=when, codelists=con.table("efi_codelists")
        ),
        "cms": cms.cms_contributions(
            events, meds, index_date=when, codelists=con.table("cms_codelists")
        ),
        "ltc": conditions.ltc_contributions(
            events, index_date=when, codelists=con.table("ltc_codelists")
        ),
    }
    if meds is not None:
        out["medicines"] = meds.select("code", "name").distinct()
        out["polypharmacy"] = conditions.polypharmacy(meds, index_date=when).select("medicines")
    if "spell_diagnoses" in tables and "hospital_spells" in tables:
        diagnoses = icd10.diagnoses_from_store(dict(tables))
        out["diagnoses"] = diagnoses
        out["hfrs"] = hfrs.hfrs_contributions(diagnoses, index_date=when)
        out["charlson"] = charlson.charlson_contributions(diagnoses, index_date=when)
        out["elixhauser"] = elixhauser.elixhauser_contributions(diagnoses, index_date=when)
    if all(t in tables for t in RISK_TABLES):
        # The risk model's features, less the scores computed above (see _features_row).
        people = registered_population(tables["registrations"], patients, when)
        flags = patients.select("person_id", "care_home", "housebound")
        base = people.join(flags, "person_id")
        out["base"] = base.select(
            "person_id",
            age=base.age.cast("int64"),
            male=(base.sex == "M").cast("int64"),
            imd_decile=base.imd_decile.cast("int64"),
            care_home=base.care_home.cast("int64"),
            housebound=base.housebound.cast("int64"),
        )
        for name, part in activity({t: tables[t] for t in RISK_TABLES}, when).items():
            out[f"activity_{name}"] = part
    return out


def _term(codelist_id: str | None, system: str, code: str) -> str:
    if not codelist_id:
        return ""
    return load_codelist(codelist_id).descriptions.get((system, code), "")


def _scores(results: Mapping[str, Rows], person_id: int, when: dt.date) -> PersonScores:
    medicines = {r["code"]: r["name"] for r in results.get("medicines", [])}
    by_number = {d.number: d for d in efi.DEFICITS}
    efi_items = []
    for r in results["efi"]:
        deficit = by_number[int(r["deficit_no"])]
        term = medicines.get(r["code"], "") if deficit.codelist_id is None else ""
        efi_items.append(
            CodedItem(
                key=str(deficit.number),
                name=deficit.name,
                code_system=r["code_system"],
                code=r["code"],
                term=term or _term(deficit.codelist_id, r["code_system"], r["code"]),
                codelist_id=deficit.codelist_id,
                date=r["event_date"],
            )
        )
    efi_items.sort(key=lambda i: int(i.key))
    n_deficits = len(efi_items)

    recorded = results.get("diagnoses", [])
    lookback_from = icd10.years_before(when, hfrs.LOOKBACK_YEARS)
    hfrs_groups = _groups(results.get("hfrs", []), recorded, when, lookback_from)
    hfrs_total = sum((Decimal(str(g.weight)) for g in hfrs_groups), Decimal(0))
    charlson_groups = _groups(results.get("charlson", []), recorded, when, None)
    elix_groups = _groups(results.get("elixhauser", []), recorded, when, None)

    cms_items = sorted(
        (CmsItem(r["condition_code"], r["condition"], float(r["weight"])) for r in results["cms"]),
        key=lambda c: (-c.weight, c.condition),
    )
    cms_hundredths = sum(round(c.weight * 100) for c in cms_items)

    names = {c.condition: c for c in LONG_TERM_CONDITIONS}
    ltc_items = sorted(
        (
            CodedItem(
                key=r["condition"],
                name=names[r["condition"]].name,
                code_system=r["code_system"],
                code=r["code"],
                term=_term(names[r["condition"]].codelist_id, r["code_system"], r["code"]),
                codelist_id=names[r["condition"]].codelist_id,
                date=r["event_date"],
            )
            for r in results["ltc"]
        ),
        key=lambda i: i.name,
    )
    counted = results.get("polypharmacy", [])
    born = results["patients"][0]["date_of_birth"]
    return PersonScores(
        person_id=person_id,
        index_date=when,
        age=_age(born, when),
        efi_deficits=tuple(efi_items),
        efi_score=n_deficits / efi.TOTAL_DEFICITS,
        efi_category=efi.category(n_deficits),
        hfrs_groups=hfrs_groups,
        hfrs_score=float(hfrs_total),
        hfrs_category=hfrs.category(hfrs_total),
        hfrs_lookback_from=lookback_from,
        charlson_groups=charlson_groups,
        charlson_score=int(sum(g.weight for g in charlson_groups)),
        elixhauser_groups=elix_groups,
        elixhauser_score=int(sum(g.weight for g in elix_groups)),
        cms_conditions=tuple(cms_items),
        cms_score=cms_hundredths / 100,
        long_term_conditions=tuple(ltc_items),
        medicines_12m=int(counted[0]["medicines"]) if counted else 0,
    )


def _age(born: dt.date | None, when: dt.date) -> int | None:
    if born is None:
        return None
    return when.year - born.year - int((when.month, when.day) < (born.month, born.day))


def _groups(
    contributions: Rows, recorded: Rows, when: dt.date, lookback_from: dt.date | None
) -> tuple[WeightedGroup, ...]:
    """The score's groups, each with the admission dates (in the look-back) of its codes."""
    dates_of: dict[str, set[dt.date]] = {}
    for dx in recorded:
        date = dx["date"]
        if date is None or date > when or (lookback_from is not None and date < lookback_from):
            continue
        normal = normalise_icd10(dx["code"])
        if normal:
            dates_of.setdefault(normal, set()).add(date)
    groups = []
    for r in contributions:
        codes = tuple(c for c in str(r["codes"]).split(icd10.SEPARATOR) if c)
        dates = sorted({d for c in codes for d in dates_of.get(c, ())})
        groups.append(
            WeightedGroup(
                group=r["group"],
                description=r["description"],
                weight=float(r["weight"]),
                codes=codes,
                dates=tuple(dates),
            )
        )
    groups.sort(key=lambda g: (-g.weight, g.description))
    return tuple(groups)


def _features_row(results: Mapping[str, Rows], scores: PersonScores) -> Rows:
    """The risk model's features for this person, as `risk.features.features` builds them.

    Why not run `features` itself: it computes every score again, which was half the time of
    a page. Its parts are reused instead (`registered_population`, `activity`) and the scores
    come from this person's results, with the same defaults for people with nothing recorded.
    The integration tests hold the risk and factors to `score_population` on the whole area.
    Empty when the person is not registered at the index date (the model scores no one else).
    """
    if not results.get("base"):
        return []
    row: dict[str, Any] = dict(results["base"][0])
    present = {item.key for item in scores.long_term_conditions}
    for condition in LONG_TERM_CONDITIONS:
        row[f"ltc_{condition.condition}"] = int(condition.condition in present)
    row.update(
        ltc_count=scores.ltc_count,
        efi_deficits=scores.efi_count,
        efi=scores.efi_score,
        hfrs=scores.hfrs_score,
        charlson=scores.charlson_score,
        cms=scores.cms_score,
        medicines=scores.medicines_12m,
        emergency_admissions_12m=0,
        elective_admissions_12m=0,
        bed_days_12m=0,
        days_since_emergency=NO_ADMISSION_DAYS,
        ae_attendances_12m=0,
        outpatient_attendances_12m=0,
        gp_appointments_12m=0,
        gp_home_visits_12m=0,
        community_contacts_12m=0,
    )
    for name in ("hospital", "ae", "op", "gp", "cc"):
        for found in results.get(f"activity_{name}", []):
            row.update({k: v for k, v in found.items() if k != "person_id" and v is not None})
    row["days_since_emergency"] = min(int(row["days_since_emergency"]), NO_ADMISSION_DAYS)
    return [{column: row[column] for column in ["person_id", *FEATURE_COLUMNS]}]


# --- from the latest stratification run -----------------------------------------------------


def _with_run(
    scores: PersonScores, run: StratificationRun, settings: Settings, feature_rows: Rows
) -> PersonScores:
    schemes = list(run.metadata.get("parameters", {}).get("schemes", []))
    risk_columns = list(run.metadata.get("risk_columns", []))
    wanted = ["person_id", *schemes, *[c for c in ("risk", "top_factors") if c in risk_columns]]
    row = _run_row(run, scores.person_id, wanted)
    places = []
    for scheme_id in schemes:
        info = run.metadata.get("segmentations", {}).get(scheme_id, {})
        segment_id = row.get(scheme_id) if row else None
        names = {s["id"]: s["name"] for s in info.get("segments", [])}
        places.append(
            SegmentPlace(
                scheme_id=scheme_id,
                scheme_name=str(info.get("name") or scheme_id),
                segment_id=segment_id,
                segment_name=names.get(segment_id, segment_id or "Not in the run"),
            )
        )
    risk = _risk(run, row, settings, feature_rows) if row is not None else None
    return replace(
        scores,
        run_id=run.run_id,
        run_index_date=run.index_date,
        segments=tuple(places),
        risk=risk,
    )


def _run_row(run: StratificationRun, person_id: int, columns: list[str]) -> dict[str, Any] | None:
    path = run.path / PERSON_RESULTS
    table = _run_columns(path, path.stat().st_mtime, tuple(columns))
    try:
        found = table.loc[int(person_id)]
    except KeyError:
        return None
    row: dict[str, Any] = {"person_id": int(person_id)}
    for column in columns[1:]:
        value = found[column]
        row[column] = None if isinstance(value, float) and np.isnan(value) else value
    return row


@functools.lru_cache(maxsize=2)
def _run_columns(results: Path, modified: float, columns: tuple[str, ...]) -> pd.DataFrame:
    """A run's segment and risk columns indexed by person (cached: a run is never rewritten;
    about 20 MB for 300,000 people, and it saves reading them on every page)."""
    frame = pq.read_table(results, columns=list(columns)).to_pandas()
    return frame.set_index("person_id")


@functools.lru_cache(maxsize=4)
def _sorted_risks(results: Path, modified: float) -> np.ndarray:
    """Every risk in a run, sorted (cached per run file: a run never changes once written)."""
    column = pq.read_table(results, columns=["risk"]).column("risk").drop_null()
    return np.sort(column.to_numpy())


def _risk(
    run: StratificationRun, row: dict[str, Any], settings: Settings, feature_rows: Rows
) -> RiskView | None:
    risk = row.get("risk")
    rank = out_of = None
    percentile = None
    if risk is not None:
        path = run.path / PERSON_RESULTS
        every = _sorted_risks(path, path.stat().st_mtime)
        out_of = len(every)
        at_or_below = int(np.searchsorted(every, risk, side="right"))
        rank = out_of - at_or_below + 1
        percentile = 100.0 * at_or_below / out_of if out_of else None
    stored = row.get("top_factors")
    factors: tuple[str, ...] = tuple(str(f) for f in stored) if stored is not None else ()
    source = "run" if "top_factors" in row else ""
    model_id = None
    if not source and feature_rows:
        explained = _explain_person(settings, feature_rows)
        if explained is not None:
            model_id, model_risk, factors = explained
            source = "model"
            if risk is None:
                risk = model_risk
    if risk is None and not factors:
        return None
    return RiskView(risk, rank, out_of, percentile, factors, source, model_id)


_MODELS: dict[tuple[Path, str], TrainedModel] = {}


def _model(settings: Settings, model_id: str) -> TrainedModel:
    """A saved model, loaded once per process (a model id never changes what it names)."""
    from joinedup.analytics.risk.registry import load_model

    key = (settings.home, model_id)
    if key not in _MODELS:
        _MODELS.clear()  # keep only the latest
        _MODELS[key] = load_model(settings, model_id)
    return _MODELS[key]


def _explain_person(
    settings: Settings, feature_rows: Rows
) -> tuple[str, float, tuple[str, ...]] | None:
    """The latest model's risk and top factors (plain words) for this one person."""
    from joinedup.analytics.risk.registry import list_models

    ids = list_models(settings)
    if not ids:
        return None
    model = _model(settings, ids[-1])
    x = matrix(pd.DataFrame(feature_rows))
    risk = float(model.fitted.predict(x)[0])
    return model.model_id, risk, tuple(explain(model.fitted.booster, x)[0])
