"""`joinedup contract ledger|reconcile NAME`: a capitated contract's shadow budget month by
month, and each year's reconciliation statement line by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_sessions

contract_app = typer.Typer(
    help="Outcome-based capitated contracts: shadow budget ledger and reconciliation.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)
NameArgument = Annotated[
    str, typer.Argument(help="Contract name (a shipped contract) or a contract YAML file.")
]


def _ledger(name: str, home: Path | None):  # type: ignore[no-untyped-def]
    """The ledger as the pages show it: objectors left out by the same service rule."""
    from joinedup.commissioning.contracts.definition import find_contract
    from joinedup.commissioning.contracts.service import secondary_use_ledger
    from joinedup.errors import UserError
    from joinedup.population.store import PopulationStore
    from joinedup.settings import Settings

    try:
        find_contract(name)
        settings = Settings.from_env(home)
        store = PopulationStore(settings.population_dir)
        if not store.exists():
            raise UserError(f"no population store at {store.root}: run `joinedup generate` first")
        with care_sessions(settings) as sessions:
            return secondary_use_ledger(store, sessions, name)
    except (UserError, OSError) as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None


@contract_app.command("ledger")
def ledger_command(
    name: NameArgument,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the whole ledger to this file.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Budget against spend at the contract tariff, month by month and by setting."""
    from joinedup.commissioning.contracts.report import ledger_json

    ledger = _ledger(name, home)
    contract = ledger.contract
    out.print(f"[bold]{contract.title}[/bold] ({contract.name})")
    out.print(f"Cohort: {contract.cohort_description} — {contract.cohort_rule}", markup=False)
    if ledger.left_out:
        out.print(f"Left out for their objection to secondary use: {ledger.left_out:,} people")
    table = Table("Month", "Year", "Member-months", "Budget £", "Spend £", "Variance £")
    for m in ledger.months:
        table.add_row(
            m.month.strftime("%B %Y"),
            str(m.year),
            f"{m.member_months:,.2f}",
            f"{m.budget:,.2f}",
            f"{m.total_spend:,.2f}",
            f"{m.variance:,.2f}",
        )
    out.print(table)
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(ledger_json(ledger), indent=2) + "\n")
        except OSError as error:
            err.print(f"error: cannot write {json_out}: {error.strerror}", markup=False)
            raise SystemExit(1) from None
        out.print(f"Wrote {json_out}", markup=False)


@contract_app.command("reconcile")
def reconcile_command(name: NameArgument, home: HomeOption = None) -> None:
    """Each contract year's reconciliation statement, line by line."""
    from joinedup.commissioning.contracts.report import statement_lines

    ledger = _ledger(name, home)
    for year in ledger.years:
        state = "final" if year.complete else f"provisional: {year.months} of 12 months"
        out.print(
            f"[bold]Year {year.year}[/bold]: {year.first_day:%-d %B %Y} to "
            f"{year.last_day:%-d %B %Y} ({state})"
        )
        mv = year.movement
        out.print(
            f"Members at the start {mv.members_at_start:,}; joiners {mv.joiners:,}; no longer "
            f"meeting the rule {mv.no_longer_eligible:,}; died {mv.died:,}; moved away "
            f"{mv.moved:,}",
            markup=False,
        )
        table = Table("Line", "Item", "£", "How")
        for line in statement_lines(year, capitation=ledger.contract.capitation):
            amount = "" if line.amount is None else f"{line.amount:,.2f}"
            table.add_row(line.ref, line.label, amount, line.how)
        out.print(table)
