"""`joinedup workforce …`: the workforce baseline: import FTE by role per practice, compare
with peers.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import typer

workforce_app = typer.Typer(
    help="The workforce baseline: import FTE by role per practice, compare with peers.",
    no_args_is_help=True,
)
