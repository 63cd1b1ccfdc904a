"""Reference unit costs of NHS and council activity: one definition, used by the synthetic
generator to cost what it makes and by ingest to cost what a source gives no cost for.

Sources (the figures are rounded to the order of magnitude of these publications; they are
*reference* costs for planning and Pareto analysis, not prices):

* Primary care, community health and social care contacts: Jones K, Weatherly H, Birch S et al.
  *Unit Costs of Health and Social Care 2023*, PSSRU, University of Kent (doi:10.22024/UniKent/
  01.02.105685): cost per surgery / telephone / home consultation by staff group (GP, practice
  nurse, pharmacist, health care assistant, paramedic), cost per hour of community nursing,
  therapy, mental health and social work contacts.
* Hospital activity: NHS England *National Cost Collection for the NHS 2021/22* (National
  schedule of NHS costs): mean cost per non-elective short-stay and long-stay spell, elective
  and day-case spell, excess bed day, outpatient first and follow-up attendance, A&E attendance
  by type and disposal, regular day attender (chemotherapy).

All costs are in whole pence so sums reconcile exactly (the generator's ledger adds pence);
`reference_cost` gives pounds for a contract row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# --- general practice: staff group × mode (PSSRU 2023, section 10) ---------------------------
GP_ROLES = ("gp", "nurse", "pharmacist", "healthcare_assistant", "paramedic", "other")
GP_MODES = ("face_to_face", "telephone", "video", "home_visit")
GP_APPOINTMENT_PENCE = np.array(
    [  # face to face, telephone, video, home visit
        [4_900, 3_300, 3_500, 12_000],  # GP
        [1_600, 1_100, 1_200, 5_000],  # practice nurse
        [2_200, 1_700, 1_700, 5_500],  # clinical pharmacist
        [1_000, 800, 800, 3_300],  # health care assistant
        [3_300, 2_200, 2_200, 6_500],  # paramedic
        [2_800, 2_000, 2_000, 6_000],  # other direct patient care staff
    ]
)

# --- outpatients (National Cost Collection 2021/22, consultant-led attendances) ------------
OUTPATIENT_FIRST_PENCE, OUTPATIENT_FOLLOW_UP_PENCE = 19_000, 11_000

# --- A&E attendances by disposal (National Cost Collection 2021/22, type 1 departments) ----
AE_DISPOSALS = ("admitted", "discharged", "referred", "left")
AE_ATTENDANCE_PENCE = np.array([26_000, 17_000, 20_000, 9_000])  # in AE_DISPOSALS order
AE_DIED_PENCE = 26_000  # resuscitated and died: costed as the most intensive (admitted)

# --- admitted patient care (National Cost Collection 2021/22) -------------------------------
TRIM_POINT_DAYS = 5  # excess bed days are paid beyond a trim point; one for all HRGs here
EXCESS_BED_DAY_PENCE = 33_000
EMERGENCY_SHORT_STAY_PENCE, EMERGENCY_SPELL_PENCE = 80_000, 190_000  # 0–1 day; longer
EMERGENCY_AGED_75_UPLIFT_PENCE = 30_000  # older people's spells cost more (complexity)
ELECTIVE_DAY_CASE_PENCE, ELECTIVE_SPELL_PENCE = 90_000, 320_000
MATERNITY_SPELL_PENCE, MATERNITY_EXCESS_BED_DAY_PENCE = 290_000, 30_000
CHEMOTHERAPY_ATTENDANCE_PENCE = 42_000  # regular day attender

# --- community health and social care contacts: pence per minute (PSSRU 2023) --------------
COMMUNITY_SERVICES = (
    "district_nursing",
    "community_therapy",
    "community_mental_health",
    "social_care",
    "intermediate_care",
    "palliative_care",
)
COMMUNITY_PENCE_PER_MINUTE = np.array([95, 105, 135, 85, 100, 130])  # in COMMUNITY_SERVICES order
COMMUNITY_TYPICAL_MINUTES = np.array([30, 45, 50, 60, 40, 60])  # a contact of unknown length

# Contract tables with a cost column that a reference unit cost can price from the row alone.
COSTED_TABLES = (
    "gp_appointments",
    "outpatient_appointments",
    "ae_attendances",
    "hospital_spells",
    "community_contacts",
)


def spell_pence(
    method: np.ndarray, los: np.ndarray, aged_75_plus: np.ndarray, chemotherapy: np.ndarray
) -> np.ndarray:
    """Reference cost in pence of admitted spells: a spell price by admission method and length
    of stay, plus excess bed days beyond the trim point. `method` holds "emergency",
    "elective" or anything else (maternity, other: the maternity price)."""
    los = np.asarray(los)
    excess = np.maximum(los - TRIM_POINT_DAYS, 0)
    emergency = (
        np.where(los <= 1, EMERGENCY_SHORT_STAY_PENCE, EMERGENCY_SPELL_PENCE)
        + excess * EXCESS_BED_DAY_PENCE
        + np.where(aged_75_plus, EMERGENCY_AGED_75_UPLIFT_PENCE, 0)
    )
    elective = np.where(
        los == 0, ELECTIVE_DAY_CASE_PENCE, ELECTIVE_SPELL_PENCE + excess * EXCESS_BED_DAY_PENCE
    )
    other = MATERNITY_SPELL_PENCE + excess * MATERNITY_EXCESS_BED_DAY_PENCE
    method = np.asarray(method)
    pence = np.select([method == "emergency", method == "elective"], [emergency, elective], other)
    return np.where(chemotherapy, CHEMOTHERAPY_ATTENDANCE_PENCE, pence).astype(np.int64)


def reference_cost(table: str, values: Mapping[str, Any]) -> float | None:
    """The reference unit cost in pounds of one contract row the source gave no cost for; None
    for a table with no reference cost (medicines are priced per product, not per row)."""
    pence = _reference_pence(table, values)
    return None if pence is None else pence / 100.0


def _reference_pence(table: str, values: Mapping[str, Any]) -> int | None:
    if table == "gp_appointments":
        if values.get("attended") is False:
            return 0  # a missed appointment is not costed
        role = _index(GP_ROLES, values.get("clinician_role"), default="other")
        mode = _index(GP_MODES, values.get("mode"), default="face_to_face")
        return int(GP_APPOINTMENT_PENCE[role, mode])
    if table == "outpatient_appointments":
        if values.get("attended") is False:
            return 0
        first = values.get("first_attendance") is not False
        return OUTPATIENT_FIRST_PENCE if first else OUTPATIENT_FOLLOW_UP_PENCE
    if table == "ae_attendances":
        disposal = values.get("disposal")
        if disposal == "died":
            return AE_DIED_PENCE
        return int(AE_ATTENDANCE_PENCE[_index(AE_DISPOSALS, disposal, default="discharged")])
    if table == "hospital_spells":
        los = values.get("length_of_stay")
        method = np.array([values.get("admission_method") or "other"])
        days = np.array([int(los) if isinstance(los, int | float) and los >= 0 else 0])
        return int(spell_pence(method, days, np.array([False]), np.array([False]))[0])
    if table == "community_contacts":
        service = _index(COMMUNITY_SERVICES, values.get("service"), default="district_nursing")
        minutes = values.get("duration_minutes")
        if not isinstance(minutes, int | float) or minutes <= 0:
            minutes = int(COMMUNITY_TYPICAL_MINUTES[service])
        return int(minutes * COMMUNITY_PENCE_PER_MINUTE[service])
    return None


def _index(names: tuple[str, ...], value: Any, *, default: str) -> int:
    return names.index(value) if value in names else names.index(default)
