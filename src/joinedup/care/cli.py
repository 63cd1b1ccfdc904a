"""`joinedup care …`: coordinated care: the register, care plans and MDT meetings.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import typer

care_app = typer.Typer(
    help="Coordinated care: the register, care plans and MDT meetings.", no_args_is_help=True
)
