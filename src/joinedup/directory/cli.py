"""`joinedup directory …`: the community-services directory in Open Referral UK: import a feed,
export the directory.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_sessions, cli_actor, report_rejected_lines
from joinedup.errors import UserError
from joinedup.settings import Settings

if TYPE_CHECKING:
    from joinedup.directory.importer import ImportReport, SourceFile

directory_app = typer.Typer(
    help="The community-services directory in Open Referral UK: import a feed, export it.",
    no_args_is_help=True,
)

out = Console()


class DirectoryFileError(UserError, OSError):
    """The file or folder to import cannot be read."""


def read_sources(path: Path) -> list[SourceFile]:
    """The file, or every ``*.json`` file of the folder in name order (page files)."""
    from joinedup.directory.importer import SourceFile

    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise DirectoryFileError(f"the folder {path} holds no .json files")
    try:
        return [SourceFile(file.name, file.read_bytes()) for file in files]
    except FileNotFoundError:
        raise DirectoryFileError(f"there is no file {path}") from None
    except IsADirectoryError:
        raise DirectoryFileError(f"{path} is a folder that cannot be read") from None
    except OSError as exc:
        raise DirectoryFileError(f"{path.name} cannot be read: {exc.strerror}") from None


@directory_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help='ORUK JSON: one service, a list of services, a page ({…, "contents": […]}) '
            "or several, or a folder of page files."
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Load nothing if any record is rejected.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Load services into the directory; every rejected record is listed with its reason."""
    from joinedup.directory.importer import import_directory

    settings = Settings.from_env(home)
    sources = read_sources(file)
    with care_sessions(settings) as sessions:
        report = import_directory(
            sessions, cli_actor(), sources, source_name=file.name, strict=strict
        )
    print_report(report, file.name)
    report_rejected_lines(out, report, heading="Record at line")


def print_report(report: ImportReport, name: str) -> None:
    out.print(f"Directory import from {name}")
    summary = Table()
    summary.add_column("Services")
    summary.add_column("", justify="right")
    for label, value in (
        ("Read", report.records),
        ("Created", report.created),
        ("Updated", report.updated),
        ("Unchanged", report.unchanged),
        ("Rejected", len(report.rejected)),
    ):
        summary.add_row(label, f"{value:,}")
    out.print(summary)
    if report.loaded == 0:
        out.print("No service could be loaded.")
    elif report.no_changes:
        out.print("No changes: the directory already holds these services as they are.")
    elif report.committed:
        out.print(
            f"Loaded as import batch {report.batch_id} "
            f"({report.shared_written:,} organisations, locations and terms added or changed)."
        )


@directory_app.command("export")
def export_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write [default: standard output]."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write the whole directory as one ORUK page of fully nested services (it re-imports)."""
    from joinedup.directory.services import export_page

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions:
        page = export_page(sessions)
    _write(page, output)


def _write(page: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(page, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DirectoryFileError(f"{output} cannot be written: {exc.strerror}") from None
    out.print(f"Wrote {page['total_items']:,} services to {output}")


@directory_app.command("synthetic")
def synthetic_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write [default: standard output]."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Random seed.")] = 1,
    home: HomeOption = None,
) -> None:
    """Write the synthetic area's fictional directory as an ORUK page, ready for `import`."""
    import datetime as dt

    from joinedup.directory.synthetic import synthetic_directory
    from joinedup.population.store import PopulationStore, StoreError

    settings = Settings.from_env(home)
    store = PopulationStore(settings.population_dir)
    if not store.exists():
        raise UserError("there is no area yet: run `joinedup generate` first")
    try:
        # Reviews dated before today: the import measures staleness from today.
        page = synthetic_directory(store, seed, reviewed_by=dt.date.today())
    except StoreError as exc:
        raise UserError(f"the area cannot be read: {exc}") from None
    _write(page, output)


@directory_app.command("stale")
def stale_command(
    months: Annotated[
        int,
        typer.Option("--months", min=1, help="An entry not reviewed for this long is stale."),
    ] = 12,
    home: HomeOption = None,
) -> None:
    """The entries due for review: never reviewed, or reviewed longer ago than --months."""
    import datetime as dt

    from joinedup.directory.services import stale_services

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions:
        stale = stale_services(sessions, dt.date.today(), months)
    if not stale:
        out.print(f"No entry is stale: every service was reviewed in the last {months} months.")
        return
    table = Table(title=f"{len(stale):,} services not reviewed in {months} months")
    for heading in ("Service", "Id", "Last reviewed", "By"):
        table.add_column(heading)
    for entry in stale:
        reviewed = entry.reviewed_at.isoformat() if entry.reviewed_at else "never"
        table.add_row(entry.name, entry.id, reviewed, entry.reviewed_by or "–")
    out.print(table)


@directory_app.command("social-prescribing-use")
def social_prescribing_use_command(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the whole report to this file.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """GP appointments and A&E attendances in the six months before and after referral to
    social prescribing, against matched people not referred (suppressed, objectors left out)."""
    from joinedup.directory.social_prescribing.matched_use import matched_use
    from joinedup.population.store import PopulationStore, StoreError

    settings = Settings.from_env(home)
    store = PopulationStore(settings.population_dir)
    if not store.exists():
        raise UserError("there is no area yet: run `joinedup generate` first")
    try:
        with care_sessions(settings) as sessions:
            report = matched_use(sessions, store)
    except StoreError as exc:
        raise UserError(f"the area cannot be read: {exc}") from None
    if report is None:
        raise UserError("there is no area yet: run `joinedup generate` first")
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n")
        except OSError as exc:
            raise DirectoryFileError(f"{json_out} cannot be written: {exc.strerror}") from None
    _print_use(report)


def _shown(value: int | None) -> str:
    return "withheld" if value is None else f"{value:,}"


def _print_use(report: Any) -> None:
    say = out.print
    say("[bold]Social prescribing: GP and A&E use before and after referral[/bold]")
    say(f"Referred (first referrals): {_shown(report.referrals)}", markup=False)
    for x in report.excluded:
        say(f"  left out, {x.reason}: {_shown(x.people)}", markup=False)
    say(f"Referred with six months before and after: {_shown(report.eligible)}", markup=False)
    if report.matched:
        say(
            f"Matched: {_shown(report.matched_referred)} referred against "
            f"{_shown(report.matched_comparison)} not referred (of "
            f"{_shown(report.comparison_pool)} eligible); "
            f"{_shown(report.follow_up_cut_short)} referred died or left within six months.",
            markup=False,
        )
    if report.problem:
        say(f"No estimate: {report.problem}.", markup=False)
    for c in report.changes:
        change = (
            c.problem
            if c.change is None
            else f"{c.change:+.1%} (95% interval {c.low:+.1%} to {c.high:+.1%})"
        )
        say(
            f"{c.label} per person per six months: referred {c.referred_before} → "
            f"{c.referred_after}, not referred {c.comparison_before} → {c.comparison_after}; "
            f"relative change {change}",
            markup=False,
        )
    if report.changes:
        say(f"The interval: {report.interval_meaning}.", markup=False)
    for row in report.balance:
        say(
            f"  balance, {row.characteristic}: SMD {row.smd_before:+.3f} before matching, "
            f"{row.smd_after:+.3f} after",
            markup=False,
        )
    for check in report.checks:
        mark = "passed" if check.passed else "FAILED"
        say(f"  {mark}: {check.name} — {check.detail}", markup=False)
    for item in report.does_not_show:
        say(f"Does not show: {item}", markup=False)
