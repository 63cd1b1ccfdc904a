"""The demo's MDT agenda gives each person their own reasons, and each is true (issue 13).

`seed_demo_care` on the scored area (register, plans, a meeting held two weeks ago and the
next one in two weeks), then every reason on the upcoming meeting's agenda is checked against
the care store and the population store directly, not through the agenda's own code: the
actions carried over and overdue counted by hand, the admission or attendance found in the
Parquet table, the review date or state on the register entry or plan, the day the person was
added. The demo runs on the real clock (register rows are stamped when written), so every check
counts from the meeting's own dates, never from a fixed day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.care.mdt import get_meeting, list_meetings
from joinedup.care.mdt_records import MeetingDetail
from joinedup.care.models import CareAction, CarePlan, MdtAgendaItem, MdtDecision, RegisterEntry
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from tests.carestore_support import demo_care_store

RECENT_DAYS = 30  # the agenda's recent-activity window, as ARCHITECTURE and the module say


@dataclass(frozen=True)
class Demo:
    settings: Settings
    sessions: sessionmaker[Session]
    held: MeetingDetail
    upcoming: MeetingDetail


@pytest.fixture(scope="module")
def demo(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    settings, sessions = demo_care_store(scored_area, tmp_path_factory.mktemp("demo-agenda"))
    meetings = {m.status: m for m in list_meetings(sessions)}
    held, upcoming = (get_meeting(sessions, meetings[s].id) for s in ("held", "scheduled"))
    assert held is not None and upcoming is not None
    return Demo(settings, sessions, held, upcoming)


def _day(words: str) -> dt.date:
    return dt.datetime.strptime(words, "%d %B %Y").date()


def _open_actions(demo: Demo, person: int) -> list[CareAction]:
    with demo.sessions() as session:
        return list(
            session.scalars(
                select(CareAction).where(
                    CareAction.person_id == person, CareAction.status == "open"
                )
            )
        )


def _carried(demo: Demo, person: int, count: int, first: dt.date) -> bool:
    meeting = demo.upcoming.meeting.id
    with demo.sessions() as session:
        raised_at = dict(session.execute(select(MdtDecision.id, MdtDecision.meeting_id)).all())
    carried = [
        a
        for a in _open_actions(demo, person)
        if a.mdt_meeting_id == meeting and raised_at.get(a.mdt_decision_id) != meeting
    ]
    return len(carried) == count and min(a.due_on for a in carried) == first


def _due_before_meeting(demo: Demo, person: int, count: int, first: dt.date, late: bool) -> bool:
    day = demo.upcoming.meeting.starts_at.date()
    due = [a.due_on for a in _open_actions(demo, person) if a.due_on < day]
    today = min(dt.date.today(), day)
    return len(due) == count and min(due) == first and (first < today) == late


def _activity(
    demo: Demo, person: int, table: str, column: str, day: dt.date, same: dict[str, object]
) -> bool:
    """A row of `table` for the person on `day`, in the window, whose columns equal `same`."""
    store = PopulationStore(demo.settings.population_dir)
    extract = dt.date.fromisoformat(str(store.metadata()["extract_date"])[:10])
    end = min(demo.upcoming.meeting.starts_at.date(), extract)
    if not end - dt.timedelta(days=RECENT_DAYS) < day <= end:
        return False
    with duckdb.connect() as con:
        where = "".join(f" AND lower(CAST({name} AS VARCHAR)) = ?" for name in same)
        rows = con.execute(
            f"SELECT 1 FROM read_parquet(?) WHERE person_id = ? AND {column} = ?{where}",
            [str(store.path(table)), person, day, *(str(v).lower() for v in same.values())],
        ).fetchall()
    return bool(rows)


def _entry(demo: Demo, person: int) -> RegisterEntry:
    with demo.sessions() as session:
        entry = session.scalar(select(RegisterEntry).where(RegisterEntry.person_id == person))
        assert entry is not None
        return entry


def _plan_review(demo: Demo, person: int, day: dt.date) -> bool:
    with demo.sessions() as session:
        due = session.scalar(select(CarePlan.review_due_on).where(CarePlan.person_id == person))
    return due == day <= demo.upcoming.meeting.starts_at.date()


def _new(demo: Demo, person: int, day: dt.date) -> bool:
    added = _entry(demo, person).added_at
    added = added if added.tzinfo else added.replace(tzinfo=dt.UTC)
    with demo.sessions() as session:
        on_held = set(
            session.scalars(
                select(MdtAgendaItem.person_id).where(
                    MdtAgendaItem.meeting_id == demo.held.meeting.id
                )
            )
        )
    return (
        added.date() == day
        and demo.held.meeting.starts_at < added <= demo.upcoming.meeting.starts_at
        and person not in on_held
    )


#: (kind, pattern of the words, whether they are true of the person: (demo, person, match)).
Check = Callable[[Demo, int, re.Match[str]], bool]
REASONS: tuple[tuple[str, str, Check], ...] = (
    (
        "carried_over",
        r"(\d+) actions? carried over from an earlier meeting \(first due (.+)\)",
        lambda d, p, m: _carried(d, p, int(m[1]), _day(m[2])),
    ),
    (
        "overdue_actions",
        r"(\d+) actions? (?:is|are) overdue \(the oldest was due on (.+)\)",
        lambda d, p, m: _due_before_meeting(d, p, int(m[1]), _day(m[2]), late=True),
    ),
    (
        "overdue_actions",
        r"(\d+) open actions? (?:is|are) due before the meeting \(the first on (.+)\)",
        lambda d, p, m: _due_before_meeting(d, p, int(m[1]), _day(m[2]), late=False),
    ),
    (
        "recent_activity",
        r"(Emergency|Elective|Maternity|Other|Transfer) admission on (.+), (\d+) nights?",
        lambda d, p, m: _activity(
            d,
            p,
            "hospital_spells",
            "admission_date",
            _day(m[2]),
            {"admission_method": m[1], "length_of_stay": int(m[3])},
        ),
    ),
    (
        "recent_activity",
        r"A&E attendance on (.+) \((.+)\)",
        lambda d, p, m: _activity(
            d, p, "ae_attendances", "arrival_date", _day(m[1]), {"disposal": m[2]}
        ),
    ),
    (
        "riser",
        r"Rising need since the last stratification run: .+",
        lambda d, p, m: False,  # the scored area holds one run: there can be no riser
    ),
    (
        "review_due",
        r"Register review due on (.+)",
        lambda d, p, m: (
            _entry(d, p).review_due_on == _day(m[1]) <= d.upcoming.meeting.starts_at.date()
        ),
    ),
    (
        "review_due",
        r"Register status is review due",
        lambda d, p, m: _entry(d, p).status == "review_due",
    ),
    ("review_due", r"Care plan review due on (.+)", lambda d, p, m: _plan_review(d, p, _day(m[1]))),
    (
        "new_entrant",
        r"New on the register since the last meeting \(added (.+)\)",
        lambda d, p, m: _new(d, p, _day(m[1])),
    ),
)


def test_each_person_on_the_demo_agenda_has_their_own_true_reasons(demo: Demo) -> None:
    agenda = demo.upcoming.agenda
    assert agenda, "the demo's upcoming meeting has an agenda"
    kinds_seen: set[str] = set()
    untrue: list[str] = []
    for item in agenda:
        assert item.reasons, f"person {item.person_id} is on the agenda with no reason"
        for words in item.reasons:
            found = [(k, re.fullmatch(p, words), c) for k, p, c in REASONS]
            matched = [(k, m, c) for k, m, c in found if m]
            assert matched, f"a reason the test does not know: {words!r}"
            kind, match, check = matched[0]
            kinds_seen.add(kind)
            if not check(demo, item.person_id, match):
                untrue.append(f"person {item.person_id}: {words}")
    assert not untrue, untrue
    # Several kinds of reason, not one for everyone.
    assert {"carried_over", "overdue_actions", "recent_activity", "new_entrant"} <= kinds_seen
    assert len(kinds_seen) >= 4
    only_new = [i for i in agenda if all(r.startswith("New on the register") for r in i.reasons)]
    assert len(only_new) < len(agenda) / 2, "most people are on the agenda for more than being new"


def test_the_demo_plans_are_due_in_the_future(demo: Demo) -> None:
    """Seeded plans were written today: their reviews and actions fall due after it."""
    today = demo.held.meeting.starts_at.date() + dt.timedelta(days=14)
    with demo.sessions() as session:
        reviews = list(session.scalars(select(CarePlan.review_due_on)))
        plan_actions = list(
            session.scalars(select(CareAction.due_on).where(CareAction.care_plan_id.is_not(None)))
        )
    assert reviews and plan_actions
    assert all(r is not None and r > today for r in reviews)
    assert all(d >= today for d in plan_actions)


def test_a_demo_entry_in_review_due_has_its_review_due(demo: Demo) -> None:
    """The register never says "review due" beside a review months away: an entry the demo
    leaves in review due has its review date on or before the day it moved there."""
    with demo.sessions() as session:
        entries = list(session.scalars(select(RegisterEntry)))
    due = [e for e in entries if e.status == "review_due"]
    assert due, "the demo leaves someone in review due"
    assert all(
        e.review_due_on is not None and e.review_due_on <= e.status_changed_at.date() for e in due
    ), [(e.review_due_on, e.status_changed_at) for e in due]
    active = [e for e in entries if e.status == "active"]
    assert active and all(e.review_due_on and e.review_due_on > dt.date.today() for e in active)
