"""`joinedup evaluate programme`: did a programme change outcomes? One method, its estimate
with a 95% interval, its checks in plain words, and optionally the whole result as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from joinedup.cli_common import HomeOption

evaluate_app = typer.Typer(help="Impact evaluation: did a programme work?", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@evaluate_app.command("programme")
def programme_command(
    name: Annotated[
        str, typer.Argument(help="Programme name (planted: the generator's).")
    ] = "planted",
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            help="emergency_admissions, ae_attendances, bed_days or emergency_cost.",
        ),
    ] = "emergency_admissions",
    method: Annotated[str, typer.Option("--method", help="did, its or synthetic-control.")] = "did",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the whole result to this file.")
    ] = None,
    programme_file: Annotated[
        Path | None,
        typer.Option("--programme-file", help="A programme YAML file (instead of NAME)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Estimate a programme's effect as a relative change with a 95% interval, and check the
    method's assumptions."""
    from joinedup.analytics.evaluation.service import evaluate_programme, resolve
    from joinedup.errors import UserError
    from joinedup.population.store import PopulationStore
    from joinedup.settings import Settings

    store = PopulationStore(Settings.from_env(home).population_dir)
    try:
        result = evaluate_programme(store, resolve(store, name, programme_file), outcome, method)
        if json_out is not None:
            json_out.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n")
    except (UserError, OSError) as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    _print(result)


def _print(result) -> None:  # type: ignore[no-untyped-def]
    say = out.print
    say(f"[bold]{result.programme}[/bold]: {result.outcome.replace('_', ' ')} by {result.method}")
    say(f"Compared: {result.compared}.", markup=False)
    say(
        f"Estimate: {result.estimate:+.1%} (95% interval {result.ci_low:+.1%} to "
        f"{result.ci_high:+.1%}); "
        + (
            "the interval includes no change."
            if result.covers_zero
            else "the interval excludes no change."
        ),
        markup=False,
    )
    say(f"The interval: {result.interval_meaning}.", markup=False)
    if result.planted_effect is not None:
        inside = "inside" if result.covers(result.planted_effect) else "OUTSIDE"
        say(f"Planted effect {result.planted_effect:+.1%}: {inside} the interval.", markup=False)
    say("Checks:")
    for check in result.checks:
        mark = "passed" if check.passed else "FAILED"
        say(f"  {mark}: {check.name} — {check.detail}", markup=False)
    for note in result.notes:
        say(f"Note: {note}", markup=False)
