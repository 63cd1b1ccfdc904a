"""Stratification runs: score, segment and cost the whole registered population, versioned.

`stratify` reads the population store, computes the person summary (scores, conditions,
activity and cost at the index date), assigns every person a segment in each scheme, and
writes a **run** to ``<home>/runs/<run_id>/``:

* ``person_results.parquet`` — one row per registered person: the person summary, one column
  per segmentation scheme (the segment id), and the risk columns when a risk scorer is given;
* ``pareto.parquet`` — cost concentration by area, neighbourhood and practice (`pareto`);
* ``segment_summary.parquet`` — people and cost per segment of each scheme;
* ``run.json`` — run id, created_at, index date, engine, parameters, codelist versions, score
  table checksums, segmentation scheme checksums, row counts and duration.

A run is written into a hidden temporary folder that is renamed into place only when every
file is complete, so a failed run leaves nothing behind. `compare_runs` lists **risers**:
people whose segment level rose, whose eFI or HFRS category worsened, or whose risk rose by
more than a threshold between two runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from joinedup.analytics.engine import Engine, connection, put_table, read_store
from joinedup.analytics.pareto import TOP_PERCENTS, cost_concentration, segment_summary
from joinedup.analytics.person_summary import COLUMNS, TABLES, WINDOW_DAYS, person_summary
from joinedup.analytics.scores.conditions import DATA_DIR as SCORE_DATA_DIR
from joinedup.analytics.segmentation import DEFAULT_SCHEMES, SCHEMES_DIR, Scheme, load_scheme
from joinedup.errors import UserError
from joinedup.json_files import read_json
from joinedup.population.store import PopulationStore, StoreError
from joinedup.settings import Settings
from joinedup.terminology.codelists import codelist_index

RUNS_DIR = "runs"
RUN_FILE = "run.json"
PERSON_RESULTS = "person_results.parquet"
PARETO = "pareto.parquet"
SEGMENT_SUMMARY = "segment_summary.parquet"
DEFAULT_RISK_THRESHOLD = 0.1

#: A risk scorer: (population-store tables, index date) → Ibis table with person_id, risk, ….
RiskScorer = Callable[[dict[str, ibis.Table], dt.date], ibis.Table]
Progress = Callable[[str], None]

EFI_ORDER = ("fit", "mild", "moderate", "severe")
HFRS_ORDER = ("low", "intermediate", "high")

_ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "string": pa.string()}


class RunError(UserError, RuntimeError):
    """A stratification run cannot be made, found or compared as asked."""


@dataclass(frozen=True)
class StratificationRun:
    """A stored stratification run: its folder and its `run.json`."""

    run_id: str
    path: Path
    metadata: dict[str, Any] = field(repr=False)

    @property
    def index_date(self) -> dt.date:
        return dt.date.fromisoformat(self.metadata["index_date"])

    @property
    def engine(self) -> str:
        return str(self.metadata["engine"])

    @property
    def created_at(self) -> str:
        return str(self.metadata["created_at"])

    def person_results(self, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path / PERSON_RESULTS, columns=columns)

    def pareto(self) -> pa.Table:
        return pq.read_table(self.path / PARETO)

    def segment_summary(self) -> pa.Table:
        return pq.read_table(self.path / SEGMENT_SUMMARY)


def runs_dir(settings: Settings) -> Path:
    return settings.home / RUNS_DIR


def stratify(
    settings: Settings,
    *,
    engine: Engine = "duckdb",
    index_date: dt.date | str | None = None,
    progress: Progress | None = None,
    risk_scorer: RiskScorer | None = None,
    schemes: Sequence[str | Path] = DEFAULT_SCHEMES,
) -> StratificationRun:
    """Stratify the registered population at `index_date` (default: the store's extract date)
    on `engine` and store the run; `progress` is called with a short note before each step.
    """
    started = time.perf_counter()
    say = progress or (lambda _note: None)
    store = PopulationStore(settings.population_dir)
    metadata = store.metadata()
    if index_date is None:
        extract = metadata.get("extract_date")
        if not extract:
            raise StoreError(f"the population store at {store.root} does not say its extract date")
        index_date = str(extract)[:10]
    if isinstance(index_date, str):
        try:
            when = dt.date.fromisoformat(index_date)
        except ValueError:
            raise RunError(
                f"the index date must be a date like 2026-03-31, not {index_date!r}"
            ) from None
    else:
        when = index_date
    missing = [t for t in TABLES if not store.path(t).is_file()]
    if missing:
        raise StoreError(
            f"the population store at {store.root} has no {', '.join(missing)} table(s); "
            "run `joinedup generate` or `joinedup ingest` first"
        )
    loaded = [load_scheme(s) for s in schemes]
    if len({s.id for s in loaded}) != len(loaded):
        raise RunError("two segmentation schemes have the same id")

    say(f"connecting to {engine}")
    with connection(engine) as con:
        return _run(
            settings, con, engine, store, metadata, when, loaded, schemes, say, risk_scorer, started
        )


def _run(
    settings: Settings,
    con: BaseBackend,
    engine: str,
    store: PopulationStore,
    metadata: dict[str, Any],
    when: dt.date,
    loaded: list[Scheme],
    schemes: Sequence[str | Path],
    say: Progress,
    risk_scorer: RiskScorer | None,
    started: float,
) -> StratificationRun:
    say("reading the population store")
    tables = read_store(con, store, list(TABLES))
    say("scoring and summarising each person")
    people = person_summary(tables, when)
    for scheme in loaded:
        people = scheme.assign(people)
    risk_columns: list[str] = []
    if risk_scorer is not None:
        say("scoring admission risk")
        people, risk_columns = _join_risk(people, risk_scorer(dict(tables), when))
    schema = pa.schema(
        [pa.field(name, _ARROW[kind]) for name, kind in COLUMNS.items()]
        + [pa.field(s.id, pa.string()) for s in loaded]
    )
    results = con.to_pyarrow(people)
    results = _conform(results, schema, risk_columns).sort_by("person_id")

    say("cost concentration and segment totals")
    view = put_table(con, f"joinedup_person_results_{secrets.token_hex(4)}", results)
    pareto = con.to_pyarrow(cost_concentration(view)).sort_by(
        [("level", "ascending"), ("group_code", "ascending"), ("top_percent", "ascending")]
    )
    segments = _every_segment(con.to_pyarrow(segment_summary(view, loaded)), loaded)

    created = dt.datetime.now(dt.UTC)
    run_id = f"{created:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"
    info: dict[str, Any] = {
        "run_id": run_id,
        "created_at": created.isoformat(timespec="seconds"),
        "index_date": when.isoformat(),
        "engine": engine,
        "parameters": {
            "window_days": WINDOW_DAYS,
            "top_percents": list(TOP_PERCENTS),
            "schemes": [s.id for s in loaded],
            "risk_scorer": _callable_name(risk_scorer),
        },
        "population_store": {
            "path": str(store.root),
            "extract_date": str(metadata.get("extract_date", ""))[:10],
            "area_name": metadata.get("area_name"),
            "synthetic": bool(metadata.get("synthetic", False)),
            "seed": metadata.get("seed"),
        },
        "codelists": _codelist_versions(),
        "score_tables": _score_table_versions(),
        "segmentations": {s.id: _scheme_info(s, schemes[i]) for i, s in enumerate(loaded)},
        "risk_columns": risk_columns,
        "rows": {
            "person_results": results.num_rows,
            "pareto": pareto.num_rows,
            "segment_summary": segments.num_rows,
        },
    }
    say("writing the run")
    target = _write_run(settings, run_id, info, results, pareto, segments, started)
    return run_at(target)


def _every_segment(found: pa.Table, schemes: Sequence[Scheme]) -> pa.Table:
    """The segment summary in scheme and rule order, with empty segments as zero rows."""
    rows = {(r["scheme"], r["segment"]): r for r in found.to_pylist()}
    ordered = []
    for scheme in schemes:
        for segment in scheme.segments:
            empty = {
                "scheme": scheme.id,
                "segment": segment.id,
                "people": 0,
                "people_share": 0.0,
                "total_cost": 0.0,
                "cost_share": 0.0,
            }
            row = rows.get((scheme.id, segment.id), empty)
            ordered.append({**row, "name": segment.name, "level": segment.level})
    schema = pa.schema(
        [
            ("scheme", pa.string()),
            ("segment", pa.string()),
            ("name", pa.string()),
            ("level", pa.int64()),
            ("people", pa.int64()),
            ("people_share", pa.float64()),
            ("total_cost", pa.float64()),
            ("cost_share", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(ordered, schema=schema)


def _join_risk(people: ibis.Table, risk: ibis.Table) -> tuple[ibis.Table, list[str]]:
    if "person_id" not in risk.columns or "risk" not in risk.columns:
        raise RunError("the risk scorer must return a table with person_id and risk columns")
    extra = [c for c in risk.columns if c != "person_id"]
    clash = [c for c in extra if c in people.columns]
    if clash:
        raise RunError(f"the risk scorer's columns clash with person results: {', '.join(clash)}")
    risk = risk.mutate(person_id=risk.person_id.cast("int64"), risk=risk.risk.cast("float64"))
    joined = people.left_join(risk, "person_id").drop("person_id_right")
    return joined, extra


def _conform(results: pa.Table, schema: pa.Schema, extra: list[str]) -> pa.Table:
    columns = [results.column(f.name).cast(f.type) for f in schema]
    fields = list(schema)
    for name in extra:
        columns.append(results.column(name))
        fields.append(pa.field(name, results.schema.field(name).type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _write_run(
    settings: Settings,
    run_id: str,
    info: dict[str, Any],
    results: pa.Table,
    pareto: pa.Table,
    segments: pa.Table,
    started: float,
) -> Path:
    root = runs_dir(settings)
    target = root / run_id
    partial = root / f".partial-{run_id}"
    try:
        partial.mkdir(parents=True)
    except OSError as exc:
        raise RunError(f"cannot write a run under {root}: {exc.strerror}") from exc
    try:
        pq.write_table(results, partial / PERSON_RESULTS, compression="zstd")
        pq.write_table(pareto, partial / PARETO, compression="zstd")
        pq.write_table(segments, partial / SEGMENT_SUMMARY, compression="zstd")
        info["duration_seconds"] = round(time.perf_counter() - started, 3)
        (partial / RUN_FILE).write_text(json.dumps(info, indent=2, default=str))
        partial.replace(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def _callable_name(fn: Callable[..., Any] | None) -> str | None:
    if fn is None:
        return None
    module = getattr(fn, "__module__", "")
    name = getattr(fn, "__qualname__", type(fn).__name__)
    return f"{module}.{name}" if module else name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _codelist_versions() -> dict[str, Any]:
    index = codelist_index()
    return {
        "built": str(index.get("built", "")) or None,
        "lists": {
            entry["id"]: {"version": entry.get("version"), "sha256": entry.get("sha256")}
            for entry in index.get("codelists", [])
        },
    }


def _score_table_versions() -> dict[str, str]:
    """sha256 of every published table the scores read (scores/data/<score>/*.csv)."""
    return {
        str(path.relative_to(SCORE_DATA_DIR)): _sha256(path)
        for path in sorted(SCORE_DATA_DIR.glob("*/*.csv"))
    }


def _scheme_info(scheme: Scheme, source: str | Path) -> dict[str, Any]:
    path = Path(source)
    if not path.suffix:
        path = SCHEMES_DIR / f"{source}.yaml"
    return {
        "name": scheme.name,
        "file": path.name,
        "sha256": _sha256(path),
        "segments": [{"id": s.id, "name": s.name, "level": s.level} for s in scheme.segments],
    }


# --- finding runs -------------------------------------------------------------------------------


def list_runs(settings: Settings) -> list[StratificationRun]:
    """Every complete run, oldest first (by created_at, then run id)."""
    root = runs_dir(settings)
    if not root.is_dir():
        return []
    runs = []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not (folder / RUN_FILE).is_file():
            continue
        runs.append(run_at(folder))
    return sorted(runs, key=lambda r: (r.created_at, r.run_id))


def load_run(settings: Settings, run_id: str) -> StratificationRun:
    folder = runs_dir(settings) / run_id
    if run_id.startswith(".") or "/" in run_id or not (folder / RUN_FILE).is_file():
        known = ", ".join(r.run_id for r in list_runs(settings)) or "none yet"
        raise RunError(f"no stratification run {run_id!r}; the runs are: {known}")
    return run_at(folder)


def run_at(folder: Path) -> StratificationRun:
    """The run stored in `folder` (its `run.json` parsed once per version of the file: pages
    ask for the latest run on every request, and the runs only grow)."""
    return StratificationRun(folder.name, folder, read_json(folder / RUN_FILE))


def latest_run(settings: Settings) -> StratificationRun | None:
    runs = list_runs(settings)
    return runs[-1] if runs else None


# --- risers -------------------------------------------------------------------------------------


#: The schemes whose upward moves make a riser unless the caller says otherwise.
RISER_SCHEMES: tuple[str, ...] = ("frailty_four_group",)


def compare_runs(
    settings: Settings,
    earlier_id: str,
    later_id: str,
    *,
    threshold: float = DEFAULT_RISK_THRESHOLD,
    schemes: Sequence[str] | None = RISER_SCHEMES,
) -> pa.Table:
    """**Risers** between two runs: people in both whose need rose, with a plain-words reason.

    A person rises when, in any of `schemes` that both runs hold (default: the four-group
    frailty model; None: every shared scheme), their segment's level is higher in the later
    run; or their eFI category or HFRS category is worse; or (when both runs carry a ``risk``
    column) their risk rose by more than `threshold` (absolute: 0.1 is ten percentage points).
    Bridges to Health is left out by default because most of its moves (into "acutely ill" or
    "maternal and infant") are short-lived churn, not rising need.

    Columns: person_id, practice_code, neighbourhood_code (later run), ``<scheme>_before`` and
    ``_after`` for each compared scheme, efi_category_before/after, hfrs_category_before/after,
    risk_before/after/change (when present) and reason. Sorted by person_id.
    """
    earlier = load_run(settings, earlier_id)
    later = load_run(settings, later_id)
    shared = [
        s
        for s in earlier.metadata["parameters"]["schemes"]
        if s in later.metadata["parameters"]["schemes"] and (schemes is None or s in schemes)
    ]
    with_risk = "risk" in earlier.metadata.get("risk_columns", []) and "risk" in later.metadata.get(
        "risk_columns", []
    )
    wanted = ["person_id", "efi_category", "hfrs_category", *shared] + (
        ["risk"] if with_risk else []
    )
    before = earlier.person_results(wanted).to_pandas().set_index("person_id")
    after_cols = ["practice_code", "neighbourhood_code"]
    after = later.person_results(wanted + after_cols).to_pandas().set_index("person_id")
    both = after.merge(before, left_index=True, right_index=True, suffixes=("_after", "_before"))

    reasons: list[list[str]] = [[] for _ in range(len(both))]
    for s in shared:
        info = later.metadata["segmentations"][s]
        segs = {seg["id"]: seg for seg in info["segments"]}
        name = info["name"]
        for i, (b, a) in enumerate(zip(both[f"{s}_before"], both[f"{s}_after"], strict=True)):
            if b in segs and a in segs and segs[a]["level"] > segs[b]["level"]:
                reasons[i].append(f"{name}: moved up from {segs[b]['name']} to {segs[a]['name']}")
    for col, order, label in (
        ("efi_category", EFI_ORDER, "eFI frailty"),
        ("hfrs_category", HFRS_ORDER, "hospital frailty risk"),
    ):
        rank = {v: k for k, v in enumerate(order)}
        for i, (b, a) in enumerate(zip(both[f"{col}_before"], both[f"{col}_after"], strict=True)):
            if rank.get(a, -1) > rank.get(b, len(order)):
                reasons[i].append(f"{label} worsened from {b} to {a}")
    if with_risk:
        change = both["risk_after"] - both["risk_before"]
        for i, c in enumerate(change):
            if c == c and c > threshold:  # NaN-safe
                b, a = both["risk_before"].iloc[i], both["risk_after"].iloc[i]
                reasons[i].append(
                    f"admission risk rose from {b:.0%} to {a:.0%} (+{c * 100:.0f} points)"
                )
    both["reason"] = ["; ".join(r) for r in reasons]
    risers = both[both["reason"] != ""].reset_index().sort_values("person_id")
    columns = ["person_id", "practice_code", "neighbourhood_code"]
    for s in shared:
        columns += [f"{s}_before", f"{s}_after"]
    columns += ["efi_category_before", "efi_category_after"]
    columns += ["hfrs_category_before", "hfrs_category_after"]
    if with_risk:
        risers["risk_change"] = risers["risk_after"] - risers["risk_before"]
        columns += ["risk_before", "risk_after", "risk_change"]
    columns.append("reason")
    return pa.Table.from_pandas(risers[columns], preserve_index=False)


def risers_by_reason(risers: pa.Table) -> Mapping[str, int]:
    """How many risers each kind of reason found (a person can count under several)."""
    counts: dict[str, int] = {}
    for reason in risers.column("reason").to_pylist():
        for part in reason.split("; "):
            key = part.split(" from ")[0]
            counts[key] = counts.get(key, 0) + 1
    return counts
