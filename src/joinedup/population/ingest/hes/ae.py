"""A&E attendances: one record, one row (disposal by the HES code)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from joinedup.population.ingest.hes.fields import (
    AE_DISPOSAL,
    RowProblem,
    field_date,
    person_of,
    required_field,
)
from joinedup.population.ingest.hes.source import Source, read_each
from joinedup.population.ingest.records import ReaderItem


def read_ae(source: Source) -> Iterator[ReaderItem]:
    yield from read_each(source, "ae_attendances", _ae_row)


def _ae_row(source: Source, row: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    disposal_code = row.get("AEATTENDDISP", "")
    if disposal_code not in AE_DISPOSAL:
        raise RowProblem(
            f"disposal (AEATTENDDISP) {disposal_code!r} is not one the contract holds "
            "(01 admitted, 02–03 discharged, 04–07/11 referred, 12–13 left, 10 died)"
        )
    values: dict[str, object] = {
        "person_id": person_of(row),
        "provider_code": required_field(row, "PROCODE3"),
        "arrival_date": field_date(row, "ARRIVALDATE"),
        "disposal": AE_DISPOSAL[disposal_code],
        "cost": source.cost(row),
    }
    return f"hes-ae:{required_field(row, 'AEKEY')}", values
