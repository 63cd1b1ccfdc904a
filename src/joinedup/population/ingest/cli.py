"""`joinedup ingest …`: take in an area's own data: FHIR R4 bundles and bulk NDJSON, HES
extracts, contract CSVs.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from joinedup.cli_common import HomeOption
from joinedup.errors import UserError
from joinedup.population.cli_organisations import keep_organisations_in_step
from joinedup.settings import Settings

if TYPE_CHECKING:
    from joinedup.population.ingest.batch import BatchResult

ingest_app = typer.Typer(
    help="Take in an area's own data: FHIR R4 bundles and NDJSON, HES extracts, contract CSVs.",
    no_args_is_help=True,
)

out = Console()
err = Console(stderr=True)
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Load nothing if any record is rejected.")
]


class ReaderMissing(UserError, RuntimeError):
    """The reader for this kind of file is not installed in this build."""


def _run(home: Path | None, items: Iterable[Any], source: str, strict: bool) -> None:
    from joinedup.population.ingest.batch import IngestAborted, run_batch

    settings = Settings.from_env(home)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("reading", total=None)

        def report(phase: str, done: int) -> None:
            text = f"{phase} {done:,} records" if done else phase
            bar.update(task, description=text)

        try:
            result = run_batch(settings, items, source=source, strict=strict, progress=report)
        except IngestAborted as exc:
            bar.stop()
            print_summary(exc.result)
            raise
    print_summary(result)
    keep_organisations_in_step(settings, out)


def print_summary(result: BatchResult) -> None:
    table = Table(title=f"Ingest batch {result.batch_id}: {result.status}")
    for name in ("table", "read", "loaded", "updated", "unchanged", "rejected"):
        table.add_column(name, justify="left" if name == "table" else "right")
    for name, counts in sorted(result.tables.items()):
        table.add_row(
            name,
            *(
                f"{getattr(counts, f):,}"
                for f in ("read", "loaded", "updated", "unchanged", "rejected")
            ),
        )
    out.print(table)
    if result.costed_at_reference:
        out.print(
            f"costed at reference unit cost: {result.costed_at_reference:,} "
            "(the source gave no cost; see joinedup.population.unit_costs for the sources)"
        )
    if result.unsupported:
        unsupported = Table(title="Not taken (counted, not fatal)")
        for name in ("kind", "detail", "count"):
            unsupported.add_column(name, justify="right" if name == "count" else "left")
        for row in result.unsupported[:30]:
            unsupported.add_row(row["kind"], row["detail"][:70], f"{row['count']:,}")
        out.print(unsupported)
        if len(result.unsupported) > 30:
            out.print(f"… and {len(result.unsupported) - 30} more kinds in the batch summary")
    if result.rejects:
        out.print(
            f"{result.rejects:,} rejected record(s), each with its reason: {result.rejects_path}"
        )


def _reader(module: str, function: str, owner_note: str) -> Callable[..., Iterable[Any]]:
    try:
        found = importlib.import_module(f"joinedup.population.ingest.{module}")
        reader: Callable[..., Iterable[Any]] = getattr(found, function)
    except (ImportError, AttributeError):
        raise ReaderMissing(
            f"{owner_note} cannot be read by this build yet "
            f"(joinedup.population.ingest.{module}.{function} is missing)"
        ) from None
    return reader


@ingest_app.command("fhir")
def ingest_fhir(
    paths: Annotated[
        list[Path], typer.Argument(help="FHIR R4 bundles (.json) or Bulk Data NDJSON, or folders.")
    ],
    strict: StrictOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest FHIR R4 transaction/collection bundles and Bulk Data NDJSON."""
    from joinedup.population.ingest.fhir import expand_paths, read_fhir

    try:
        files = expand_paths(paths)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    if not files:
        raise UserError("no .json or .ndjson files found in " + ", ".join(map(str, paths)))
    _run(
        home,
        read_fhir(files),
        f"FHIR: {len(files)} file(s) from {', '.join(map(str, paths))}",
        strict,
    )


@ingest_app.command("hes")
def ingest_hes(
    kind: Annotated[str, typer.Argument(help="Which HES extract: apc, ae or op.")],
    file: Annotated[Path, typer.Argument(help="The extract (HES layout).")],
    strict: StrictOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest a HES-layout extract (admitted care, A&E or outpatients)."""
    if kind not in ("apc", "ae", "op"):
        raise UserError(f"the HES extract kind must be apc, ae or op, not {kind!r}")
    if not file.is_file():
        raise UserError(f"{file} does not exist")
    read_hes = _reader("hes", "read_hes", "HES extracts")
    _run(home, read_hes(kind, file), f"HES {kind}: {file}", strict)


@ingest_app.command("csv")
def ingest_csv(
    table: Annotated[str, typer.Argument(help="Contract table (`joinedup contracts` lists them).")],
    file: Annotated[Path, typer.Argument(help="CSV with the table's documented columns.")],
    strict: StrictOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest any contract table from a CSV with its documented columns."""
    from joinedup.population.contracts import CONTRACTS

    if table not in CONTRACTS:
        raise UserError(f"unknown table {table!r}; the tables are: {', '.join(sorted(CONTRACTS))}")
    if not file.is_file():
        raise UserError(f"{file} does not exist")
    read_contract_csv = _reader("contract_csv", "read_contract_csv", "contract CSVs")
    _run(home, read_contract_csv(table, file), f"CSV {table}: {file}", strict)


@ingest_app.command("batches")
def batches(home: HomeOption = None) -> None:
    """List the ingest batches of this home, newest first."""
    from joinedup.population.ingest.batch import list_batches

    found = list_batches(Settings.from_env(home))
    if not found:
        out.print("no ingest batches yet")
        return
    table = Table(title="Ingest batches")
    for name in ("batch", "status", "source", "loaded", "updated", "rejected"):
        table.add_column(name)
    for batch in found:
        counts = batch.tables.values()
        table.add_row(
            batch.batch_id,
            batch.status,
            batch.source[:60],
            f"{sum(c.loaded for c in counts):,}",
            f"{sum(c.updated for c in counts):,}",
            f"{batch.rejects:,}",
        )
    out.print(table)


@ingest_app.command("show")
def show(
    batch_id: Annotated[str, typer.Argument(help="A batch id from `joinedup ingest batches`.")],
    rejects: Annotated[int, typer.Option(help="How many rejects to list.")] = 20,
    home: HomeOption = None,
) -> None:
    """Show one batch: its summary and its first rejects with their reasons."""
    from joinedup.population.ingest.batch import load_batch, read_rejects

    result = load_batch(Settings.from_env(home), batch_id)
    out.print(f"source: {result.source}; started {result.started_at}, {result.duration_seconds}s")
    print_summary(result)
    for row in read_rejects(result, limit=rejects):
        out.print(f"  {row['location']}: {row['reason']}", highlight=False, markup=False)
