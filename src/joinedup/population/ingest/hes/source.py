"""One HES file being read: its lines as dicts after the header is checked, what it says about
each patient, its cost column, and every line it cannot read rejected with its reason."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from joinedup.population.ingest.hes.fields import (
    COST_COLUMN,
    PERSON_PREFIX,
    REQUIRED,
    FileProblem,
    NotActivity,
    RowProblem,
    is_present,
)
from joinedup.population.ingest.hes.patients import Patient, people_rows
from joinedup.population.ingest.identity import PersonRef
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported


@dataclass
class Source:
    """One HES file being read: its lines as dicts, counts of fields the contracts do not hold."""

    kind: str
    path: Path
    header: list[str] = field(default_factory=list)
    people: dict[str, Patient] = field(default_factory=dict)
    has_cost: bool = False
    line: int = 1

    def where(self, line: int | None = None) -> str:
        return f"{self.path.name} line {self.line if line is None else line}"

    def guarded(self, read: Callable[[Source], Iterator[ReaderItem]]) -> Iterator[ReaderItem]:
        """Run `read`, then yield the people it named, then report what is not held."""
        yield from read(self)
        yield from people_rows(self.people, self.path.name)
        yield from self.unsupported_fields()

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, values) of each data line, after checking the header."""
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise FileProblem(
                    "the file is empty: a HES extract starts with a header line of field names"
                ) from None
            self.header = [name.strip().upper() for name in header]
            self._check_header()
            for values in reader:
                self.line = reader.line_num
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(self.header):
                    yield self.line, {"__bad_width__": str(len(values))}
                    continue
                row = dict(zip(self.header, (v.strip() for v in values), strict=True))
                self._note_person(row)
                yield self.line, row

    def _check_header(self) -> None:
        missing = [name for name in REQUIRED[self.kind] if name not in self.header]
        if missing:
            raise FileProblem(
                f"the header has no {', '.join(missing)}: a HES {self.kind.upper()} extract "
                "needs these fields (HES Data Dictionary names)"
            )
        self.has_cost = COST_COLUMN in self.header

    def _note_person(self, row: Mapping[str, str]) -> None:
        """Remember what this record says about its patient (a few fields per person)."""
        hes_id = row.get("PSEUDO_HESID", "")
        if not is_present(hes_id):
            return  # the record itself is rejected for it
        patient = self.people.get(hes_id)
        if patient is None:
            patient = self.people[hes_id] = Patient(PersonRef(source_id=PERSON_PREFIX + hes_id))
        patient.note(self.kind, row, self.line)

    def unsupported_fields(self) -> Iterator[Unsupported]:
        if self.header and not self.has_cost:
            yield Unsupported(
                "HES cost",
                self.path.name,
                "the extract has no COST column: its records are costed at the reference unit "
                "cost; cost them from SUS or PLICS for actual costs",
            )

    def cost(self, row: Mapping[str, str]) -> float | None:
        if not self.has_cost:
            return None  # the batch prices it at the reference unit cost
        text = row.get(COST_COLUMN, "")
        try:
            value = float(text)
        except ValueError:
            raise RowProblem(f"COST {text!r} is not a number of pounds") from None
        if value < 0:
            raise RowProblem(f"COST {text!r} is negative")
        return value


def rows_or_rejects(source: Source, table: str) -> Iterator[tuple[int, dict[str, str]] | Rejected]:
    try:
        for line, row in source.rows():
            if "__bad_width__" in row:
                yield Rejected(
                    source.where(line),
                    f"has {row['__bad_width__']} fields where the header has "
                    f"{len(source.header)}: a quote or comma is out of place",
                    table,
                )
                continue
            yield line, row
    except FileProblem as exc:
        yield Rejected(source.path.name, str(exc), table)
    except UnicodeDecodeError:
        yield Rejected(
            source.where(source.line + 1),
            "the file is not UTF-8 text from here on: nothing after this line was read; save it "
            "as UTF-8 and load it again",
            table,
        )
    except csv.Error as exc:
        yield Rejected(
            source.where(source.line + 1),
            f"not readable as CSV ({exc}): nothing after this line was read",
            table,
        )


def read_each(
    source: Source,
    table: str,
    build: Callable[[Source, Mapping[str, str]], tuple[str, dict[str, object]]],
) -> Iterator[ReaderItem]:
    for item in rows_or_rejects(source, table):
        if isinstance(item, Rejected):
            yield item
            continue
        line, row = item
        try:
            key, values = build(source, row)
        except NotActivity as exc:
            yield Unsupported(exc.kind, source.where(line), exc.detail)
            continue
        except RowProblem as exc:
            yield Rejected(source.where(line), str(exc), table)
            continue
        yield SourceRow(table, values, source.where(line), key)
