"""`joinedup workforce …`: the workforce baseline: import FTE by role per practice, compare
with peers.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from joinedup.cli_common import HomeOption, care_sessions, cli_actor, report_rejected_lines
from joinedup.errors import UserError
from joinedup.settings import Settings

if TYPE_CHECKING:
    from joinedup.commissioning.workforce import OrgWorkforce, WorkforceBaseline

workforce_app = typer.Typer(
    help="The workforce baseline: import FTE by role per practice, compare with peers.",
    no_args_is_help=True,
)

out = Console()


class WorkforceReadError(UserError, OSError):
    """The workforce file cannot be opened or decoded."""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise WorkforceReadError(f"there is no file {path}") from None
    except UnicodeDecodeError:
        raise WorkforceReadError(f"{path.name} is not UTF-8 text: save it as UTF-8 CSV") from None
    except OSError as exc:
        raise WorkforceReadError(f"{path.name} cannot be read: {exc.strerror}") from None


@workforce_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, one line per organisation, period and staff group: practice_code "
            "and/or pcn_code, period (or year), staff_group (or role), fte; optional name, "
            "list_size, imd_quintile."
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Load nothing if any line is rejected.")
    ] = False,
    least_deprived_first: Annotated[
        bool,
        typer.Option(
            "--least-deprived-first",
            help="The file's IMD quintile 1 is the least deprived (as in the HEEC PCN file); "
            "joinedup's order is 1 most deprived.",
        ),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Load a workforce file as one versioned batch; every rejected line is listed."""
    from joinedup.commissioning.workforce_store import import_workforce

    settings = Settings.from_env(home)
    text = _read_text(file)
    with care_sessions(settings) as sessions:
        report = import_workforce(
            sessions,
            cli_actor(),
            text,
            source_name=file.name,
            strict=strict,
            least_deprived_first=least_deprived_first,
        )
    summary = Table(title=f"Workforce from {file.name}")
    summary.add_column("")
    summary.add_column("Lines", justify="right")
    summary.add_row("Read", f"{report.rows:,}")
    summary.add_row("Loaded", f"{report.recorded:,}")
    summary.add_row("Rejected", f"{len(report.rejected):,}")
    out.print(summary)
    if report.unchanged:
        out.print(f"Batch {report.batch_version} already holds these figures: nothing changed.")
    elif report.batch_version is not None:
        out.print(f"Loaded as batch {report.batch_version}.")
    report_rejected_lines(out, report)


@workforce_app.command("show")
def show_command(
    practice: Annotated[
        str | None, typer.Argument(help="A practice or PCN code: its figures and peers.")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Period to show [default: the latest].")
    ] = None,
    home: HomeOption = None,
) -> None:
    """The baseline per practice with the PCN roll-up, or one organisation against its peers."""
    from joinedup.commissioning import workforce as wf
    from joinedup.commissioning import workforce_store as wf_store
    from joinedup.governance.objections import active_objectors
    from joinedup.population.store import PopulationStore

    settings = Settings.from_env(home)
    with care_sessions(settings) as sessions:
        figures = wf_store.current_figures(sessions)
        objectors = active_objectors(sessions)
    if not figures:
        raise UserError("no workforce figures yet: load a file with `joinedup workforce import`")
    store = PopulationStore(settings.population_dir)
    area = wf.area_practices(store if store.exists() else None, objectors)
    baseline = wf.workforce_baseline(figures, area, period)
    if period is not None and period not in baseline.periods:
        raise UserError(
            f"no figures for period {period!r}: there are {', '.join(baseline.periods)}"
        )
    if practice is None:
        out.print(_baseline_table(baseline, baseline.practices, "Practices"))
        out.print(_baseline_table(baseline, baseline.pcns, "PCNs (practices + PCN-employed staff)"))
        return
    org = baseline.find(practice.strip().upper())
    if org is None:
        raise wf.UnknownOrganisation(f"no workforce figures for {practice} in {baseline.period}")
    out.print(_baseline_table(baseline, [org], f"{org.name} ({org.code})"))
    out.print(_peer_table(baseline, org))


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _baseline_table(baseline: WorkforceBaseline, orgs: Sequence[OrgWorkforce], title: str) -> Table:
    from joinedup.commissioning.workforce_file import ROLES

    table = Table(title=f"{title}, {baseline.period}")
    for heading in (
        "Code",
        "Name",
        *ROLES.values(),
        "List size",
        "Patients per GP FTE",
        "Skill mix",
    ):
        table.add_column(heading, justify="left" if heading in ("Code", "Name") else "right")
    for org in orgs:
        table.add_row(
            org.code,
            org.name,
            *(_number(org.fte[r]) for r in ROLES),
            "–" if org.list_size is None else f"{org.list_size:,}",
            _number(org.patients_per_gp_fte, 0),
            "–" if org.skill_mix is None else f"{org.skill_mix:.0%}",
        )
    return table


def _peer_table(baseline: WorkforceBaseline, org: OrgWorkforce) -> Table:
    from joinedup.commissioning.workforce import MEASURES, compare_with_peers

    table = Table(title="Against peers (median of the peers; rank 1 = highest)")
    for heading in ("Measure", "Peer group", "Peers", "Value", "Peer median", "Rank", "Position"):
        table.add_column(heading)
    for measure_id in MEASURES:
        for c in compare_with_peers(baseline.peers_of(org), org, measure_id):
            digits = 2 if c.measure.unit != "patients" else 0
            table.add_row(
                c.measure.title,
                c.group.title,
                str(c.peers_with_value),
                _number(c.value, digits),
                _number(c.median, digits),
                "–" if c.rank is None else f"{c.rank} of {c.of}",
                c.position or "–",
            )
    return table
