"""What every ingest reader yields: rows for contract tables, rejects with reasons, and things
it met but does not take (unsupported resource types, unknown code systems).

Readers (FHIR bundles and NDJSON, HES extracts, contract CSVs) are generators of these and never
touch the store; the batch (`joinedup.population.ingest.batch`) validates the rows against the
table contracts, links identities, and commits all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceRow:
    """One row for a contract table, and where in the input it came from.

    `location` names the place a person can find it ("bundle-12.json entry 4",
    "apc.csv line 193"); `source_id` is the record's own id in its source system (FHIR
    resource id, HES episode key), used to recognise the same record when it comes again.
    """

    table: str
    values: dict[str, Any]
    location: str
    source_id: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A record that cannot be taken, with a reason a person can act on."""

    location: str
    reason: str
    table: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """Something met and counted but not taken (e.g. resource type "Immunization", or a code
    system the contracts do not hold); never fatal."""

    kind: str
    location: str
    detail: str = ""


ReaderItem = SourceRow | Rejected | Unsupported
