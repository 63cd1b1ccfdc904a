"""`joinedup news2 IN.csv [-o OUT.csv]`: NEWS2 for a CSV of observation sets.

Wired into the main app by `joinedup.cli`. The work is `neighbourhood.news2_csv.score_csv`;
this command prints what happened. Kept free of heavy imports, so `joinedup --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from joinedup.errors import UserError

HELP = """Score a CSV of observation sets with NEWS2 (RCP 2017).

The header names resp_rate, spo2, on_oxygen (true|false), systolic_bp, pulse, consciousness
(A|C|V|P|U; C is new confusion), temperature (°C) and optionally spo2_scale (1|2; 2 is taken as
the source system's record of the clinical decision for Scale 2). Other columns pass through
untouched. The output adds news2_total, news2_risk (low, low-medium, medium, high),
news2_red_score (true|false), news2_missing, news2_partial_sum, news2_scale and a
<parameter>_score column for each parameter.

A row missing a parameter (an empty cell, NA, not recorded) is written as INCOMPLETE: no total
and no risk, news2_missing names what is missing, with the sub-scores and partial sum of what
was measured. A row with an unreadable cell or an impossible value (e.g. SpO2 over 100%, pulse
0) is REJECTED: it goes to OUT.rejects.csv with every reason. Exits 1 when no row could be
scored."""


def news2_command(
    input_path: Annotated[
        Path, typer.Argument(metavar="IN.csv", help="Observation sets, one per row.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the scored rows here (rejects beside it)."),
    ] = None,
) -> None:
    from rich.console import Console

    from joinedup.neighbourhood.news2_csv import score_csv

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    result = score_csv(input_path, output if output is not None else sys.stdout)
    for reject in result.rejects[:20]:
        err.print(f"line {reject.line}: {reject.reason}", markup=False)
    if len(result.rejects) > 20:
        err.print(f"... and {len(result.rejects) - 20:,} more rejected rows", markup=False)
    counts = (
        f"{result.rows_read:,} rows read: {result.complete:,} scored, {result.incomplete:,} "
        f"incomplete (no total), {len(result.rejects):,} rejected"
    )
    rejects = f"; reasons in {result.rejects_path}" if result.rejects_path else ""
    if not result.written:
        raise UserError(f"no row could be scored ({counts}{rejects})")
    written = f"; written to {result.output_path}" if result.output_path else ""
    err.print(f"{counts}{written}{rejects}", markup=False)
