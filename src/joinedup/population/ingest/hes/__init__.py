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

from joinedup.population.ingest.hes.fields import (
    ACTIVITY_DATE,
    AE_DISPOSAL,
    AGE_FIELDS,
    CONFLICT,
    CONFLICT_LABELS,
    COST_COLUMN,
    DIAGNOSIS_POSITIONS,
    ELECTIVE,
    EMERGENCY,
    FINISHED_EPISODE,
    INFANT_AGE_DAYS,
    LSOA_CODE,
    MATERNITY,
    MONTH_PRECISION,
    NO_PRACTICE,
    NOT_STATED,
    OLD_ETHNIC_GROUPS,
    OP_ADMINISTRATIVE,
    OP_ATTENDED,
    OP_CANCELLED,
    OP_FIRST,
    OTHER,
    PERSON_PREFIX,
    PLACEHOLDER_DATES,
    PLACEHOLDER_YEARS,
    PRACTICE_CODE,
    PROCEDURE_POSITIONS,
    REQUIRED,
    SEX,
    YEAR_PRECISION,
    HesKind,
    admission_method,
)
from joinedup.population.ingest.hes.reader import read_hes

__all__ = [
    "ACTIVITY_DATE",
    "AE_DISPOSAL",
    "AGE_FIELDS",
    "CONFLICT",
    "CONFLICT_LABELS",
    "COST_COLUMN",
    "DIAGNOSIS_POSITIONS",
    "ELECTIVE",
    "EMERGENCY",
    "FINISHED_EPISODE",
    "INFANT_AGE_DAYS",
    "LSOA_CODE",
    "MATERNITY",
    "MONTH_PRECISION",
    "NOT_STATED",
    "NO_PRACTICE",
    "OLD_ETHNIC_GROUPS",
    "OP_ADMINISTRATIVE",
    "OP_ATTENDED",
    "OP_CANCELLED",
    "OP_FIRST",
    "OTHER",
    "PERSON_PREFIX",
    "PLACEHOLDER_DATES",
    "PLACEHOLDER_YEARS",
    "PRACTICE_CODE",
    "PROCEDURE_POSITIONS",
    "REQUIRED",
    "SEX",
    "YEAR_PRECISION",
    "HesKind",
    "admission_method",
    "read_hes",
]
