"""Features and outcome of the emergency-admission risk model, as of an index date.

One engine-neutral Ibis pipeline (DuckDB or Spark) over the population store:

* **population**: everyone registered with one of the area's practices and alive at the end of
  the index date (`population.reads.registered_population`), one row each;
* **features**: only data dated on or before the index date. Activity counts use the 365 days
  ending on the index date, (index − 365 days, index]; the scores use their own published
  look-backs (eFI, CMS, long-term conditions: the GP record up to the index date; HFRS: two
  years of hospital diagnoses; Charlson: every hospital diagnosis up to the index date);
* **outcome**: any emergency admission with an admission date in the 365 days after the index
  date, (index, index + 365 days].

Every feature is declared once in `FEATURES` with a plain-words label and unit, used by the model,
the model card and the explanations of each person's score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import ibis

from joinedup.analytics.scores import charlson, cms, conditions, efi, hfrs
from joinedup.analytics.scores.conditions import LONG_TERM_CONDITIONS, as_date
from joinedup.population.reads import registered_population

#: Days in the look-back window of activity counts and the follow-up window of the outcome.
WINDOW_DAYS = 365
#: "Days since last emergency admission" for someone with none on record (five years).
NO_ADMISSION_DAYS = 1826

#: The population-store tables the features and outcome read.
TABLES = (
    "patients",
    "registrations",
    "clinical_events",
    "medications",
    "hospital_spells",
    "spell_diagnoses",
    "ae_attendances",
    "outpatient_appointments",
    "gp_appointments",
    "community_contacts",
)


@dataclass(frozen=True)
class Feature:
    """One model feature: its column, what it is in plain words, and its unit.

    unit is one of: years, sex, decile, flag, count, days, score, efi.
    """

    column: str
    label: str
    unit: str

    def describe(self, value: float | None) -> str:
        """The feature's value for one person in plain words, e.g. "3 emergency admissions…"."""
        if value is None or value != value:  # missing (NaN)
            return f"{self.label}: not recorded"
        if self.unit == "years":
            return f"aged {int(value)}"
        if self.unit == "sex":
            return "male" if value >= 0.5 else "female"
        if self.unit == "decile":
            return f"lives in deprivation decile {int(value)} (1 is most deprived)"
        if self.unit == "flag":
            return self.label if value >= 0.5 else f"no record of: {self.label}"
        if self.unit == "days":
            if value >= NO_ADMISSION_DAYS:
                return "no emergency admission in the last five years"
            return f"last emergency admission {int(value)} days ago"
        if self.unit == "efi":
            deficits = round(value * efi.TOTAL_DEFICITS)
            return f"{efi.category(deficits)} frailty (eFI {value:.2f})"
        if self.unit == "score":
            return f"{self.label} {value:g}"
        return f"{int(value)} {self.label}"


def _plain(name: str) -> str:
    """A condition's name inside a sentence: "Stroke or TIA" → "stroke or TIA", "COPD" kept."""
    return name if name[:2].isupper() else name[0].lower() + name[1:]


_CONDITION_FEATURES = tuple(
    Feature(f"ltc_{c.condition}", _plain(c.name), "flag") for c in LONG_TERM_CONDITIONS
)

#: Every feature of the model, in model order. Declared once: model, card and explanations.
FEATURES: tuple[Feature, ...] = (
    Feature("age", "age", "years"),
    Feature("male", "sex", "sex"),
    Feature("imd_decile", "deprivation decile", "decile"),
    Feature("care_home", "lives in a care home", "flag"),
    Feature("housebound", "housebound", "flag"),
    *_CONDITION_FEATURES,
    Feature("ltc_count", "long-term conditions", "count"),
    Feature("efi_deficits", "frailty deficits (eFI)", "count"),
    Feature("efi", "electronic Frailty Index", "efi"),
    Feature("hfrs", "Hospital Frailty Risk Score", "score"),
    Feature("charlson", "Charlson comorbidity score", "score"),
    Feature("cms", "Cambridge Multimorbidity Score", "score"),
    Feature("medicines", "different medicines in the last year", "count"),
    Feature("emergency_admissions_12m", "emergency admissions in the last year", "count"),
    Feature("elective_admissions_12m", "planned (elective) admissions in the last year", "count"),
    Feature("ae_attendances_12m", "A&E attendances in the last year", "count"),
    Feature("bed_days_12m", "days in hospital in the last year", "count"),
    Feature(
        "outpatient_attendances_12m", "outpatient appointments attended in the last year", "count"
    ),
    Feature("gp_appointments_12m", "GP practice appointments attended in the last year", "count"),
    Feature("gp_home_visits_12m", "GP home visits in the last year", "count"),
    Feature(
        "community_contacts_12m", "community and social care contacts in the last year", "count"
    ),
    Feature("days_since_emergency", "days since the last emergency admission", "days"),
)
FEATURE_COLUMNS: tuple[str, ...] = tuple(f.column for f in FEATURES)
FEATURE_INDEX: dict[str, Feature] = {f.column: f for f in FEATURES}


def _window(column: ibis.Value, index_date: dt.date) -> ibis.BooleanValue:
    """`column` falls in the 365 days ending on (and including) the index date."""
    start = ibis.literal(index_date - dt.timedelta(days=WINDOW_DAYS), type="date")
    return (column > start) & (column <= ibis.literal(index_date, type="date"))


def _attach(base: ibis.Table, extra: ibis.Table, columns: Mapping[str, object]) -> ibis.Table:
    """Left-join per-person `extra` onto `base`, filling each missing value with its default."""
    joined = base.left_join(extra, base.person_id == extra.person_id)
    return joined.select(
        *[base[c] for c in base.columns],
        *[extra[c].fill_null(default).name(c) for c, default in columns.items()],
    )


def activity(tables: Mapping[str, ibis.Table], index_date: dt.date) -> dict[str, ibis.Table]:
    """Per-person activity in the year up to the index date (only people with some activity).

    Columns: person_id and the `*_12m` counts of FEATURES, plus days_since_emergency (null when
    no emergency admission is on record up to the index date).
    """
    day = ibis.literal(index_date, type="date")
    spells = tables["hospital_spells"]
    spells = spells.filter(spells.admission_date <= day)
    recent = _window(spells.admission_date, index_date)
    emergency = spells.admission_method == "emergency"
    hospital = spells.group_by("person_id").aggregate(
        emergency_admissions_12m=(recent & emergency).sum().cast("int64"),
        elective_admissions_12m=(recent & (spells.admission_method == "elective"))
        .sum()
        .cast("int64"),
        bed_days_12m=ibis.ifelse(recent, spells.length_of_stay, 0).sum().cast("int64"),
        last_emergency=spells.admission_date.max(where=emergency),
    )
    hospital = hospital.select(
        "person_id",
        "emergency_admissions_12m",
        "elective_admissions_12m",
        "bed_days_12m",
        days_since_emergency=day.delta(hospital.last_emergency, unit="day").cast("int64"),
    )
    ae = tables["ae_attendances"]
    ae = ae.filter(_window(ae.arrival_date, index_date))
    ae = ae.group_by("person_id").aggregate(ae_attendances_12m=ae.count())
    op = tables["outpatient_appointments"]
    op = op.filter(_window(op.appointment_date, index_date) & op.attended)
    op = op.group_by("person_id").aggregate(outpatient_attendances_12m=op.count())
    gp = tables["gp_appointments"]
    gp = gp.filter(_window(gp.appointment_date, index_date) & gp.attended)
    gp = gp.group_by("person_id").aggregate(
        gp_appointments_12m=gp.count(),
        gp_home_visits_12m=(gp["mode"] == "home_visit").sum().cast("int64"),
    )
    cc = tables["community_contacts"]
    cc = cc.filter(_window(cc.contact_date, index_date))
    cc = cc.group_by("person_id").aggregate(community_contacts_12m=cc.count())
    return {"hospital": hospital, "ae": ae, "op": op, "gp": gp, "cc": cc}


def features(tables: Mapping[str, ibis.Table], index_date: dt.date | str) -> ibis.Table:
    """One row per person registered and alive at the end of `index_date`: person_id,
    practice_code, sex_code ("F"/"M") and every column of FEATURES (numbers; flags as 0/1).

    Uses only data dated on or before the index date (see the module docstring).
    """
    index_date = as_date(index_date)
    people = registered_population(tables["registrations"], tables["patients"], index_date)
    patients = tables["patients"].select("person_id", "care_home", "housebound")
    base = people.join(patients, "person_id").select(
        "person_id",
        "practice_code",
        sex_code=people.sex,
        age=people.age.cast("int64"),
        male=(people.sex == "M").cast("int64"),
        imd_decile=people.imd_decile.cast("int64"),
        care_home=patients.care_home.cast("int64"),
        housebound=patients.housebound.cast("int64"),
    )
    ltc = conditions.from_store(tables, index_date)
    base = _attach(
        base,
        ltc.select(
            "person_id",
            *[
                ltc[c.condition].cast("int64").name(f"ltc_{c.condition}")
                for c in LONG_TERM_CONDITIONS
            ],
            "ltc_count",
            "medicines",
        ),
        {f"ltc_{c.condition}": 0 for c in LONG_TERM_CONDITIONS} | {"ltc_count": 0, "medicines": 0},
    )
    frailty = efi.from_store(tables, index_date)
    base = _attach(
        base,
        frailty.select("person_id", efi_deficits=frailty.deficits, efi=frailty.efi),
        {"efi_deficits": 0, "efi": 0.0},
    )
    h = hfrs.from_store(dict(tables), index_date)
    base = _attach(base, h.select("person_id", hfrs=h.hfrs_score.cast("float64")), {"hfrs": 0.0})
    c = charlson.from_store(dict(tables), index_date)
    base = _attach(
        base, c.select("person_id", charlson=c.charlson_score.cast("int64")), {"charlson": 0}
    )
    m = cms.from_store(tables, index_date)
    base = _attach(base, m.select("person_id", "cms"), {"cms": 0.0})
    parts = activity(tables, index_date)
    base = _attach(
        base,
        parts["hospital"],
        {
            "emergency_admissions_12m": 0,
            "elective_admissions_12m": 0,
            "bed_days_12m": 0,
            "days_since_emergency": NO_ADMISSION_DAYS,
        },
    )
    base = _attach(base, parts["ae"], {"ae_attendances_12m": 0})
    base = _attach(base, parts["op"], {"outpatient_attendances_12m": 0})
    base = _attach(
        base,
        parts["gp"],
        {"gp_appointments_12m": 0, "gp_home_visits_12m": 0},
    )
    base = _attach(base, parts["cc"], {"community_contacts_12m": 0})
    capped = ibis.least(base.days_since_emergency, NO_ADMISSION_DAYS).cast("int64")
    base = base.mutate(
        days_since_emergency=capped,
        efi=base.efi.cast("float64"),
        hfrs=base.hfrs.cast("float64"),
        cms=base.cms.cast("float64"),
    )
    return base.select("person_id", "practice_code", "sex_code", *FEATURE_COLUMNS)


def outcome(tables: Mapping[str, ibis.Table], index_date: dt.date | str) -> ibis.Table:
    """One row per person registered and alive at the end of `index_date`: person_id,
    admitted (1 when any emergency admission falls in (index, index + 365 days], else 0),
    died (death in that window) and left (no longer registered at its end, not having died).

    Deaths: someone who dies in the window without an emergency admission counts as 0 (and
    someone admitted before dying as 1). Leavers stay in the population with the outcome as
    recorded: an admission after they left counts only if it is in the data.
    """
    index_date = as_date(index_date)
    end = index_date + dt.timedelta(days=WINDOW_DAYS)
    people = registered_population(tables["registrations"], tables["patients"], index_date)
    spells = tables["hospital_spells"]
    later = spells.filter(
        (spells.admission_method == "emergency")
        & (spells.admission_date > ibis.literal(index_date, type="date"))
        & (spells.admission_date <= ibis.literal(end, type="date"))
    )
    admitted = later.group_by("person_id").aggregate(n=later.count())
    patients = tables["patients"].select("person_id", "date_of_death")
    still = registered_population(tables["registrations"], tables["patients"], end).select(
        "person_id", still=ibis.literal(1, "int64")
    )
    joined = (
        people.select("person_id")
        .join(patients, "person_id")
        .left_join(admitted, "person_id")
        .left_join(still, "person_id")
    )
    died = joined.date_of_death.notnull() & (joined.date_of_death <= ibis.literal(end, "date"))
    return joined.select(
        "person_id",
        admitted=(joined.n.fill_null(0) > 0).cast("int64"),
        died=died.cast("int64"),
        left=(joined.still.isnull() & ~died).cast("int64"),
    )
