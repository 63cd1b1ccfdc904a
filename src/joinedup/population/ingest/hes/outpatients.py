"""Outpatient appointments: one record, one row; cancelled appointments and administrative
clock stops are counted, not taken."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from joinedup.population.ingest.hes.fields import (
    OP_ADMINISTRATIVE,
    OP_ATTENDED,
    OP_CANCELLED,
    OP_FIRST,
    NotActivity,
    RowProblem,
    field_date,
    person_of,
    required_field,
)
from joinedup.population.ingest.hes.source import Source, read_each
from joinedup.population.ingest.records import ReaderItem


def read_op(source: Source) -> Iterator[ReaderItem]:
    yield from read_each(source, "outpatient_appointments", _op_row)


def _specialty(row: Mapping[str, str]) -> str:
    for name in ("TRETSPEF", "MAINSPEF"):
        value = row.get(name, "")
        if len(value) == 3 and value.isdigit():
            return value
    raise RowProblem(
        f"no three-digit specialty: TRETSPEF {row.get('TRETSPEF', '')!r}, "
        f"MAINSPEF {row.get('MAINSPEF', '')!r}"
    )


def _op_row(source: Source, row: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    attended_code = row.get("ATTENDED", "")
    if attended_code in OP_CANCELLED:
        raise NotActivity("cancelled outpatient appointment", OP_CANCELLED[attended_code])
    if attended_code not in OP_ATTENDED:
        raise RowProblem(
            f"attendance (ATTENDED) {attended_code!r} does not say whether the person attended "
            "(5–6 attended, 3 or 7 did not)"
        )
    first_code = row.get("FIRSTATT", "")
    if first_code == OP_ADMINISTRATIVE:
        raise NotActivity("administrative outpatient event", "FIRSTATT 5: RTT clock stop")
    if first_code not in OP_FIRST:
        raise RowProblem(
            f"FIRSTATT {first_code!r} does not say first or follow-up (1, 3 first; 2, 4 follow-up)"
        )
    values: dict[str, object] = {
        "person_id": person_of(row),
        "provider_code": required_field(row, "PROCODE3"),
        "appointment_date": field_date(row, "APPTDATE"),
        "specialty_code": _specialty(row),
        "first_attendance": OP_FIRST[first_code],
        "attended": OP_ATTENDED[attended_code],
        "cost": source.cost(row),
    }
    return f"hes-op:{required_field(row, 'ATTENDKEY')}", values
