"""Access decisions for MDT meetings and tracked actions.

Reading a meeting, a person's summary, the minutes or an action needs ``record.view`` (and, per
person, the legitimate relationship or an invitation to the meeting, checked after); every
change needs ``care.write`` (held by the same roles).
"""

from __future__ import annotations

from tests.access.sets import RECORD

#: Roles that may change care records (``care.write``): the same roles as RECORD.
CARE_WRITE = RECORD

ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/care-coordination/mdt"): RECORD,
    ("POST", "/care-coordination/mdt"): CARE_WRITE,
    ("GET", "/care-coordination/mdt/{meeting_id}"): RECORD,
    ("POST", "/care-coordination/mdt/{meeting_id}/agenda"): CARE_WRITE,
    ("POST", "/care-coordination/mdt/{meeting_id}/attendance"): CARE_WRITE,
    ("POST", "/care-coordination/mdt/{meeting_id}/close"): CARE_WRITE,
    ("GET", "/care-coordination/mdt/{meeting_id}/minutes"): RECORD,
    ("GET", "/care-coordination/mdt/{meeting_id}/people/{person_id}"): RECORD,
    ("POST", "/care-coordination/mdt/{meeting_id}/people/{person_id}/decisions"): CARE_WRITE,
    ("POST", "/care-coordination/mdt/{meeting_id}/people/{person_id}/discussed"): CARE_WRITE,
    ("GET", "/care-coordination/actions/{action_id}"): RECORD,
    ("POST", "/care-coordination/actions/{action_id}/complete"): CARE_WRITE,
}
