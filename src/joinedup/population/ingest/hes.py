"""Hospital activity in the HES layout (admitted patient care, A&E, outpatients) → the contracts.

`read_hes(kind, path)` streams one HES extract (CSV with the HES field names as its header:
``../shared/data/nhs_artificial_hes_sample/`` shows them) and yields `SourceRow`s for
``hospital_spells`` + ``spell_diagnoses`` (APC), ``ae_attendances`` (A&E) or
``outpatient_appointments`` (OP), a `Rejected` with its line and an actionable reason for every
record it cannot map, and an `Unsupported` for what HES carries that the contracts do not hold.

Field meanings and codes are those of the NHS Digital *HES Data Dictionary* (Admitted Patient
Care, Accident and Emergency, Outpatients; the field list of the HES Technical Output
Specification is in the sample's ``metadata/hes_apc_metadata.json``). Dates: 1800-01-01 is HES's
null date and 1801-01-01 its code for an invalid date submitted; both are read as "not known":

* **ADMIMETH** (method of admission): 11 waiting list, 12 booked, 13 planned → *elective*;
  21–28 and 2A–2D (A&E, GP, bed bureau, consultant clinic, mental-health crisis team, other
  provider's A&E, emergency transfer, baby born at home, other emergency) → *emergency*;
  31 ante-partum, 32 post-partum → *maternity*; 81 non-emergency transfer, 82/83 births,
  84 and 89 high-security psychiatric admissions → *other*. 98 (not applicable) and 99 (not
  known) cannot be classed: the spell is rejected.
* **Spells from episodes.** A HES record is a consultant episode; a hospital provider spell is
  the run of episodes from admission to discharge at one provider. Where the extract carries
  the provider spell number (PROVSPNOPS) the spell is (PROCODE3, PROVSPNOPS); otherwise the
  episodes of one patient at one provider with one admission date form a spell (PSEUDO_HESID,
  PROCODE3, ADMIDATE), as in NHS Digital's *Methodology to create provider and CIP spells from
  HES APC data*. Admission date and method come from the spell's first episode (lowest
  EPIORDER); the discharge date from its last (the latest DISDATE); length of stay = discharge
  − admission in days (the contract's definition; HES SPELDUR is not trusted: in the
  artificial sample it does not agree with the dates). Only finished episodes (EPISTAT 3) are
  taken; a spell with no discharge date has not ended and is rejected until it has.
* **Diagnoses** (DIAG_4_01…, falling back to DIAG_3_nn): ICD-10, in episode order then position,
  each distinct code once, position 1 the primary diagnosis of the first episode; normalised by
  the one ICD-10 rule of `joinedup.terminology.icd10` (``R54X`` → ``R54``; the HES filler
  ``-`` is an empty position).
* **OPCS-4 procedures** (OPERTN_4_nn): no contract table holds procedures yet, so each episode's
  procedures are reported as `Unsupported` ("OPCS-4 procedure"), never silently dropped.
* **The people** (`patients`, `registrations`, `organisations`). A HES extract names people the
  store may not hold yet, so each reader also yields, once per PSEUDO_HESID, a ``patients`` row
  built from what HES carries, a ``registrations`` row with their practice, and an
  ``organisations`` row per practice used — by the same rules as the FHIR reader
  (`joinedup.population.ingest.people.practice_row` and ``registration_row``: one rule for both).

  - **SEX** 1 → M, 2 → F; 0 / X (not known) and 9 / 3 (indeterminate, not specified) cannot
    be stored (the contract holds F or M): the patient is rejected with that reason, and the
    batch then rejects their activity as being about no known person.
  - **Date of birth is approximate.** HES gives no full date of birth. APC carries MYDOB
    (month and year, ``mmyyyy``): the date stored is the **15th of that month** (the middle of
    the month), or the person's first record in the file if that is earlier (no one is
    admitted before birth). A&E and outpatient extracts carry only the age in whole years at
    the activity (ARRIVALAGE, APPTAGE; APC's STARTAGE is the fallback): the date stored is the
    activity date less that many years and half a year (the middle of the possible range); the
    HES codes 7001–7007 (under one year) give the middle of their band in days. A MYDOB of
    ``1800``/``1801`` is HES's null/invalid date. So ages are right to within a month (APC) or
    six months (A&E, OP).
  - **ETHNOS**: the 2001 codes A–S by the NHS Data Dictionary groups (the FHIR reader's table),
    and the 1995–2000 codes 0–8, which the artificial sample still carries (0 White, 1–3
    Black, 4–6 Asian, 7–8 Other); Z, X, 9 and 99 are "Not stated".
  - **LSOA**: LSOA11, else LSOA01 (2001 LSOA codes mostly carried over to 2011 unchanged, so
    this is approximate for the few that were split or merged); only English codes
    (``E01…``); the IMD decile where the area's LSOA table has it, else empty. NHS number empty.
  - **Conflicts**: a field that differs between one patient's records (sex, date of birth,
    ethnicity) takes the value of the latest record (latest activity date, then line), and the
    difference is counted as `Unsupported` ("HES patient details differ between records"),
    not rejected; an unknown value never overrides a known one.
  - **GPPRAC** is the practice at the time of the activity. The registration is with the
    practice of the person's latest record, from the first activity date the file shows them
    there. HES's placeholders V81997 (not registered), V81998 (not applicable), V81999 (not
    known) and ``&`` (not known, derived by HES) name no practice: someone with no real
    practice gets no registration (counted `Unsupported`), so they are held but not in the
    registered population. A practice's name is its code (HES carries no names); a later
    source that names it updates it.
  - **Versions**: a HES patients row carries the version ``hes:<precision>:<date of the latest
    record>``, so a month-precise date of birth (APC) is never replaced by an age-derived one
    (A&E, OP), and otherwise the most recent extract wins (ADR 0008 merge rules).
* **A&E disposal** (AEATTENDDISP): 01 admitted; 02, 03 discharged; 04–07 and 11 referred (A&E,
  fracture or other clinic, another provider, another professional); 12, 13 left (before
  treatment or refusing it); 10 died. 14 (other) and 99 (not known) have no place in the
  contract and are rejected.
* **Outpatients**: ATTENDED 5, 6 attended; 3 (did not attend) and 7 (arrived late, not seen)
  did not; 2 and 4 (cancelled by the patient or the provider) are not appointments that took
  place: counted `Unsupported`. FIRSTATT 1, 3 first; 2, 4 follow-up; 5 (administrative clock
  stop) is `Unsupported`. Specialty is TRETSPEF (treatment function), else MAINSPEF.
* **Cost**: HES carries none (SUS and PLICS do). A column ``COST`` (pounds) is read when the
  extract has one; otherwise the records come with no cost, the batch prices them at the
  reference unit cost (`joinedup.population.unit_costs`; counted in the summary), and one
  `Unsupported` per file says so.

**Identity** (`joinedup.population.ingest.identity`). HES holds a pseudonymous patient id
(PSEUDO_HESID), not an NHS number: ``person_id`` is ``PersonRef(source_id="hes:<PSEUDO_HESID>")``.
Rows carry no key of their own: `SourceRow.source_id` is the record's stable source key (spell
key, AEKEY, ATTENDKEY) from which the batch makes the key, so re-ingesting the same file changes
nothing; each ``spell_diagnoses`` row names its spell as ``KeyRef("hospital_spells", key)``.

The file is streamed line by line. APC episodes of one spell need not be adjacent, so a small
summary of each spell (dates, method, diagnosis codes, line numbers) is kept until the end of the
file, not the rows themselves.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from joinedup.population.ingest.identity import KeyRef, PersonRef
from joinedup.population.ingest.people import (
    NHS_ETHNIC_GROUPS,
    imd_decile_of,
    practice_row,
    registration_row,
)
from joinedup.population.ingest.records import ReaderItem, Rejected, SourceRow, Unsupported
from joinedup.terminology.icd10 import icd10_code_problem, normalise_icd10

HesKind = Literal["apc", "ae", "op"]

PERSON_PREFIX = "hes:"
COST_COLUMN = "COST"

ELECTIVE = {"11", "12", "13"}
EMERGENCY = {"21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D"}
MATERNITY = {"31", "32"}
OTHER = {"81", "82", "83", "84", "89"}
FINISHED_EPISODE = "3"

AE_DISPOSAL = {
    "01": "admitted",
    "02": "discharged",
    "03": "discharged",
    "04": "referred",
    "05": "referred",
    "06": "referred",
    "07": "referred",
    "11": "referred",
    "12": "left",
    "13": "left",
    "10": "died",
}
OP_ATTENDED = {"5": True, "6": True, "3": False, "7": False}
OP_CANCELLED = {"2": "cancelled by or for the patient", "4": "cancelled by the provider"}
OP_FIRST = {"1": True, "3": True, "2": False, "4": False}
OP_ADMINISTRATIVE = "5"

DIAGNOSIS_POSITIONS = 20
PROCEDURE_POSITIONS = 24

REQUIRED: dict[str, tuple[str, ...]] = {
    "apc": ("PSEUDO_HESID", "EPIKEY", "PROCODE3", "ADMIDATE", "ADMIMETH", "DISDATE", "EPISTAT"),
    "ae": ("PSEUDO_HESID", "AEKEY", "PROCODE3", "ARRIVALDATE", "AEATTENDDISP"),
    "op": ("PSEUDO_HESID", "ATTENDKEY", "PROCODE3", "APPTDATE", "ATTENDED", "FIRSTATT"),
}
PLACEHOLDER_DATES = {
    "1800-01-01": "HES's null date (not known)",
    "1801-01-01": "HES's code for an invalid date submitted",
}
PLACEHOLDER_YEARS = {"1800", "1801"}
SEX = {"1": "M", "2": "F"}
# HES ETHNOS 1995–2000 codes (still in the artificial sample) → ONS 2021 high-level groups.
OLD_ETHNIC_GROUPS = {
    "0": "White",
    **dict.fromkeys("123", "Black"),
    **dict.fromkeys("456", "Asian"),
    **dict.fromkeys("78", "Other"),
}
NOT_STATED = "Not stated"
# GPPRAC values that name no practice (HES Data Dictionary).
NO_PRACTICE = {"V81997", "V81998", "V81999", "&"}
PRACTICE_CODE = re.compile(r"^[A-Z][A-Z0-9]{5,7}$")
LSOA_CODE = re.compile(r"^E0[0-9]{7}$")
ACTIVITY_DATE = {"apc": "ADMIDATE", "ae": "ARRIVALDATE", "op": "APPTDATE"}
AGE_FIELDS = {"apc": ("STARTAGE",), "ae": ("ARRIVALAGE",), "op": ("APPTAGE",)}
# Middle of each HES under-one age band, in days (STARTAGE/ARRIVALAGE/APPTAGE 7001–7007).
INFANT_AGE_DAYS = {
    "7001": 0,
    "7002": 3,
    "7003": 17,
    "7004": 59,
    "7005": 136,
    "7006": 227,
    "7007": 318,
}
MONTH_PRECISION, YEAR_PRECISION = "2", "1"
CONFLICT = "HES patient details differ between records"
CONFLICT_LABELS = {"sex": "sex", "birth": "date of birth", "ethnicity": "ethnicity"}


class _RowProblem(ValueError):
    """One record cannot be mapped; its message is the reason a person reads."""


def admission_method(code: str) -> str:
    """The contract's admission method for a HES ADMIMETH code (see the module docstring)."""
    code = code.strip().upper()
    for group, codes in (
        ("elective", ELECTIVE),
        ("emergency", EMERGENCY),
        ("maternity", MATERNITY),
        ("other", OTHER),
    ):
        if code in codes:
            return group
    shown = f"{code!r}" if code else "empty"
    raise _RowProblem(
        f"admission method (ADMIMETH) {shown} is not a HES code that says elective, emergency, "
        "maternity or other (11–13, 21–28/2A–2D, 31–32, 81–89)"
    )


def read_hes(kind: HesKind, path: Path) -> Iterator[ReaderItem]:
    """Every record of the HES extract `path` of `kind` as rows, rejects and unsupported items."""
    readers: dict[str, Callable[[_Source], Iterator[ReaderItem]]] = {
        "apc": _read_apc,
        "ae": _read_ae,
        "op": _read_op,
    }
    if kind not in readers:
        raise ValueError(f"unknown HES kind {kind!r}: choose apc, ae or op")
    source = _Source(kind, Path(path))
    yield from source.guarded(readers[kind])


# --- reading the file -------------------------------------------------------------------------


@dataclass
class _Source:
    """One HES file being read: its lines as dicts, counts of fields the contracts do not hold."""

    kind: str
    path: Path
    header: list[str] = field(default_factory=list)
    people: dict[str, _Patient] = field(default_factory=dict)
    has_cost: bool = False
    line: int = 1

    def where(self, line: int | None = None) -> str:
        return f"{self.path.name} line {self.line if line is None else line}"

    def guarded(self, read: Callable[[_Source], Iterator[ReaderItem]]) -> Iterator[ReaderItem]:
        """Run `read`, then yield the people it named, then report what is not held."""
        yield from read(self)
        yield from _people_rows(self)
        yield from self.unsupported_fields()

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, values) of each data line, after checking the header."""
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise _FileProblem(
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
            raise _FileProblem(
                f"the header has no {', '.join(missing)}: a HES {self.kind.upper()} extract "
                "needs these fields (HES Data Dictionary names)"
            )
        self.has_cost = COST_COLUMN in self.header

    def _note_person(self, row: Mapping[str, str]) -> None:
        """Remember what this record says about its patient (a few fields per person)."""
        hes_id = row.get("PSEUDO_HESID", "")
        if not _present(hes_id):
            return  # the record itself is rejected for it
        patient = self.people.get(hes_id)
        if patient is None:
            patient = self.people[hes_id] = _Patient(PersonRef(source_id=PERSON_PREFIX + hes_id))
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
            raise _RowProblem(f"COST {text!r} is not a number of pounds") from None
        if value < 0:
            raise _RowProblem(f"COST {text!r} is negative")
        return value


class _FileProblem(ValueError):
    """The whole file cannot be read as this kind of HES extract."""


def _present(value: str) -> bool:
    """HES writes an empty position as blanks or dashes."""
    return bool(value.strip().strip("-").strip())


def _date(row: Mapping[str, str], name: str) -> dt.date:
    text = row.get(name, "")
    if not _present(text):
        raise _RowProblem(f"{name} is empty")
    if text in PLACEHOLDER_DATES:
        raise _RowProblem(f"{name} is {text}, {PLACEHOLDER_DATES[text]}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _RowProblem(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def _required(row: Mapping[str, str], name: str) -> str:
    value = row.get(name, "")
    if not _present(value):
        raise _RowProblem(f"{name} is empty")
    return value


def _rows_or_rejects(
    source: _Source, table: str
) -> Iterator[tuple[int, dict[str, str]] | Rejected]:
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
    except _FileProblem as exc:
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


def _person(row: Mapping[str, str]) -> PersonRef:
    return PersonRef(source_id=PERSON_PREFIX + _required(row, "PSEUDO_HESID"))


# --- the people a file names: patients, registrations, practices ------------------------------

_Ranked = tuple[tuple[dt.date, int], str]  # ((record date, line), value)


@dataclass
class _Patient:
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
        return _date({"D": text}, "D")
    except _RowProblem:
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


def _people_rows(source: _Source) -> Iterator[ReaderItem]:
    """A patients row and a registration per person the file names, and the practices used."""
    practices: dict[str, str] = {}
    for hes_id, patient in source.people.items():
        where = f"{source.path.name} line {min(patient.lines)}"
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


# --- admitted patient care: episodes → spells -------------------------------------------------


@dataclass
class _Spell:
    key: str
    person: PersonRef
    provider: str
    lines: list[int] = field(default_factory=list)
    episodes: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _spell_key(row: Mapping[str, str]) -> str:
    provider = _required(row, "PROCODE3")
    spell_number = row.get("PROVSPNOPS", "")
    if _present(spell_number):
        return f"hes-apc:{provider}:{spell_number}"
    return f"hes-apc:{provider}:{_required(row, 'PSEUDO_HESID')}:{_required(row, 'ADMIDATE')}"


def _episode_order(row: Mapping[str, str]) -> int:
    text = row.get("EPIORDER", "")
    return int(text) if text.isdigit() else 99


def _episode_summary(row: Mapping[str, str]) -> dict[str, str]:
    """The few fields a spell needs from one episode (not the 193 columns of the row)."""
    kept = {k: row.get(k, "") for k in ("ADMIDATE", "ADMIMETH", "DISDATE", "SUSHRG", "HRG40")}
    if COST_COLUMN in row:
        kept[COST_COLUMN] = row[COST_COLUMN]
    for n in range(1, DIAGNOSIS_POSITIONS + 1):
        code = row.get(f"DIAG_4_{n:02d}", "") or row.get(f"DIAG_3_{n:02d}", "")
        if _present(code):
            kept[f"DX{n:02d}"] = code
    return kept


def _procedures(row: Mapping[str, str]) -> list[str]:
    codes = []
    for n in range(1, PROCEDURE_POSITIONS + 1):
        code = row.get(f"OPERTN_4_{n:02d}", "") or row.get(f"OPERTN_3_{n:02d}", "")
        if _present(code):
            codes.append(code)
    return codes


def _read_apc(source: _Source) -> Iterator[ReaderItem]:
    spells: dict[str, _Spell] = {}
    for item in _rows_or_rejects(source, "hospital_spells"):
        if isinstance(item, Rejected):
            yield item
            continue
        line, row = item
        try:
            if row.get("EPISTAT", "") != FINISHED_EPISODE:
                raise _RowProblem(
                    f"episode status (EPISTAT) is {row.get('EPISTAT')!r}, not 3 (finished): "
                    "unfinished episodes are loaded from a later extract, once finished"
                )
            key = _spell_key(row)
            spell = spells.get(key) or _Spell(key, _person(row), _required(row, "PROCODE3"))
        except _RowProblem as exc:
            yield Rejected(
                source.where(line), f"episode {row.get('EPIKEY', '?')}: {exc}", "hospital_spells"
            )
            continue
        spells[key] = spell
        spell.lines.append(line)
        spell.episodes.append((_episode_order(row), line, _episode_summary(row)))
        procedures = _procedures(row)
        if procedures:
            yield Unsupported(
                "OPCS-4 procedure",
                source.where(line),
                f"{len(procedures)} procedure code(s): no contract table holds procedures yet",
            )
    for spell in spells.values():
        yield from _spell_rows(source, spell)


def _spell_rows(source: _Source, spell: _Spell) -> Iterator[ReaderItem]:
    episodes = sorted(spell.episodes, key=lambda e: (e[0], e[1]))
    first = episodes[0][2]
    lines = ", ".join(str(line) for line in sorted(spell.lines))
    where = f"{source.path.name} line{'s' if len(spell.lines) > 1 else ''} {lines}"
    try:
        admitted = _date(first, "ADMIDATE")
        method = admission_method(first.get("ADMIMETH", ""))
        discharges = [e[2]["DISDATE"] for e in episodes if _present(e[2]["DISDATE"])]
        if not discharges:
            raise _RowProblem(
                "no discharge date (DISDATE) on any episode: the spell has not ended; it is "
                "loaded from a later extract once the patient is discharged"
            )
        discharged = max(_date({"DISDATE": d}, "DISDATE") for d in discharges)
        if discharged < admitted:
            raise _RowProblem(f"discharge date {discharged} is before admission {admitted}")
        costs = [source.cost(e[2]) for e in episodes]
        cost = None if None in costs else sum(c for c in costs if c is not None)
    except _RowProblem as exc:
        yield Rejected(where, f"spell {spell.key}: {exc}", "hospital_spells")
        return
    hrg = next((e[2][k] for e in episodes for k in ("SUSHRG", "HRG40") if _present(e[2][k])), None)
    yield SourceRow(
        "hospital_spells",
        {
            "person_id": spell.person,
            "provider_code": spell.provider,
            "admission_date": admitted,
            "discharge_date": discharged,
            "admission_method": method,
            "length_of_stay": (discharged - admitted).days,
            "hrg_code": hrg,
            "cost": cost,
        },
        where,
        spell.key,
    )
    yield from _diagnosis_rows(source, spell, episodes)


def _diagnosis_rows(
    source: _Source, spell: _Spell, episodes: list[tuple[int, int, dict[str, str]]]
) -> Iterator[ReaderItem]:
    seen: set[str] = set()
    for _, line, summary in episodes:
        for n in range(1, DIAGNOSIS_POSITIONS + 1):
            recorded = summary.get(f"DX{n:02d}")
            if recorded is None:
                continue
            code = normalise_icd10(recorded)
            if code is None:
                yield Rejected(
                    source.where(line),
                    f"DIAG_4_{n:02d}: {icd10_code_problem(recorded)}",
                    "spell_diagnoses",
                )
                continue
            if code in seen:
                continue
            seen.add(code)
            yield SourceRow(
                "spell_diagnoses",
                {
                    "spell_id": KeyRef("hospital_spells", spell.key),
                    "person_id": spell.person,
                    "position": len(seen),
                    "icd10_code": code,
                },
                source.where(line),
                f"{spell.key}#{len(seen)}",
            )


# --- A&E and outpatients: one record, one row --------------------------------------------------


def _read_ae(source: _Source) -> Iterator[ReaderItem]:
    yield from _read_each(source, "ae_attendances", _ae_row)


def _ae_row(source: _Source, row: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    disposal_code = row.get("AEATTENDDISP", "")
    if disposal_code not in AE_DISPOSAL:
        raise _RowProblem(
            f"disposal (AEATTENDDISP) {disposal_code!r} is not one the contract holds "
            "(01 admitted, 02–03 discharged, 04–07/11 referred, 12–13 left, 10 died)"
        )
    values: dict[str, object] = {
        "person_id": _person(row),
        "provider_code": _required(row, "PROCODE3"),
        "arrival_date": _date(row, "ARRIVALDATE"),
        "disposal": AE_DISPOSAL[disposal_code],
        "cost": source.cost(row),
    }
    return f"hes-ae:{_required(row, 'AEKEY')}", values


class _NotActivity(Exception):
    """A record that is not activity the contract holds (counted, not rejected)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def _read_op(source: _Source) -> Iterator[ReaderItem]:
    yield from _read_each(source, "outpatient_appointments", _op_row)


def _specialty(row: Mapping[str, str]) -> str:
    for name in ("TRETSPEF", "MAINSPEF"):
        value = row.get(name, "")
        if len(value) == 3 and value.isdigit():
            return value
    raise _RowProblem(
        f"no three-digit specialty: TRETSPEF {row.get('TRETSPEF', '')!r}, "
        f"MAINSPEF {row.get('MAINSPEF', '')!r}"
    )


def _op_row(source: _Source, row: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    attended_code = row.get("ATTENDED", "")
    if attended_code in OP_CANCELLED:
        raise _NotActivity("cancelled outpatient appointment", OP_CANCELLED[attended_code])
    if attended_code not in OP_ATTENDED:
        raise _RowProblem(
            f"attendance (ATTENDED) {attended_code!r} does not say whether the person attended "
            "(5–6 attended, 3 or 7 did not)"
        )
    first_code = row.get("FIRSTATT", "")
    if first_code == OP_ADMINISTRATIVE:
        raise _NotActivity("administrative outpatient event", "FIRSTATT 5: RTT clock stop")
    if first_code not in OP_FIRST:
        raise _RowProblem(
            f"FIRSTATT {first_code!r} does not say first or follow-up (1, 3 first; 2, 4 follow-up)"
        )
    values: dict[str, object] = {
        "person_id": _person(row),
        "provider_code": _required(row, "PROCODE3"),
        "appointment_date": _date(row, "APPTDATE"),
        "specialty_code": _specialty(row),
        "first_attendance": OP_FIRST[first_code],
        "attended": OP_ATTENDED[attended_code],
        "cost": source.cost(row),
    }
    return f"hes-op:{_required(row, 'ATTENDKEY')}", values


def _read_each(
    source: _Source,
    table: str,
    build: Callable[[_Source, Mapping[str, str]], tuple[str, dict[str, object]]],
) -> Iterator[ReaderItem]:
    for item in _rows_or_rejects(source, table):
        if isinstance(item, Rejected):
            yield item
            continue
        line, row = item
        try:
            key, values = build(source, row)
        except _NotActivity as exc:
            yield Unsupported(exc.kind, source.where(line), exc.detail)
            continue
        except _RowProblem as exc:
            yield Rejected(source.where(line), str(exc), table)
            continue
        yield SourceRow(table, values, source.where(line), key)
