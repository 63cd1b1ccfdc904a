"""The people a HES file names: one patients row per PSEUDO_HESID from what HES carries
(approximate date of birth, ethnic group, LSOA), the registration with the practice of their
latest record, and the practices used — by the rules FHIR keeps (`ingest.people`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from joinedup.population.ingest.hes.fields import (
    ACTIVITY_DATE,
    AGE_FIELDS,
    CONFLICT,
    CONFLICT_LABELS,
    INFANT_AGE_DAYS,
    LSOA_CODE,
    MONTH_PRECISION,
    NO_PRACTICE,
    NOT_STATED,
    OLD_ETHNIC_GROUPS,
    PERSON_PREFIX,
    PLACEHOLDER_YEARS,
    PRACTICE_CODE,
    SEX,
    YEAR_PRECISION,
    RowProblem,
    field_date,
)
from joinedup.population.ingest.identity import PersonRef
from joinedup.population.ingest.people import (
    NHS_ETHNIC_GROUPS,
    imd_decile_of,
    practice_row,
    registration_row,
)
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported

_Ranked = tuple[tuple[dt.date, int], str]  # ((record date, line), value)


@dataclass
class Patient:
    """What one patient's records say, kept small: each field's latest known value."""

    person: PersonRef
    fields: dict[str, _Ranked] = field(default_factory=dict)
    conflicts: set[str] = field(default_factory=set)
    first_at: dict[str, dt.date] = field(default_factory=dict)  # practice → first record date
    first_record: dt.date | None = None
    lines: list[int] = field(default_factory=list)

    def note(self, kind: str, row: Mapping[str, str], line: int) -> None:
        when = _optional_date(row.get(ACTIVITY_DATE[kind], ""))
        rank = (when or dt.date.min, line)
        self.lines.append(line)
        if when is not None and (self.first_record is None or when < self.first_record):
            self.first_record = when
        birth = _birth_from_mydob(row.get("MYDOB", ""))
        precision = MONTH_PRECISION
        if birth is None and when is not None:
            birth, precision = _birth_from_age(row, kind, when), YEAR_PRECISION
        values = {
            "sex": SEX.get(row.get("SEX", "")),
            "birth": f"{precision}:{birth.isoformat()}" if birth else None,
            "ethnicity": _ethnic_group(row.get("ETHNOS", "")),
            "lsoa": _lsoa(row),
            "practice": _practice(row.get("GPPRAC", "")),
        }
        for name, value in values.items():
            if value is not None:
                self._keep(name, rank, value)
        practice = values["practice"]
        if practice is not None and when is not None:
            self.first_at[practice] = min(when, self.first_at.get(practice, when))

    def _keep(self, name: str, rank: tuple[dt.date, int], value: str) -> None:
        held = self.fields.get(name)
        if held is None:
            self.fields[name] = (rank, value)
            return
        held_rank, held_value = held
        if name == "birth" and held_value[0] != value[0]:
            # A month-precise date of birth (MYDOB) beats one derived from an age, whatever
            # the order of the records.
            if value[0] > held_value[0]:
                self.fields[name] = (rank, value)
            return
        if name in CONFLICT_LABELS and not _agree(name, held_value, value):
            self.conflicts.add(CONFLICT_LABELS[name])
        if rank >= held_rank:
            self.fields[name] = (rank, value)

    def value(self, name: str) -> str | None:
        held = self.fields.get(name)
        return held[1] if held else None

    def latest(self) -> dt.date:
        return max(rank[0] for rank, _ in self.fields.values()) if self.fields else dt.date.min


def _agree(name: str, a: str, b: str) -> bool:
    """Two values of one field agree; age-derived birth dates (ages in whole years at different
    dates) agree when within a year of each other."""
    if name != "birth" or a[0] != YEAR_PRECISION:
        return a == b
    first, second = dt.date.fromisoformat(a[2:]), dt.date.fromisoformat(b[2:])
    return abs((first - second).days) <= 366


def _optional_date(text: str) -> dt.date | None:
    try:
        return field_date({"D": text}, "D")
    except RowProblem:
        return None


def _birth_from_mydob(text: str) -> dt.date | None:
    """The 15th of the MYDOB month (``mmyyyy``); None when absent or a HES placeholder."""
    if len(text) != 6 or not text.isdigit() or text[2:] in PLACEHOLDER_YEARS:
        return None
    month, year = int(text[:2]), int(text[2:])
    if not 1 <= month <= 12 or year < 1850:
        return None
    return dt.date(year, month, 15)


def _birth_from_age(row: Mapping[str, str], kind: str, when: dt.date) -> dt.date | None:
    """The middle of the birth dates an age at `when` allows (see the module docstring)."""
    for name in AGE_FIELDS[kind]:
        text = row.get(name, "").strip()
        if text.endswith(".0"):
            text = text[:-2]  # ages written as decimals ("42.0")
        if text in INFANT_AGE_DAYS:
            return when - dt.timedelta(days=INFANT_AGE_DAYS[text])
        if text.isdigit() and int(text) <= 120:
            try:
                anniversary = when.replace(year=when.year - int(text))
            except ValueError:  # 29 February
                anniversary = when.replace(year=when.year - int(text), day=28)
            return anniversary - dt.timedelta(days=182)
    return None


def _ethnic_group(code: str) -> str | None:
    """ONS 2021 group of an ETHNOS code; None for 'not stated / not known' (never overrides)."""
    code = code.strip().upper()
    return NHS_ETHNIC_GROUPS.get(code) if code.isalpha() else OLD_ETHNIC_GROUPS.get(code)


def _lsoa(row: Mapping[str, str]) -> str | None:
    for name in ("LSOA11", "LSOA01"):
        value = row.get(name, "").strip().upper()
        if LSOA_CODE.fullmatch(value):
            return value
    return None


def _practice(code: str) -> str | None:
    code = code.strip().upper()
    if code in NO_PRACTICE or not PRACTICE_CODE.fullmatch(code):
        return None
    return code


def people_rows(people: Mapping[str, Patient], file_name: str) -> Iterator[ReaderItem]:
    """A patients row and a registration per person the file names, and the practices used."""
    practices: dict[str, str] = {}
    for hes_id, patient in people.items():
        where = f"{file_name} line {min(patient.lines)}"
        label = f"patient {PERSON_PREFIX}{hes_id}"
        sex, birth_text = patient.value("sex"), patient.value("birth")
        if sex is None or birth_text is None:
            missing = " and ".join(
                what
                for what, value in (
                    ("sex (SEX is not 1 or 2 on any record)", sex),
                    ("date of birth (no MYDOB or age on any record)", birth_text),
                )
                if value is None
            )
            yield Rejected(
                where,
                f"{label}: no {missing}: the patients table requires sex (F or M) and a date "
                "of birth, so this person's records cannot be loaded",
                "patients",
            )
            continue
        if patient.conflicts:
            yield Unsupported(
                CONFLICT,
                where,
                f"{', '.join(sorted(patient.conflicts))}: the latest record's is kept",
            )
        birth = dt.date.fromisoformat(birth_text[2:])
        if patient.first_record is not None:
            birth = min(birth, patient.first_record)
        lsoa = patient.value("lsoa")
        yield SourceRow(
            "patients",
            {
                "person_id": patient.person,
                "nhs_number": None,
                "date_of_birth": birth,
                "sex": sex,
                "ethnicity": patient.value("ethnicity") or NOT_STATED,
                "lsoa_code": lsoa,
                "imd_decile": imd_decile_of(lsoa) if lsoa else None,
                "care_home": False,
                "housebound": False,
                "carer": False,
                "date_of_death": None,
                "_version": f"hes:{birth_text[0]}:{patient.latest().isoformat()}",
            },
            where,
            patient.person.source_id,
        )
        practice = patient.value("practice")
        if practice is None:
            yield Unsupported(
                "registration", where, "no registered practice: GPPRAC unknown on every record"
            )
            continue
        practices.setdefault(practice, where)
        yield registration_row(
            patient.person,
            practice,
            first_seen=patient.first_at.get(practice),
            birth=birth,
            death=None,
            location=where,
            source_id=f"{patient.person.source_id}#registration",
        )
    for code in sorted(practices):
        yield practice_row(code, code, location=practices[code], source_id=f"hes-practice:{code}")
