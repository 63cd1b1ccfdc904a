"""`joinedup variation …`: practice variation: load published practice data, list outliers.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import typer

variation_app = typer.Typer(
    help="Practice variation: load published practice data, list outliers.", no_args_is_help=True
)
