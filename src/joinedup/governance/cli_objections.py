"""`joinedup objections …`: load a list of objections and count those in force.

Wired into the main app by `joinedup.cli` (``app.add_typer(objections_app, name="objections")``);
user mistakes raise `UserError` and the main entry point prints them as one line.

Services are imported inside the commands, so that `joinedup --help` does not wait for
SQLAlchemy and the engines.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_sessions, cli_actor, report_rejected_lines
from joinedup.errors import UserError
from joinedup.settings import Settings

objections_app = typer.Typer(
    help="Objections to secondary use: load them from a file, count those in force.",
    no_args_is_help=True,
)

out = Console()
COLUMNS = ("person_id", "nhs_number", "kind")


class ImportFileError(UserError, ValueError):
    """The import file cannot be read as a list of objections."""


def read_rows(path: Path) -> list[dict[str, str | None]]:
    """The data rows of a CSV file with a header naming person_id and/or nhs_number, and kind."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        if "kind" not in header or not ({"person_id", "nhs_number"} & set(header)):
            raise ImportFileError(
                f"{path.name} needs a header line with a kind column and a person_id or "
                "nhs_number column"
            )
        reader.fieldnames = header
        return [dict(row) for row in reader]


@objections_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV file: person_id or nhs_number, and kind.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Load nothing if any line is rejected.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Load objections from a CSV file; every rejected line is listed with its reason."""
    from joinedup.governance.objections import import_objections
    from joinedup.population.store import PopulationStore

    settings = Settings.from_env(home)
    rows = read_rows(file)
    with care_sessions(settings) as sessions:
        report = import_objections(
            sessions,
            cli_actor(),
            rows,
            store=PopulationStore(settings.population_dir),
            strict=strict,
        )
    summary = Table(title=f"Objections from {file.name}")
    summary.add_column("")
    summary.add_column("Lines", justify="right")
    summary.add_row("Read", f"{report.rows:,}")
    summary.add_row("Newly recorded", f"{report.recorded:,}")
    summary.add_row("Already in force", f"{report.already_recorded:,}")
    summary.add_row("Rejected", f"{len(report.rejected):,}")
    out.print(summary)
    report_rejected_lines(out, report)


@objections_app.command("count")
def count_command(home: HomeOption = None) -> None:
    """How many people have an objection in force, by kind."""
    from sqlalchemy import func, select

    from joinedup.governance.models import Objection
    from joinedup.governance.objections import KINDS

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions, sessions() as session:
        active = Objection.withdrawn_at.is_(None)
        rows = session.execute(
            select(Objection.kind, func.count(Objection.person_id.distinct()))
            .where(active)
            .group_by(Objection.kind)
        ).all()
        by_kind = Counter({str(kind): int(people) for kind, people in rows})
        people = session.scalar(select(func.count(Objection.person_id.distinct())).where(active))
    table = Table(title="Objections in force")
    table.add_column("Kind")
    table.add_column("People", justify="right")
    for kind, label in KINDS.items():
        table.add_row(label, f"{by_kind[kind]:,}")
    table.add_row("Anyone (either kind)", f"{people or 0:,}")
    out.print(table)
