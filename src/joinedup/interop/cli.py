"""`joinedup export …`: export what joinedup holds: FHIR R4 resources and analytic outputs
(governance applied).

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import typer

export_app = typer.Typer(
    help="Export what joinedup holds: FHIR R4 resources and analytic outputs (governance applied).",
    no_args_is_help=True,
)
