"""The `joinedup` command line: set-up, generate, serve, demo and reports.

Commands are thin: they parse options, call a service function and print its result. User
mistakes (bad options, missing stores, unwritable folders) end in one clear line on stderr and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from joinedup.access.cli import access_app
from joinedup.analytics.engine import DEFAULT_ENGINE, ENGINES, Engine, EngineError, engine_named
from joinedup.analytics.evaluation.cli import evaluate_app
from joinedup.care.cli import care_app
from joinedup.cli_common import HomeOption
from joinedup.commissioning.cli_delivery import delivery_app
from joinedup.commissioning.cli_variation import variation_app
from joinedup.commissioning.cli_workforce import workforce_app
from joinedup.commissioning.contracts.cli import contract_app
from joinedup.dates import long_date
from joinedup.directory.cli import directory_app
from joinedup.errors import UserError
from joinedup.governance.cli_audit import audit_app
from joinedup.governance.cli_objections import objections_app
from joinedup.governance.cli_tokens import token_app
from joinedup.governance.cli_users import user_app
from joinedup.interop.cli import export_app
from joinedup.neighbourhood.cli import HELP as NEWS2_HELP
from joinedup.neighbourhood.cli import news2_command
from joinedup.neighbourhood.visits.cli import visits_app
from joinedup.neighbourhood.ward_cli import ward_app
from joinedup.population.cli_organisations import (
    keep_organisations_in_step,
    sync_organisations_now,
)
from joinedup.population.ingest.cli import ingest_app
from joinedup.settings import Settings

if TYPE_CHECKING:  # the store brings Arrow: imported by the commands that use it (fast --help)
    from joinedup.population.store import PopulationStore

try:  # recent Typer carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer uses click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

app = typer.Typer(
    name="joinedup",
    help="joinedup: joined-up primary and community care for NHS neighbourhoods.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(
    help="Set up and inspect the care store (SQLite or PostgreSQL).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
model_app = typer.Typer(
    help="Train, recalibrate and describe the emergency-admission risk model.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")
app.add_typer(audit_app, name="audit")
app.add_typer(objections_app, name="objections")
app.add_typer(user_app, name="user")
app.add_typer(ingest_app, name="ingest")
app.add_typer(export_app, name="export")
app.add_typer(delivery_app, name="delivery")
app.add_typer(variation_app, name="variation")
app.add_typer(workforce_app, name="workforce")
app.add_typer(contract_app, name="contract")
app.add_typer(care_app, name="care")
app.add_typer(evaluate_app, name="evaluate")
app.command("news2", help=NEWS2_HELP)(news2_command)
app.add_typer(visits_app, name="visits")
app.add_typer(ward_app, name="ward")
app.add_typer(directory_app, name="directory")
app.add_typer(token_app, name="token")
app.add_typer(access_app, name="access")

out = Console()
err = Console(stderr=True)

# Errors that mean the user asked for something that cannot be done: one line, no traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, PermissionError)

PatientsOption = Annotated[
    int,
    typer.Option(
        "--patients", "-n", min=100, max=5_000_000, help="Number of people in the synthetic area."
    ),
]
SeedOption = Annotated[
    int, typer.Option("--seed", "-s", min=0, help="Random seed (same seed, same area).")
]
HostOption = Annotated[str, typer.Option("--host", help="Address to serve on.")]
PortOption = Annotated[
    int, typer.Option("--port", "-p", min=1, max=65535, help="Port to serve on.")
]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(code)


@contextmanager
def progress_bar() -> Iterator[Callable[[str, float], None]]:
    """A Rich progress bar driven by `report(stage, fraction)` callbacks.

    The bar appears on the first report, so work that fails before starting prints only its
    one-line error.
    """
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    bar = Progress(*columns, console=err)
    task: list[TaskID] = []

    def report(stage: str, fraction: float) -> None:
        if not task:
            bar.start()
            task.append(bar.add_task(stage, total=1.0))
        bar.update(task[0], description=stage, completed=min(max(fraction, 0.0), 1.0))

    try:
        yield report
        if task:
            bar.update(task[0], description="done", completed=1.0)
    finally:
        bar.stop()


@app.command()
def generate(
    patients: PatientsOption = 300_000,
    seed: SeedOption = 1,
    home: HomeOption = None,
    report: Annotated[
        bool, typer.Option("--report", help="Print calibration figures after.")
    ] = False,
    plant_programme: Annotated[
        float | None,
        typer.Option(
            "--plant-programme",
            help="Plant a programme with this known relative effect on emergency admissions "
            "(e.g. -0.2) in half the neighbourhoods, for evaluation to find.",
        ),
    ] = None,
    extract_date: Annotated[
        str | None,
        typer.Option(
            "--extract-date",
            help="The last day the records reach, YYYY-MM-DD [default: 2026-03-31, the end of "
            "financial year 2025/26]; the same seed and date give the same area.",
        ),
    ] = None,
) -> None:
    """Generate a realistic synthetic area into the population store."""
    from joinedup.dates import long_date
    from joinedup.population.store import PopulationStore
    from joinedup.population.synthetic import generate_area
    from joinedup.population.synthetic.calendar import DEFAULT_EXTRACT_DATE, Calendar
    from joinedup.population.synthetic.programme import check_effect

    settings = Settings.from_env(home)
    store = PopulationStore(settings.population_dir)
    try:
        extract = DEFAULT_EXTRACT_DATE if extract_date is None else _iso_date(extract_date)
        Calendar(extract)  # a date the generator cannot use is refused before anything starts
        if plant_programme is not None:
            check_effect(plant_programme)
        with progress_bar() as progress:
            metadata = generate_area(
                store,
                patients=patients,
                seed=seed,
                progress=progress,
                plant_programme=plant_programme,
                extract_date=extract,
            )
    except ValueError as error:  # a date, effect or area the generator cannot use
        fail(str(error))
    out.print(
        f"Generated {metadata['patients']:,} people in {settings.population_dir}, "
        f"with records to {long_date(extract)}"
    )
    keep_organisations_in_step(settings, out)
    if report:
        print_calibration(store)


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the extract date must be written YYYY-MM-DD, not {text!r}") from None


@app.command()
def calibration(home: HomeOption = None) -> None:
    """Compare the stored area's figures with their published targets."""
    from joinedup.population.store import PopulationStore

    print_calibration(PopulationStore(Settings.from_env(home).population_dir))


def print_calibration(store: PopulationStore) -> None:
    from joinedup.population.calibration import calibration_figures

    figures = calibration_figures(store)
    table = Table(title="Synthetic area calibration (measured from the stored tables)")
    for heading in ("figure", "target", "measured", "unit", "within ±15%"):
        table.add_column(heading, justify="left" if heading == "figure" else "right")
    for f in figures:
        table.add_row(
            f.name, f"{f.target:g}", f"{f.measured:.3g}", f.unit, "yes" if f.within else "NO"
        )
    out.print(table)


@app.command()
def contracts(
    table: Annotated[
        str | None, typer.Argument(help="A table to describe column by column.")
    ] = None,
) -> None:
    """List the population-store table contracts, or one table's columns."""
    from joinedup.population.contracts import CONTRACTS, contract

    if table is None:
        listing = Table(title="Population-store tables")
        listing.add_column("table")
        listing.add_column("one row is")
        listing.add_column("description")
        for c in CONTRACTS.values():
            listing.add_row(c.name, c.grain, c.description)
        out.print(listing)
        return
    try:
        chosen = contract(table)
    except KeyError as exc:
        fail(str(exc.args[0]))
    columns = Table(title=f"{chosen.name}: {chosen.description}")
    for heading in ("column", "type", "rules", "description"):
        columns.add_column(heading)
    for column in chosen.columns:
        columns.add_row(column.name, column.type, "; ".join(column.rules()), column.description)
    out.print(columns)


@app.command()
def score(
    name: Annotated[
        str, typer.Argument(metavar="SCORE", help="efi, hfrs, charlson, elixhauser or cms.")
    ],
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.csv", help="Extract: person_id,code[,date][,age].")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write scores to this CSV (rejects beside it)."),
    ] = None,
    index_date: Annotated[
        str | None,
        typer.Option(
            "--index-date", help="Score as of this date (YYYY-MM-DD); look-backs end here."
        ),
    ] = None,
) -> None:
    """Score any extract with a published score; every rejected row is reported with its reason.

    person_id may be any text (written back as given); columns the score does not use are
    ignored. Exits with 1 when no row could be scored."""
    from joinedup.analytics.extract_scoring.cli import ScoreArgs, run_score

    # The plain form of this command is run by `joinedup.launcher` without Typer; this is the
    # same run, reached by `python -m joinedup.cli` or with an option spelled another way.
    _parse_date(index_date)  # a usage error (exit 2) before anything is read
    run_score(
        ScoreArgs(name, input_path, output, index_date),
        lambda line: out.print(line, markup=False, highlight=False, soft_wrap=True),
        lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True),
    )


def _parse_date(text: str | None) -> dt.date | None:
    """--index-date as the score command reads it; a usage error (exit 2) when malformed."""
    from joinedup.analytics.extract_scoring.cli import BadIndexDate, parse_index_date

    try:
        return parse_index_date(text)
    except BadIndexDate as exc:
        fail(str(exc), code=2)


@app.command()
def validate(home: HomeOption = None) -> None:
    """Check every table in the population store against its contract."""
    from joinedup.population.contracts import contract
    from joinedup.population.store import PopulationStore
    from joinedup.population.validation import reference_violations, validate_table

    store = PopulationStore(Settings.from_env(home).population_dir)
    store.metadata()  # a clear error when there is no store
    tables = {name: store.read(name) for name in store.tables()}
    violations = [v for name, t in tables.items() for v in validate_table(contract(name), t)]
    violations += reference_violations(tables)
    for name, data in tables.items():
        out.print(f"{name:<26} {data.num_rows:>12,} rows")
    if violations:
        for violation in violations[:50]:
            err.print(str(violation), markup=False)
        fail(f"{len(violations):,} rows break their contracts")
    out.print("All tables meet their contracts.")


EngineOption = Annotated[
    str, typer.Option("--engine", "-e", help=f"Where analytics run: {' or '.join(ENGINES)}.")
]


@app.command()
def stratify(
    engine: EngineOption = DEFAULT_ENGINE,
    index_date: Annotated[
        str | None, typer.Option("--index-date", help="As of this date [default: extract date].")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Score, segment and rank the whole population; store the results as a versioned run."""
    from joinedup.analytics.stratify import stratify as run_stratification

    chosen = _engine(engine)
    settings = Settings.from_env(home)
    scorer = _latest_risk_scorer(settings)
    with err.status("stratifying") as status:
        run = run_stratification(
            settings,
            engine=chosen,
            index_date=_parse_date(index_date),
            progress=lambda note: status.update(note),
            risk_scorer=scorer,
        )
    counts = run.metadata.get("rows", {})
    out.print(
        f"Run {run.run_id}: {counts.get('person_results', 0):,} people as of "
        f"{long_date(run.index_date)} on {run.engine}, in {run.path}"
    )
    _print_segments(run)


def _latest_risk_scorer(settings: Settings) -> Any:
    """The latest trained model's scorer, or None (with a hint) when none is trained."""
    from joinedup.analytics.risk.registry import list_models, load_model, risk_scorer

    if not list_models(settings):
        err.print(
            "No risk model trained yet: the run has no risk column "
            "(`joinedup model train` trains one).",
            markup=False,
        )
        return None
    return risk_scorer(load_model(settings))


@model_app.command("train")
def model_train(engine: EngineOption = DEFAULT_ENGINE, home: HomeOption = None) -> None:
    """Train on a temporal split of the stored area and write the model with its card."""
    model = _train_model(Settings.from_env(home), _engine(engine))
    out.print(model.card.to_markdown(), markup=False, highlight=False, soft_wrap=True)


def _engine(name: str) -> Engine:
    """The --engine option as an engine; an unknown name is a usage error (exit 2)."""
    try:
        return engine_named(name)
    except EngineError as exc:
        fail(f"--engine: {exc}", code=2)


def _train_model(settings: Settings, engine: Engine = DEFAULT_ENGINE) -> Any:
    from joinedup.analytics.risk.registry import train_admission_model

    with err.status("training the emergency-admission risk model"):
        model = train_admission_model(settings, engine=engine)
    out.print(f"Risk model {model.model_id} trained (`joinedup model card` shows its card).")
    return model


@model_app.command("recalibrate")
def model_recalibrate(home: HomeOption = None) -> None:
    """Refit the latest model's calibration on this area's most recent year (a new model)."""
    from joinedup.analytics.risk.registry import load_model, recalibrate

    settings = Settings.from_env(home)
    with err.status("recalibrating"):
        model = recalibrate(load_model(settings), settings)
    out.print(f"Model {model.model_id} recalibrated.")
    out.print(model.card.to_markdown(), markup=False, highlight=False, soft_wrap=True)


@model_app.command("card")
def model_card(
    model_id: Annotated[str | None, typer.Argument(help="A model id [default: latest].")] = None,
    home: HomeOption = None,
) -> None:
    """Print a trained model's card."""
    from joinedup.analytics.risk.registry import load_model

    model = load_model(Settings.from_env(home), model_id)
    out.print(model.card.to_markdown(), markup=False, highlight=False, soft_wrap=True)


def _print_segments(run: Any) -> None:
    summary = run.segment_summary().to_pylist()
    table = Table(title="Segments")
    for heading in ("scheme", "segment", "people", "share of cost"):
        table.add_column(heading, justify="left" if heading in ("scheme", "segment") else "right")
    for row in summary:
        table.add_row(
            str(row.get("scheme")),
            str(row.get("segment")),
            f"{row.get('people', 0):,}",
            f"{100 * (row.get('cost_share') or 0):.1f}%",
        )
    out.print(table)


@app.command()
def runs(home: HomeOption = None) -> None:
    """List the stored stratification runs, newest last."""
    from joinedup.analytics.stratify import list_runs

    listing = Table(title="Stratification runs")
    for heading in ("run", "index date", "engine", "created"):
        listing.add_column(heading)
    for run in list_runs(Settings.from_env(home)):
        listing.add_row(run.run_id, run.index_date.isoformat(), run.engine, run.created_at)
    out.print(listing)


@app.command()
def risers(
    earlier: Annotated[str, typer.Argument(help="The earlier run's id.")],
    later: Annotated[str, typer.Argument(help="The later run's id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write CSV here.")] = None,
    home: HomeOption = None,
) -> None:
    """People whose segment, frailty or risk rose between two runs."""
    from joinedup.analytics.stratify import compare_runs

    found = compare_runs(Settings.from_env(home), earlier, later)
    out.print(f"{found.num_rows:,} risers between {earlier} and {later}")
    if output is not None:
        found.to_pandas().to_csv(output, index=False)
        out.print(f"Written to {output}")


@db_app.command("upgrade")
def db_upgrade(home: HomeOption = None) -> None:
    """Create or migrate the care store to the latest schema."""
    from joinedup.carestore.migrate import current_revision, upgrade

    settings = Settings.from_env(home)
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    out.print(f"Care store at revision {current_revision(settings.database_url)}")
    keep_organisations_in_step(settings, out)


@db_app.command("sync-organisations")
def db_sync_organisations(home: HomeOption = None) -> None:
    """Mirror the population store's organisations into the care store (also done by `db
    upgrade`, `generate` and `ingest` when both stores exist)."""
    sync_organisations_now(Settings.from_env(home), out)


@db_app.command("status")
def db_status(home: HomeOption = None) -> None:
    """Show whether the care store is reachable and up to date."""
    from joinedup.carestore.health import care_store_health

    for key, value in care_store_health(Settings.from_env(home).database_url).items():
        out.print(f"{key}: {value}")


WORKER_HEALTHCHECK_SECONDS = 30
GRACEFUL_SHUTDOWN_SECONDS = 30
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        "-w",
        min=1,
        max=64,
        help="Worker processes (production on PostgreSQL: about two per core). A worker that "
        "dies is replaced.",
    ),
]


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: WorkersOption = 1,
    home: HomeOption = None,
) -> None:
    """Serve the web app and API (several worker processes with --workers)."""
    settings = Settings.from_env(home)
    from joinedup.web.app import request_threads

    request_threads(settings)  # a bad JOINEDUP_REQUEST_THREADS stops here, in words
    out.print(
        f"joinedup is serving at http://{host}:{port}/  (API docs at /api/docs; Ctrl+C stops)"
    )
    with _ward_ticker(settings):  # one ticker, in the serving (or supervising) process
        _run_uvicorn(settings, host, port, workers)


def _run_uvicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    import os

    import uvicorn

    from joinedup.carestore.db import backend_name

    if workers == 1:
        from joinedup.web.app import create_app

        app = create_app(settings, warm="background")  # answers at once (the demo's address)
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    if backend_name(settings.database_url) == "sqlite":
        err.print(
            "note: several workers share the SQLite care store's one write lock; "
            "use PostgreSQL (JOINEDUP_DATABASE_URL) in production"
        )
    # Each worker process builds its own app from the environment: pass it the home chosen here.
    os.environ["JOINEDUP_HOME"] = str(settings.home)
    out.print(f"{workers} worker processes", highlight=False)
    uvicorn.run(
        "joinedup.web.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A worker busy for a few seconds (a large list, a loaded machine) is not hung: only
        # one that misses the supervisor's ping for this long is replaced.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        # On stop, requests in flight get this long to finish (each write is one transaction:
        # one cut short is rolled back whole).
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_level="warning",
    )


@contextmanager
def _ward_ticker(settings: Settings) -> Iterator[None]:
    """While serving, the virtual ward's clock ticks in a thread (JOINEDUP_WARD_TICK_SECONDS)."""
    from joinedup.carestore.db import make_engine, session_factory
    from joinedup.neighbourhood.ward_tick import WardTicker, interval_seconds

    seconds = interval_seconds(settings)
    if not seconds:
        yield
        return
    engine = make_engine(settings.database_url)
    ticker = WardTicker(session_factory(engine), seconds)
    ticker.start()
    try:
        yield
    finally:
        ticker.stop()
        engine.dispose()


@app.command()
def demo(
    patients: PatientsOption = 300_000,
    seed: SeedOption = 1,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    home: HomeOption = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Generate the area again, up to yesterday, even if one exists (what belonged "
            "to the old area is set aside first).",
        ),
    ] = False,
) -> None:
    """Generate the embedded-default area up to yesterday, train the risk model, stratify, set up
    the care store and serve it; each step is skipped when its result already exists for this
    area. A stored area is reused as it is: the command says how old its records are."""
    from joinedup.analytics.risk.registry import list_models
    from joinedup.analytics.stratify import list_runs
    from joinedup.carestore.db import make_engine, session_factory
    from joinedup.carestore.migrate import upgrade
    from joinedup.demo import (
        area_age_words,
        demo_extract_date,
        demo_run_dates,
        seed_demo,
        set_aside_previous_area,
    )
    from joinedup.population.organisation_mirror import sync_organisations
    from joinedup.population.store import PopulationStore

    settings = Settings.from_env(home)
    store = PopulationStore(settings.population_dir)
    today = dt.date.today()
    extract = demo_extract_date(today)
    regenerate = fresh or not _store_matches(store, patients, seed)
    if regenerate:
        if store.exists() and not _store_matches(store, patients, seed, extract):
            moved = set_aside_previous_area(settings, now=dt.datetime.now(dt.UTC))
            if moved is not None:
                out.print(f"What belonged to the previous area is set aside in {moved}")
        generate(
            patients=patients,
            seed=seed,
            home=settings.home,
            report=True,
            extract_date=extract.isoformat(),
        )
    stored = dt.date.fromisoformat(str(store.metadata()["extract_date"])[:10])
    if not regenerate:
        stale = (
            ""
            if stored >= extract
            else "; `joinedup demo --fresh` generates it again up to yesterday (and sets aside "
            "the care store, runs and models of this one)"
        )
        out.print(
            f"Using the area already in {settings.population_dir}, with records "
            f"{area_age_words(stored, today)}{stale}"
        )
    if regenerate or not list_models(settings):
        _train_model(settings)
    if regenerate or not list_runs(settings):
        for index_date in demo_run_dates(stored):  # two runs, so that there are risers
            stratify(index_date=index_date.isoformat(), home=settings.home)
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    summary = sync_organisations(store, sessions)
    out.print(f"Care store ready: {summary}")
    seed_demo(out.print, store, sessions, settings, seed)
    serve(host=host, port=port, home=settings.home)


def _store_matches(
    store: PopulationStore, patients: int, seed: int, extract: dt.date | None = None
) -> bool:
    """Whether the stored area was generated with these arguments (and extract date, if given)."""
    if not store.exists():
        return False
    metadata = store.metadata()
    same = metadata.get("patients") == patients and metadata.get("seed") == seed
    if extract is None or not same:
        return same
    return str(metadata.get("extract_date", ""))[:10] == extract.isoformat()


def main() -> None:
    """Entry point: run the app, turning user mistakes into one-line errors."""
    try:
        result = app(standalone_mode=False, prog_name="joinedup")
    except click_exceptions.NoArgsIsHelpError as exc:
        out.print(exc.format_message(), markup=False, highlight=False)
        raise SystemExit(0) from None
    except click_exceptions.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "joinedup"
        fail(f"{exc.format_message()} (see `{command} --help`)", code=2)
    except typer.Abort:
        fail("interrupted", code=130)
    except USER_ERRORS as exc:
        fail(str(exc))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        fail(f"{exc.strerror or exc}{where}")
    # Without standalone mode click returns exit codes (e.g. from --help) instead of exiting.
    raise SystemExit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
