"""One row per registered person at an index date: demographics, scores, conditions, activity, cost.

The table segmentation rules, Pareto views and stratification runs read. Engine-neutral Ibis.

Rules
-----
* **Who**: everyone registered and alive at the end of the index date
  (``population.reads.registered_population``: an open registration, the latest one if
  several, and age in whole years at the index date).
* **Neighbourhood**: the practice's parent organisation when that parent is a neighbourhood;
  null otherwise.
* **care_home, housebound**: as held on the patients table. The store holds the current flag,
  not its history, so for an index date in the past these are today's status (an
  approximation).
* **Scores** come from each score module's ``from_store`` at the index date: eFI (deficits,
  score, category; Clegg 2016), HFRS (two-year look-back; Gilbert 2018), Charlson (any time
  before the index date; Quan mapping), Cambridge Multimorbidity Score (Payne 2020), and the
  long-term-condition flags, count and polypharmacy. A person with no score row (nothing
  recorded) gets 0 deficits / fit, HFRS 0 / low, Charlson 0, CMS 0, no conditions, 0 medicines.
* **The 12-month window** is the 365 days ending on the index date:
  ``index − 365 days < date ≤ index`` (the same window the scores use for polypharmacy). For an
  index date of 31 March it is exactly the financial year ending that day.

  - ``emergency_admissions_12m`` / ``maternity_admissions_12m``: hospital spells with that
    admission method admitted in the window;
  - ``bed_days_12m``: nights in hospital (``length_of_stay``) of every spell admitted in the
    window (a spell is counted whole in the window it started in, as costs are);
  - ``ae_attendances_12m``: A&E arrivals in the window;
  - ``gp_appointments_12m``: *attended* GP appointments in the window;
  - ``palliative_care_contacts_12m``: community palliative care contacts in the window;
  - ``cost_12m``: the cost of every activity in the window, by the date that activity is
    costed on: GP appointments, medication issues, A&E attendances, hospital spells (by
    admission date), outpatient appointments and community contacts; plus social care
    packages pro rata: ``weekly_cost × (days of the package inside the window) / 7``, rounded
    to the penny per package, an open package running to the index date. Costs are summed in
    whole pence (integers), so every engine gives exactly the same total.
* ``cost_top_percent``: the share (0–100) of the registered population whose cost in the
  window is *higher* than this person's. ``cost_top_percent < 5`` means "in the top 5% by
  cost"; people with equal cost get the same value on every engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import ibis

from joinedup.analytics.scores import charlson, cms, conditions, efi, hfrs
from joinedup.analytics.scores.conditions import LONG_TERM_CONDITIONS, as_date, window_start
from joinedup.population.reads import registered_population

WINDOW_DAYS = 365

#: The population-store tables person_summary reads.
TABLES: tuple[str, ...] = (
    "patients",
    "registrations",
    "organisations",
    "clinical_events",
    "medications",
    "hospital_spells",
    "spell_diagnoses",
    "ae_attendances",
    "gp_appointments",
    "outpatient_appointments",
    "community_contacts",
    "care_packages",
)

CONDITION_COLUMNS: tuple[str, ...] = tuple(c.condition for c in LONG_TERM_CONDITIONS)

#: Every column of the person summary and its type ("string", "int", "float", "bool"), in
#: order. Segmentation rules may name any of these.
COLUMNS: dict[str, str] = {
    "person_id": "int",
    "practice_code": "string",
    "neighbourhood_code": "string",
    "age": "int",
    "sex": "string",
    "imd_decile": "int",
    "care_home": "bool",
    "housebound": "bool",
    "efi_deficits": "int",
    "efi_score": "float",
    "efi_category": "string",
    "hfrs_score": "float",
    "hfrs_category": "string",
    "charlson_score": "int",
    "cms_score": "float",
    "ltc_count": "int",
    **dict.fromkeys(CONDITION_COLUMNS, "bool"),
    "medicines_12m": "int",
    "polypharmacy": "bool",
    "polypharmacy_10": "bool",
    "emergency_admissions_12m": "int",
    "maternity_admissions_12m": "int",
    "bed_days_12m": "int",
    "ae_attendances_12m": "int",
    "gp_appointments_12m": "int",
    "palliative_care_contacts_12m": "int",
    "cost_12m": "float",
    "cost_top_percent": "float",
}

#: The allowed values of the category columns (segmentation rules are checked against them).
CATEGORY_VALUES: dict[str, tuple[str, ...]] = {
    "efi_category": ("fit", "mild", "moderate", "severe"),
    "hfrs_category": ("low", "intermediate", "high"),
    "sex": ("F", "M"),
}

_IBIS_TYPES = {"int": "int64", "float": "float64", "bool": "boolean", "string": "string"}


def _in_window(date: ibis.DateValue, index_date: dt.date) -> ibis.BooleanValue:
    start = window_start(index_date, WINDOW_DAYS)
    return (date > ibis.literal(start)) & (date <= ibis.literal(index_date))


def _pence(cost: ibis.FloatingValue) -> ibis.IntegerValue:
    return (cost * 100).round().cast("int64")


def _activity(tables: Mapping[str, ibis.Table], index_date: dt.date) -> ibis.Table:
    """person_id and the 12-month activity counts and cost (pence), for people with any."""

    def part(table: str, date: str, **counts: Callable[[ibis.Table], ibis.Value]) -> ibis.Table:
        t = tables[table]
        t = t.filter(_in_window(t[date], index_date))
        return t.select(
            person_id=t.person_id.cast("int64"),
            pence=_pence(t.cost),
            **{name: fn(t).cast("int64") for name, fn in counts.items()},
        )

    zero = ibis.literal(0, "int64")
    names = (
        "emergency",
        "maternity",
        "bed_days",
        "ae",
        "gp",
        "palliative",
    )

    def fill(t: ibis.Table) -> ibis.Table:
        return t.select(
            "person_id", "pence", *[(t[n] if n in t.columns else zero).name(n) for n in names]
        )

    spells = part(
        "hospital_spells",
        "admission_date",
        emergency=lambda t: t.admission_method == "emergency",
        maternity=lambda t: t.admission_method == "maternity",
        bed_days=lambda t: t.length_of_stay,
    )
    ae = part("ae_attendances", "arrival_date", ae=lambda t: ibis.literal(1))
    gp = part("gp_appointments", "appointment_date", gp=lambda t: t.attended)
    meds = part("medications", "issue_date")
    outpatients = part("outpatient_appointments", "appointment_date")
    community = part(
        "community_contacts",
        "contact_date",
        palliative=lambda t: t.service == "palliative_care",
    )
    parts = [fill(p) for p in (spells, ae, gp, meds, outpatients, community)]

    # Social care packages: weekly cost pro rata to the package's days inside the window
    # (first day: the day after the window start; an open package runs to the index date).
    packages = tables["care_packages"]
    first = ibis.literal(window_start(index_date, WINDOW_DAYS) + dt.timedelta(days=1))
    last_day = ibis.literal(index_date)
    overlap_start = ibis.greatest(packages.start_date, first)
    overlap_end = ibis.least(packages.end_date.fill_null(last_day), last_day)
    days = packages.mutate(_days=overlap_end.epoch_days() - overlap_start.epoch_days() + 1)
    inside = days.filter(days._days > 0)
    social = inside.select(
        person_id=inside.person_id.cast("int64"),
        pence=(_pence(inside.weekly_cost).cast("float64") * inside._days / 7).round().cast("int64"),
    )
    parts.append(fill(social))

    every = parts[0]
    for p in parts[1:]:
        every = every.union(p, distinct=False)
    return every.group_by("person_id").aggregate(
        pence=every.pence.sum().cast("int64"),
        **{n: every[n].sum().cast("int64") for n in names},
    )


def person_summary(tables: Mapping[str, ibis.Table], index_date: dt.date | str) -> ibis.Table:
    """One row per person registered at `index_date`, with the columns of `COLUMNS`.

    `tables` are population-store tables (see `TABLES`) on one Ibis backend.
    """
    index_date = as_date(index_date)
    people = registered_population(tables["registrations"], tables["patients"], index_date)
    patients = tables["patients"].select("person_id", "care_home", "housebound")
    orgs = tables["organisations"]
    neighbourhoods = orgs.filter(orgs.org_type == "neighbourhood").select(
        neighbourhood_code=orgs.org_code
    )
    practices = orgs.select(practice_code=orgs.org_code, parent=orgs.parent_code)
    practices = practices.left_join(
        neighbourhoods, practices.parent == neighbourhoods.neighbourhood_code
    ).select("practice_code", "neighbourhood_code")

    efi_t = efi.from_store(tables, index_date)
    hfrs_t = hfrs.from_store(dict(tables), index_date)
    charlson_t = charlson.from_store(dict(tables), index_date)
    cms_t = cms.from_store(tables, index_date)
    ltc_t = conditions.from_store(tables, index_date)
    activity = _activity(tables, index_date)

    t = people.select("person_id", "practice_code", "age", "sex", "imd_decile")
    t = t.left_join(practices, "practice_code").drop("practice_code_right")
    t = t.left_join(patients, "person_id").drop("person_id_right")
    t = t.left_join(
        efi_t.select(
            "person_id",
            efi_deficits=efi_t.deficits,
            efi_score=efi_t.efi,
            efi_category=efi_t.category,
        ),
        "person_id",
    ).drop("person_id_right")
    t = t.left_join(hfrs_t.select("person_id", "hfrs_score", "hfrs_category"), "person_id").drop(
        "person_id_right"
    )
    t = t.left_join(charlson_t.select("person_id", "charlson_score"), "person_id").drop(
        "person_id_right"
    )
    t = t.left_join(cms_t.select("person_id", cms_score=cms_t.cms), "person_id").drop(
        "person_id_right"
    )
    t = t.left_join(
        ltc_t.select(
            "person_id",
            *CONDITION_COLUMNS,
            "ltc_count",
            medicines_12m=ltc_t.medicines,
            polypharmacy=ltc_t.polypharmacy_5,
            polypharmacy_10=ltc_t.polypharmacy_10,
        ),
        "person_id",
    ).drop("person_id_right")
    t = t.left_join(activity, "person_id").drop("person_id_right")

    zero = ibis.literal(0, "int64")
    t = t.select(
        person_id=t.person_id.cast("int64"),
        practice_code=t.practice_code,
        neighbourhood_code=t.neighbourhood_code,
        age=t.age.cast("int64"),
        sex=t.sex,
        imd_decile=t.imd_decile.cast("int64"),
        care_home=t.care_home.fill_null(False),
        housebound=t.housebound.fill_null(False),
        efi_deficits=t.efi_deficits.fill_null(0).cast("int64"),
        efi_score=t.efi_score.fill_null(0.0).cast("float64"),
        efi_category=t.efi_category.fill_null("fit"),
        hfrs_score=t.hfrs_score.fill_null(0.0).cast("float64"),
        hfrs_category=t.hfrs_category.fill_null("low"),
        charlson_score=t.charlson_score.fill_null(0).cast("int64"),
        cms_score=t.cms_score.fill_null(0.0).cast("float64"),
        ltc_count=t.ltc_count.fill_null(0).cast("int64"),
        **{c: t[c].fill_null(False) for c in CONDITION_COLUMNS},
        medicines_12m=t.medicines_12m.fill_null(0).cast("int64"),
        polypharmacy=t.polypharmacy.fill_null(False),
        polypharmacy_10=t.polypharmacy_10.fill_null(False),
        emergency_admissions_12m=t.emergency.fill_null(zero),
        maternity_admissions_12m=t.maternity.fill_null(zero),
        bed_days_12m=t.bed_days.fill_null(zero),
        ae_attendances_12m=t.ae.fill_null(zero),
        gp_appointments_12m=t.gp.fill_null(zero),
        palliative_care_contacts_12m=t.palliative.fill_null(zero),
        pence=t.pence.fill_null(zero),
    )
    higher = ibis.rank().over(order_by=ibis.desc(t.pence))  # 0 for the highest cost
    total = t.count().over(ibis.window())
    t = t.mutate(
        cost_12m=t.pence.cast("float64") / 100.0,
        cost_top_percent=higher.cast("float64") * 100.0 / total.cast("float64"),
    )
    return t.select(*[t[name].cast(_IBIS_TYPES[kind]).name(name) for name, kind in COLUMNS.items()])
