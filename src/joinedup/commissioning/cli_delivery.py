"""`joinedup delivery …`: the delivery-plan tracker: import, export and list submissions.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_sessions, cli_actor, report_rejected_lines
from joinedup.errors import UserError
from joinedup.settings import Settings

if TYPE_CHECKING:
    pass

delivery_app = typer.Typer(
    help="The delivery-plan tracker: import, export and list submissions.", no_args_is_help=True
)

out = Console()
SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--specification",
        help="Specification file (YAML or CSV) [default: the London SCF's seventeen elements].",
    ),
]
CLI_ROLE = "cli"


@delivery_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: area_code, element_id, quarter, planned_percent, actual_percent, notes."
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Load nothing if any line is rejected.")
    ] = False,
    specification: SpecOption = None,
    home: HomeOption = None,
) -> None:
    """Record submissions from a CSV file, each as a new version; every rejected line is
    listed with its reason."""
    from joinedup.commissioning import delivery
    from joinedup.commissioning.specification import load_specification
    from joinedup.population.store import PopulationStore

    settings = Settings.from_env(home)
    spec = load_specification(specification)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {exc}") from None
    rows = delivery.read_csv(text)
    with care_sessions(settings) as sessions:
        populations = (
            {}
            if spec.areas
            else delivery.neighbourhood_populations(PopulationStore(settings.population_dir))
        )
        areas = delivery.delivery_areas(sessions, spec, populations)
        report = delivery.import_submissions(
            sessions, cli_actor(), CLI_ROLE, spec, areas, rows, strict=strict
        )
    summary = Table(title=f"Delivery submissions from {file.name}")
    summary.add_column("")
    summary.add_column("Lines", justify="right")
    summary.add_row("Read", f"{report.rows:,}")
    summary.add_row("Recorded", f"{report.recorded:,}")
    summary.add_row("Rejected", f"{len(report.rejected):,}")
    out.print(summary)
    report_rejected_lines(out, report)


@delivery_app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file [default: stdout].")
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Every version, not only those that stand.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Write the submissions as CSV (the format `delivery import` reads)."""
    from joinedup.commissioning import delivery

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions:
        records = delivery.submissions(sessions, latest_only=not all_versions)
    text = delivery.export_csv(records)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc}") from None
    out.print(f"{len(records):,} submissions written to {output}")


@delivery_app.command("list")
def list_command(
    area: Annotated[str | None, typer.Option("--area", help="Only this area code.")] = None,
    element: Annotated[str | None, typer.Option("--element", help="Only this element.")] = None,
    home: HomeOption = None,
) -> None:
    """The submissions that stand (the latest version of each area, element and quarter)."""
    from joinedup.commissioning import delivery

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions:
        records = delivery.submissions(
            sessions, area_code=area, element_id=element.upper() if element else None
        )
    table = Table(title="Delivery submissions that stand")
    for column in ("Area", "Element", "Quarter", "Planned %", "Actual %", "Version", "Source"):
        table.add_column(column, justify="right" if column.endswith(("%", "Version")) else "left")
    for r in records:
        table.add_row(
            r.area_code,
            r.element_id,
            str(r.quarter),
            "" if r.planned_percent is None else f"{r.planned_percent:g}",
            "" if r.actual_percent is None else f"{r.actual_percent:g}",
            str(r.version),
            r.source,
        )
    out.print(table)
    if not records:
        out.print("No submissions yet: `joinedup delivery import FILE` or the web form.")
