"""Table contracts: the one declaration of every population-store table.

A contract names a table, its columns, their types, what each means and the constraints a
row must meet. Validation, the Arrow schema of the Parquet files, the data-dictionary page and
the synthetic generator all read these declarations, so a column is described exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

# Logical column types and the Arrow types they are stored as.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


@dataclass(frozen=True)
class Column:
    """One column of a table contract."""

    name: str
    type: str
    description: str
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    references: str | None = None  # "table.column" this column must match
    check: str | None = None  # a named rule from validation.CHECKS, e.g. "nhs_number"
    not_after: str | None = None  # another column of the row this one may not be later than

    def __post_init__(self) -> None:
        if self.type not in ARROW_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    def rules(self) -> list[str]:
        """The column's constraints in words, for the data dictionary and error messages."""
        rules = ["optional" if self.nullable else "required"]
        if self.allowed:
            rules.append("one of " + ", ".join(self.allowed))
        if self.minimum is not None:
            rules.append(f"at least {self.minimum:g}")
        if self.maximum is not None:
            rules.append(f"at most {self.maximum:g}")
        if self.pattern:
            rules.append(f"matches {self.pattern}")
        if self.references:
            rules.append(f"refers to {self.references}")
        if self.check == "nhs_number":
            rules.append("valid NHS number check digit")
        if self.not_after:
            rules.append(f"not after {self.not_after}")
        return rules


@dataclass(frozen=True)
class TableContract:
    """A population-store table: its columns, key and meaning."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    grain: str = ""  # what one row is, in words
    column_index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {c.name: c for c in self.columns}
        if len(index) != len(self.columns):
            raise ValueError(f"table {self.name}: duplicate column names")
        missing = [k for k in self.primary_key if k not in index]
        if missing:
            raise ValueError(f"table {self.name}: primary key names unknown columns {missing}")
        unknown = [c.name for c in self.columns if c.not_after and c.not_after not in index]
        if unknown:
            raise ValueError(f"table {self.name}: {unknown} compare with an unknown column")
        object.__setattr__(self, "column_index", index)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return self.column_index[name]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns],
            metadata={"joinedup.table": self.name},
        )


def _c(name: str, type_: str, description: str, **rules: object) -> Column:
    return Column(name, type_, description, **rules)  # type: ignore[arg-type]


PERSON = _c(
    "person_id",
    "int",
    "Pseudonymous person key used across every table; carries no identity of its own.",
    minimum=1,
    references="patients.person_id",
)
PRACTICE = _c(
    "practice_code",
    "string",
    "Organisation code of the GP practice.",
    references="organisations.org_code",
)
COST = _c(
    "cost", "float", "Cost in pounds sterling at the tariff or unit cost of the year.", minimum=0
)

ORG_TYPES = (
    "commissioning_area",
    "federation",
    "neighbourhood",
    "practice",
    "hub",
    "community_team",
)
SETTINGS = ("gp", "prescribing", "ae", "inpatient", "outpatient", "community", "social_care")


ORGANISATIONS = TableContract(
    name="organisations",
    description=(
        "Every organisation of the area: the commissioning area (ICB or CCG), federations or "
        "primary care networks, neighbourhoods, GP practices, extended-access hubs and community "
        "teams, each linked to the one above it."
    ),
    grain="one organisation",
    primary_key=("org_code",),
    columns=(
        _c(
            "org_code",
            "string",
            "Organisation code, unique in the area.",
            pattern=r"^[A-Z0-9]{3,12}$",
        ),
        _c("name", "string", "Name shown to users."),
        _c("org_type", "string", "Kind of organisation.", allowed=ORG_TYPES),
        _c(
            "parent_code",
            "string",
            "The organisation this one belongs to (practice → neighbourhood → federation → "
            "commissioning area); empty for the commissioning area.",
            nullable=True,
            references="organisations.org_code",
        ),
        _c(
            "imd_decile",
            "int",
            "Deprivation decile of the practice population (1 most deprived, 10 least).",
            nullable=True,
            minimum=1,
            maximum=10,
        ),
        _c("opened", "date", "Date the organisation started.", nullable=True),
    ),
)

PATIENTS = TableContract(
    name="patients",
    description="Everyone who has been registered with one of the area's practices.",
    grain="one person",
    primary_key=("person_id",),
    columns=(
        _c(
            "person_id",
            "int",
            "Pseudonymous person key used across every table; carries no identity of its own.",
            minimum=1,
        ),
        _c(
            "nhs_number",
            "string",
            "NHS number: ten digits with a valid mod-11 check digit; empty when the source "
            "gives none (ingested records are then linked by their source id).",
            nullable=True,
            pattern=r"^[0-9]{10}$",
            check="nhs_number",
        ),
        _c("date_of_birth", "date", "Date of birth."),
        _c("sex", "string", "Sex as recorded by the practice.", allowed=("F", "M")),
        _c(
            "ethnicity",
            "string",
            "Ethnic group, ONS 2021 high-level categories.",
            allowed=("White", "Asian", "Black", "Mixed", "Other", "Not stated"),
        ),
        _c(
            "lsoa_code",
            "string",
            "Lower-layer super output area (2011) of residence; empty when the source does "
            "not say.",
            nullable=True,
            pattern=r"^E0[0-9]{7}$",
        ),
        _c(
            "imd_decile",
            "int",
            "Index of Multiple Deprivation 2019 decile of the LSOA (1 most deprived); empty "
            "when the LSOA is unknown.",
            nullable=True,
            minimum=1,
            maximum=10,
        ),
        _c("care_home", "bool", "Lives in a care home."),
        _c("housebound", "bool", "Housebound: cannot leave home without substantial help."),
        _c("carer", "bool", "Is an unpaid carer for someone else."),
        _c("date_of_death", "date", "Date of death, if the person has died.", nullable=True),
        # Identity for direct care. Optional: hospital extracts carry no names or addresses.
        _c("given_name", "string", "First name as the person is known.", nullable=True),
        _c("family_name", "string", "Surname.", nullable=True),
        _c(
            "address_line",
            "string",
            "Home address without the postcode, one line (house, street, town).",
            nullable=True,
        ),
        _c(
            "postcode",
            "string",
            "Postcode of the home address (UK format, e.g. BL1 4QT).",
            nullable=True,
            pattern=r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$",
        ),
        _c("phone", "string", "Contact telephone number as recorded.", nullable=True),
        _c(
            "home_latitude",
            "float",
            "Latitude of the home (WGS84), for planning home visits.",
            nullable=True,
            minimum=49.0,
            maximum=61.0,
        ),
        _c(
            "home_longitude",
            "float",
            "Longitude of the home (WGS84), for planning home visits.",
            nullable=True,
            minimum=-9.0,
            maximum=2.5,
        ),
    ),
)

REGISTRATIONS = TableContract(
    name="registrations",
    description="A person's registration with a practice over time.",
    grain="one period of registration with one practice",
    primary_key=("person_id", "start_date"),
    columns=(
        PERSON,
        PRACTICE,
        _c("start_date", "date", "First day of the registration."),
        _c("end_date", "date", "Last day of the registration; empty while current.", nullable=True),
    ),
)

CLINICAL_EVENTS = TableContract(
    name="clinical_events",
    description=(
        "Coded entries in the GP record: diagnoses, symptoms, findings, measurements and "
        "care processes."
    ),
    grain="one coded entry",
    primary_key=("event_id",),
    columns=(
        _c("event_id", "int", "Key of the entry.", minimum=1),
        PERSON,
        _c("event_date", "date", "Date the entry applies to."),
        _c(
            "code_system",
            "string",
            "Code system of the code.",
            allowed=("snomed", "ctv3", "read2", "loinc", "icd10"),
        ),
        _c("code", "string", "The clinical code as recorded.", pattern=r"^[A-Za-z0-9.\-]{1,20}$"),
        _c("value", "float", "Numeric value of a measurement.", nullable=True),
        _c("unit", "string", "Unit of the value (UCUM).", nullable=True),
    ),
)

MEDICATIONS = TableContract(
    name="medications",
    description="Medication issues from the GP record.",
    grain="one issue of one medicine",
    primary_key=("issue_id",),
    columns=(
        _c("issue_id", "int", "Key of the issue.", minimum=1),
        PERSON,
        _c("issue_date", "date", "Date the medicine was issued."),
        _c(
            "code_system", "string", "Code system of the code.", allowed=("dmd", "snomed", "rxnorm")
        ),
        _c("code", "string", "Medicine code (dm+d VMP/AMP where known)."),
        _c("name", "string", "Medicine name as issued."),
        _c("bnf_chapter", "string", "BNF chapter of the medicine.", nullable=True),
        COST,
    ),
)

GP_APPOINTMENTS = TableContract(
    name="gp_appointments",
    description="Appointments in general practice, with whom and how.",
    grain="one appointment",
    primary_key=("appointment_id",),
    columns=(
        _c("appointment_id", "int", "Key of the appointment.", minimum=1),
        PERSON,
        PRACTICE,
        _c("appointment_date", "date", "Date of the appointment."),
        _c("clinician_id", "string", "Pseudonymous key of the clinician seen."),
        _c(
            "clinician_role",
            "string",
            "Role of the clinician.",
            allowed=("gp", "nurse", "pharmacist", "healthcare_assistant", "paramedic", "other"),
        ),
        _c(
            "mode",
            "string",
            "How the appointment took place.",
            allowed=("face_to_face", "telephone", "video", "home_visit"),
        ),
        _c("attended", "bool", "Whether the person attended (false: did not attend)."),
        COST,
        _c(
            "site_code",
            "string",
            "Organisation code of the site when it is not the practice: the extended-access "
            "hub the appointment took place at (empty: at the practice).",
            nullable=True,
        ),
        _c(
            "booked_date",
            "date",
            "Date the appointment was booked (GPAD's time from booking to appointment: the "
            "same day as appointment_date for same-day access); empty when the source does "
            "not say.",
            nullable=True,
            not_after="appointment_date",
        ),
    ),
)

HOSPITAL_SPELLS = TableContract(
    name="hospital_spells",
    description="Admitted patient care spells in hospital (HES APC / SUS).",
    grain="one spell from admission to discharge",
    primary_key=("spell_id",),
    columns=(
        _c("spell_id", "int", "Key of the spell.", minimum=1),
        PERSON,
        _c("provider_code", "string", "Organisation code of the hospital trust."),
        _c("admission_date", "date", "Date of admission."),
        _c("discharge_date", "date", "Date of discharge."),
        _c(
            "admission_method",
            "string",
            "Elective, emergency, maternity or other (from the HES admission method).",
            allowed=("elective", "emergency", "maternity", "other"),
        ),
        _c("length_of_stay", "int", "Nights in hospital (discharge − admission).", minimum=0),
        _c("hrg_code", "string", "Healthcare resource group of the spell.", nullable=True),
        COST,
    ),
)

SPELL_DIAGNOSES = TableContract(
    name="spell_diagnoses",
    description="ICD-10 diagnoses of each hospital spell in recorded order (1 = primary).",
    grain="one diagnosis position of one spell",
    primary_key=("spell_id", "position"),
    columns=(
        _c("spell_id", "int", "The spell.", references="hospital_spells.spell_id"),
        PERSON,
        _c("position", "int", "Order of the diagnosis; 1 is the primary diagnosis.", minimum=1),
        _c(
            "icd10_code",
            "string",
            "ICD-10 code without the dot, e.g. I500.",
            pattern=r"^[A-Z][0-9]{2}[0-9A-Z]{0,4}$",
        ),
    ),
)

AE_ATTENDANCES = TableContract(
    name="ae_attendances",
    description="Attendances at accident and emergency departments (HES A&E / ECDS).",
    grain="one attendance",
    primary_key=("attendance_id",),
    columns=(
        _c("attendance_id", "int", "Key of the attendance.", minimum=1),
        PERSON,
        _c("provider_code", "string", "Organisation code of the hospital trust."),
        _c("arrival_date", "date", "Date of arrival."),
        _c(
            "disposal",
            "string",
            "What happened at the end of the attendance.",
            allowed=("admitted", "discharged", "referred", "left", "died"),
        ),
        COST,
    ),
)

OUTPATIENT_APPOINTMENTS = TableContract(
    name="outpatient_appointments",
    description="Hospital outpatient appointments (HES OP).",
    grain="one appointment",
    primary_key=("appointment_id",),
    columns=(
        _c("appointment_id", "int", "Key of the appointment.", minimum=1),
        PERSON,
        _c("provider_code", "string", "Organisation code of the hospital trust."),
        _c("appointment_date", "date", "Date of the appointment."),
        _c("specialty_code", "string", "Treatment function code.", pattern=r"^[0-9]{3}$"),
        _c("first_attendance", "bool", "First appointment of a course (false: follow-up)."),
        _c("attended", "bool", "Whether the person attended."),
        COST,
    ),
)

COMMUNITY_CONTACTS = TableContract(
    name="community_contacts",
    description="Contacts with community health, mental health and social care services.",
    grain="one contact",
    primary_key=("contact_id",),
    columns=(
        _c("contact_id", "int", "Key of the contact.", minimum=1),
        PERSON,
        _c("contact_date", "date", "Date of the contact."),
        _c(
            "service",
            "string",
            "Service that made the contact.",
            allowed=(
                "district_nursing",
                "community_therapy",
                "community_mental_health",
                "social_care",
                "intermediate_care",
                "palliative_care",
            ),
        ),
        _c(
            "setting",
            "string",
            "Where the contact took place.",
            allowed=("home", "clinic", "care_home", "telephone"),
        ),
        _c("duration_minutes", "int", "Length of the contact in minutes.", minimum=0),
        COST,
    ),
)

CARE_PACKAGES = TableContract(
    name="care_packages",
    description="Packages of social care arranged by the local authority.",
    grain="one package of care",
    primary_key=("package_id",),
    columns=(
        _c("package_id", "int", "Key of the package.", minimum=1),
        PERSON,
        _c(
            "package_type",
            "string",
            "Kind of package.",
            allowed=("home_care", "residential", "nursing", "reablement"),
        ),
        _c("start_date", "date", "First day of the package."),
        _c("end_date", "date", "Last day of the package; empty while current.", nullable=True),
        _c("weekly_cost", "float", "Cost per week in pounds sterling.", minimum=0),
    ),
)

COSTS = TableContract(
    name="costs",
    description="Each person's cost of care per financial year and setting.",
    grain="one person, financial year and setting",
    primary_key=("person_id", "financial_year", "setting"),
    columns=(
        PERSON,
        _c(
            "financial_year",
            "int",
            "Financial year by its starting calendar year (2023 = 2023/24).",
            minimum=2000,
            maximum=2100,
        ),
        _c("setting", "string", "Setting of care.", allowed=SETTINGS),
        COST,
    ),
)

CONTRACTS: dict[str, TableContract] = {
    t.name: t
    for t in (
        ORGANISATIONS,
        PATIENTS,
        REGISTRATIONS,
        CLINICAL_EVENTS,
        MEDICATIONS,
        GP_APPOINTMENTS,
        HOSPITAL_SPELLS,
        SPELL_DIAGNOSES,
        AE_ATTENDANCES,
        OUTPATIENT_APPOINTMENTS,
        COMMUNITY_CONTACTS,
        CARE_PACKAGES,
        COSTS,
    )
}


def contract(name: str) -> TableContract:
    """The contract called `name`, or a clear error listing the known tables."""
    try:
        return CONTRACTS[name]
    except KeyError:
        known = ", ".join(sorted(CONTRACTS))
        raise KeyError(f"unknown table {name!r}; the tables are: {known}") from None
