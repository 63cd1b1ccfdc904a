"""`joinedup delivery …`: the delivery-plan tracker: import, export and list submissions.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import typer

delivery_app = typer.Typer(
    help="The delivery-plan tracker: import, export and list submissions.", no_args_is_help=True
)
