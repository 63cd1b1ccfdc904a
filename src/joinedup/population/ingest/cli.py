"""`joinedup ingest …`: take in an area's own data: FHIR R4 bundles and bulk NDJSON, HES
extracts, contract CSVs.

Wired into the main app by `joinedup.cli`; services are imported inside the commands, so
that `joinedup --help` stays fast. User mistakes raise `UserError` (one line, no traceback).
"""

from __future__ import annotations

import typer

ingest_app = typer.Typer(
    help="Take in an area's own data: FHIR R4 bundles and NDJSON, HES extracts, contract CSVs.",
    no_args_is_help=True,
)
