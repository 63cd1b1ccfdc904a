"""`joinedup visits …`: plan a district-nursing day from a JSON file, replan it after the day's
events, generate a synthetic day, write the JSON Schemas.

Wired into the main app by `joinedup.cli`; the solver is imported inside the commands so that
`joinedup --help` stays fast. A bad file is one line per problem on stderr and exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from joinedup.errors import UserError
from joinedup.settings import Settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    from joinedup.neighbourhood.visits.model import Plan

M = TypeVar("M", bound="BaseModel")

visits_app = typer.Typer(
    help="District-nursing visits: plan a day, replan it after events, generate a day.",
    no_args_is_help=True,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SecondsOption = Annotated[
    float,
    typer.Option(
        "--seconds", min=0, max=600, help="Time to improve the plan (0: the first plan found)."
    ),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the plan here as JSON.")
]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"there is no file {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{path.name} cannot be read: {exc.strerror}") from None


def _parse(model: type[M], path: Path, what: str) -> M:
    from joinedup.neighbourhood.visits.model import ContractError, parse

    try:
        return parse(model, _read(path), what)
    except ContractError as exc:
        for problem in exc.problems:
            err.print(f"{path.name}: {problem}", markup=False)
        raise typer.Exit(1) from None


def _write(plan: Plan, output: Path | None) -> None:
    from joinedup.neighbourhood.visits.model import to_json

    if output is None:
        return
    try:
        output.write_text(to_json(plan), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{output} cannot be written: {exc.strerror}") from None
    out.print(f"Plan written to {output}")


def _print_summary(plan: Plan) -> None:
    s = plan.summary
    share = "n/a" if s.continuity_share is None else f"{s.continuity_share:.0%}"
    out.print(
        f"Planned {s.visits_planned} visits on {sum(1 for r in plan.routes if r.stops)} nurses' "
        f"routes; {s.unplanned} unplanned; travel {s.travel_min} min; continuity {share} "
        f"({s.preferred_seen} of {s.preferred_on_shift} seen by their preferred nurse)."
    )
    urgent = {v.id for v in plan.day.visits if v.priority == 1}
    for unplanned in plan.unplanned:
        flag = "PRIORITY 1 " if unplanned.visit_id in urgent else ""
        out.print(f"  {flag}unplanned {unplanned.visit_id}: {unplanned.reason}", markup=False)


@visits_app.command("plan")
def plan_command(
    input_file: Annotated[Path, typer.Option("--input", "-i", help="The day as JSON.")],
    output: OutputOption = None,
    seconds: SecondsOption = 5.0,
    continuity_weight: Annotated[
        int,
        typer.Option(
            "--continuity-weight",
            min=0,
            max=240,
            help="Minutes of extra travel worth one visit by the preferred nurse "
            "(0: least travel).",
        ),
    ] = 20,
) -> None:
    """Plan a day: each nurse's route, and every visit that does not fit with its reason."""
    from joinedup.neighbourhood.visits.model import Day
    from joinedup.neighbourhood.visits.solver import plan_day
    from joinedup.neighbourhood.visits.travel import travel_times

    day = _parse(Day, input_file, "the day")
    travel = travel_times(Settings.from_env())
    plan = plan_day(day, travel, seconds=seconds, continuity_weight=continuity_weight)
    _print_summary(plan)
    _write(plan, output)


@visits_app.command("replan")
def replan_command(
    plan_file: Annotated[Path, typer.Option("--plan", help="The plan made earlier (JSON).")],
    events_file: Annotated[Path, typer.Option("--events", help="What has happened (JSON).")],
    output: OutputOption = None,
    seconds: SecondsOption = 5.0,
) -> None:
    """Replan after the day's events, keeping started and done visits; says who must be told."""
    from joinedup.neighbourhood.visits.model import Events, Plan
    from joinedup.neighbourhood.visits.replan import replan
    from joinedup.neighbourhood.visits.travel import travel_times

    plan = _parse(Plan, plan_file, "the plan")
    events = _parse(Events, events_file, "the events")
    travel = travel_times(Settings.from_env())
    result = replan(plan, events, travel, seconds=seconds)
    _print_summary(result.plan)
    for nurse_id in result.nurses_to_tell:
        out.print(f"  tell nurse {nurse_id}: route changed", markup=False)
    for change in result.changes:
        out.print(f"  {change}", markup=False)
    _write(result.plan, output)


@visits_app.command("generate")
def generate_command(
    shared: Annotated[
        Path,
        typer.Option(
            "--shared", help="The shared data folder holding the published practice file."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the day here.")],
    visits: Annotated[int, typer.Option("--visits", "-n", min=1, max=2000)] = 100,
    nurses: Annotated[int, typer.Option("--nurses", min=1, max=200)] = 10,
    seed: Annotated[int, typer.Option("--seed", "-s")] = 1,
) -> None:
    """A synthetic day around real practices (fictional patients and nurses)."""
    from joinedup.neighbourhood.visits.generate import generate_day
    from joinedup.neighbourhood.visits.model import to_json

    day = generate_day(shared, visits=visits, nurses=nurses, seed=seed)
    try:
        output.write_text(to_json(day), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{output} cannot be written: {exc.strerror}") from None
    out.print(f"A day of {visits} visits and {nurses} nurses written to {output}")
