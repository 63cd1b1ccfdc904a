"""The national GP appointment data (GPAD) vocabulary that every slot carries.

Source: NHS England, "GP appointments data: consolidated guidance" (national slot type
categories, service settings, appointment modes and status), summarised in
../shared/reference/NEXT_DOMAINS.md section 3.4. A slot template must name its national
category, so hub appointments report to GPAD exactly (the free-text slot-type problem of GP
Connect issue #309 never arises).
"""

from __future__ import annotations

#: The 16 care-related-encounter national categories.
NATIONAL_CATEGORIES: tuple[str, ...] = (
    "General Consultation Routine",
    "General Consultation Acute",
    "Clinical Triage",
    "Planned Clinics",
    "Planned Clinical Procedure",
    "Unplanned Clinical Activity",
    "Home Visit",
    "Care Home Visit",
    "Patient contact during Care Home Round",
    "Care Home Needs Assessment & Personalised Care and Support Planning",
    "Structured Medication Review",
    "Social Prescribing Service",
    "Service provided by organisation external to the practice",
    "Non-contractual chargeable work",
    "Group Consultation and Group Education",
    "Walk-in",
)

#: The service setting of every hub slot (GPAD "Extended Access Provision").
HUB_SERVICE_SETTING = "Extended Access Provision"

#: joinedup's mode → the GPAD appointment mode it reports as.
GPAD_MODE = {
    "face_to_face": "Face to Face (Surgery)",
    "home_visit": "Face to Face (Home Visit)",
    "telephone": "Telephone/Audio",
    "video": "Video with Audio",
}
