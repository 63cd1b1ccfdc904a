"""Who should a neighbourhood's MDT meeting discuss, and why: the agenda built from the register.

A person is put on the agenda of a meeting of neighbourhood N when they are on the
coordinated care register in N (in a state that is still being cared for: identified to review
due) and at least one of these holds, each giving a reason in plain words:

* **carried over** — an action raised at an earlier meeting is still open and was carried to
  this one;
* **overdue actions** — an open action for them was due before the meeting day;
* **recent hospital activity** — an admission or A&E attendance in the `RECENT_DAYS` days
  before the meeting. The window ends on the meeting day or, when the population store's
  extract is older than that, on the extract date: no data exist after it, and an MDT wants to
  hear about the latest activity the data hold;
* **rising need** — a riser between the last two stratification runs
  (`joinedup.analytics.stratify.compare_runs`, with its reason);
* **review due** — their register review date (or their care plan's review date) falls on or
  before the meeting day, or their register status is "review due";
* **new on the register** — added since the neighbourhood's last held meeting (or, before its
  first meeting, in the `FIRST_MEETING_DAYS` days before this one), and on no earlier
  meeting's agenda (a person the team has discussed is not new to it).

The reads are shaped for a large area: register rows by neighbourhood (indexed), care plans and
actions joined to them in the database, and the hospital tables read from Parquet with a
person_id filter (row groups whose person_id range misses are skipped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.analytics.stratify import compare_runs, list_runs
from joinedup.care.models import (
    CareAction,
    CarePlan,
    MdtAgendaItem,
    MdtDecision,
    MdtMeeting,
    RegisterEntry,
)
from joinedup.errors import UserError
from joinedup.population.reads import extract_date
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings

RECENT_DAYS = 30
FIRST_MEETING_DAYS = 28
#: Register states of people still being cared for (the others have left the register).
CARED_FOR_STATES = ("identified", "invited", "consented", "active", "review_due")

#: Kinds of reason, most pressing first: the agenda is ordered by them.
REASON_KINDS = (
    "carried_over",
    "overdue_actions",
    "recent_activity",
    "riser",
    "review_due",
    "new_entrant",
)


#: Records one reason for one person: (person_id, kind, words).
Note = Callable[[int, str, str], None]


@dataclass
class Candidate:
    """One person the agenda should hold, with every reason found (kind, words)."""

    person_id: int
    reasons: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, words: str) -> None:
        self.reasons.append((kind, words))

    @property
    def priority(self) -> tuple[int, int, int]:
        most_pressing = min(REASON_KINDS.index(k) for k, _ in self.reasons)
        return (most_pressing, -len(self.reasons), self.person_id)

    def texts(self) -> list[str]:
        ordered = sorted(self.reasons, key=lambda r: REASON_KINDS.index(r[0]))
        return [words for _, words in ordered]


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def activity_window_end(settings: Settings | None, meeting_day: dt.date) -> dt.date:
    """The last day of the recent-activity window: the meeting day, or the extract date if the
    population store's data end before it."""
    if settings is None:
        return meeting_day
    store = PopulationStore(settings.population_dir)
    if not store.exists():
        return meeting_day
    return min(meeting_day, extract_date(store))


def agenda_candidates(
    sessions: sessionmaker[Session], settings: Settings | None, meeting: MdtMeeting
) -> list[Candidate]:
    """Everyone the meeting should discuss, most pressing first."""
    meeting_day = meeting.starts_at.date()
    found: dict[int, Candidate] = {}

    def note(person_id: int, kind: str, words: str) -> None:
        found.setdefault(person_id, Candidate(person_id)).add(kind, words)

    with sessions() as session:
        entries = _register(session, meeting.neighbourhood_code)
        people = {e.person_id for e in entries}
        for person_id, count, first in _carried_actions(session, meeting.id):
            if person_id in people:
                note(person_id, "carried_over", _carried_words(count, first))
        # Overdue means due before today: an action due after today but before a future meeting
        # is "due before the meeting", not overdue (issue 13).
        today = min(dt.date.today(), meeting_day)
        for person_id, count, oldest in _overdue(session, meeting.neighbourhood_code, meeting_day):
            note(person_id, "overdue_actions", _overdue_words(count, oldest, today))
        previous = _previous_meeting_start(session, meeting)
        discussed = _on_earlier_agendas(session, meeting)
        for entry in entries:
            _register_reasons(entry, note, meeting, previous, discussed)
        for person_id, due in _plan_reviews_due(session, meeting.neighbourhood_code, meeting_day):
            note(person_id, "review_due", f"Care plan review due on {_day(due)}")
    if settings is not None and people:
        end = activity_window_end(settings, meeting_day)
        for person_id, words in recent_activity(settings, people, end, RECENT_DAYS):
            note(person_id, "recent_activity", words)
        for person_id, words in _risers(settings, people):
            note(person_id, "riser", f"Rising need since the last stratification run: {words}")
    return sorted(found.values(), key=lambda c: c.priority)


def _register(session: Session, neighbourhood_code: str) -> Sequence[RegisterEntry]:
    return session.scalars(
        select(RegisterEntry).where(
            RegisterEntry.neighbourhood_code == neighbourhood_code,
            RegisterEntry.status.in_(CARED_FOR_STATES),
        )
    ).all()


def _register_reasons(
    entry: RegisterEntry,
    note: Note,
    meeting: MdtMeeting,
    previous: dt.datetime | None,
    discussed: set[int],
) -> None:
    meeting_day = meeting.starts_at.date()
    since = previous or meeting.starts_at - dt.timedelta(days=FIRST_MEETING_DAYS)
    added = _aware(entry.added_at)
    # Someone an earlier meeting already had on its agenda is no longer new to the team.
    if _aware(since) < added <= _aware(meeting.starts_at) and entry.person_id not in discussed:
        words = "since the last meeting" if previous else "in the four weeks before this meeting"
        note(entry.person_id, "new_entrant", f"New on the register {words} (added {_day(added)})")
    if entry.review_due_on is not None and entry.review_due_on <= meeting_day:
        note(entry.person_id, "review_due", f"Register review due on {_day(entry.review_due_on)}")
    elif entry.status == "review_due":
        note(entry.person_id, "review_due", "Register status is review due")


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _on_earlier_agendas(session: Session, meeting: MdtMeeting) -> set[int]:
    """The people on the agenda of one of the neighbourhood's earlier meetings."""
    return set(
        session.scalars(
            select(MdtAgendaItem.person_id)
            .join(MdtMeeting, MdtMeeting.id == MdtAgendaItem.meeting_id)
            .where(
                MdtMeeting.neighbourhood_code == meeting.neighbourhood_code,
                MdtMeeting.starts_at < meeting.starts_at,
                MdtMeeting.id != meeting.id,
            )
        )
    )


def _previous_meeting_start(session: Session, meeting: MdtMeeting) -> dt.datetime | None:
    """When the neighbourhood's last held meeting before this one started."""
    return session.scalar(
        select(func.max(MdtMeeting.starts_at)).where(
            MdtMeeting.neighbourhood_code == meeting.neighbourhood_code,
            MdtMeeting.status == "held",
            MdtMeeting.starts_at < meeting.starts_at,
            MdtMeeting.id != meeting.id,
        )
    )


def _carried_actions(session: Session, meeting_id: int) -> list[tuple[int, int, dt.date]]:
    """(person, open actions carried to this meeting from an earlier one, earliest due)."""
    rows = session.execute(
        select(CareAction.person_id, func.count(), func.min(CareAction.due_on))
        .join(MdtDecision, MdtDecision.id == CareAction.mdt_decision_id, isouter=True)
        .where(
            CareAction.mdt_meeting_id == meeting_id,
            CareAction.status == "open",
            (MdtDecision.meeting_id.is_(None)) | (MdtDecision.meeting_id != meeting_id),
        )
        .group_by(CareAction.person_id)
    ).all()
    return [(int(p), int(n), d) for p, n, d in rows]


def _carried_words(count: int, first_due: dt.date) -> str:
    what = "action" if count == 1 else "actions"
    return f"{count} {what} carried over from an earlier meeting (first due {_day(first_due)})"


def _overdue(
    session: Session, neighbourhood_code: str, meeting_day: dt.date
) -> list[tuple[int, int, dt.date]]:
    rows = session.execute(
        select(CareAction.person_id, func.count(), func.min(CareAction.due_on))
        .join(RegisterEntry, RegisterEntry.person_id == CareAction.person_id)
        .where(
            RegisterEntry.neighbourhood_code == neighbourhood_code,
            RegisterEntry.status.in_(CARED_FOR_STATES),
            CareAction.status == "open",
            CareAction.due_on < meeting_day,
        )
        .group_by(CareAction.person_id)
    ).all()
    return [(int(p), int(n), d) for p, n, d in rows]


def _overdue_words(count: int, oldest: dt.date, today: dt.date) -> str:
    what = "action is" if count == 1 else "actions are"
    if oldest >= today:
        return f"{count} open {what} due before the meeting (the first on {_day(oldest)})"
    return f"{count} {what} overdue (the oldest was due on {_day(oldest)})"


def _plan_reviews_due(
    session: Session, neighbourhood_code: str, meeting_day: dt.date
) -> list[tuple[int, dt.date]]:
    rows = session.execute(
        select(CarePlan.person_id, CarePlan.review_due_on)
        .join(RegisterEntry, RegisterEntry.person_id == CarePlan.person_id)
        .where(
            RegisterEntry.neighbourhood_code == neighbourhood_code,
            RegisterEntry.status.in_(CARED_FOR_STATES),
            CarePlan.review_due_on.is_not(None),
            CarePlan.review_due_on <= meeting_day,
        )
    ).all()
    return [(int(p), d) for p, d in rows if d is not None]


def recent_activity(
    settings: Settings, person_ids: Iterable[int], end: dt.date, days: int
) -> list[tuple[int, str]]:
    """(person, words) for each admission and A&E attendance in the `days` days to `end`."""
    store = PopulationStore(settings.population_dir)
    ids = sorted(set(person_ids))
    if not ids or not store.exists():
        return []
    start = end - dt.timedelta(days=days)
    found: list[tuple[dt.date, int, str]] = []
    spells = _read_window(
        store,
        "hospital_spells",
        "admission_date",
        ids,
        start,
        end,
        ["admission_method", "length_of_stay"],
    )
    for row in spells:
        method = row["admission_method"]
        kind = "Emergency admission" if method == "emergency" else f"{method.title()} admission"
        nights = row["length_of_stay"]
        stay = f", {nights} night{'s' if nights != 1 else ''}"
        found.append(
            (
                row["admission_date"],
                row["person_id"],
                f"{kind} on {_day(row['admission_date'])}{stay}",
            )
        )
    for row in _read_window(store, "ae_attendances", "arrival_date", ids, start, end, ["disposal"]):
        found.append(
            (
                row["arrival_date"],
                row["person_id"],
                f"A&E attendance on {_day(row['arrival_date'])} ({row['disposal']})",
            )
        )
    return [(person, words) for _, person, words in sorted(found)]


def _read_window(
    store: PopulationStore,
    table: str,
    date_column: str,
    ids: list[int],
    start: dt.date,
    end: dt.date,
    extra: list[str],
) -> list[dict[str, Any]]:
    """Rows of `table` for `ids` dated in (start, end], read with Parquet filters."""
    path = store.path(table)
    if not path.is_file():
        return []
    data = pq.read_table(
        path,
        columns=["person_id", date_column, *extra],
        filters=[
            ("person_id", "in", ids),
            (date_column, ">", start),
            (date_column, "<=", end),
        ],
    )
    data = data.sort_by([(date_column, "ascending"), ("person_id", "ascending")])
    return data.to_pylist()


def _risers(settings: Settings, people: set[int]) -> list[tuple[int, str]]:
    """(person, reason) for the register's people who rose between the last two runs."""
    runs = list_runs(settings)
    if len(runs) < 2:
        return []
    try:
        risers = compare_runs(settings, runs[-2].run_id, runs[-1].run_id)
    except UserError:  # runs that cannot be compared (different schemes): no risers to add
        return []
    mask = pc.is_in(risers.column("person_id"), value_set=_int_array(people))
    kept = risers.filter(mask).select(["person_id", "reason"]).to_pylist()
    return [(int(r["person_id"]), str(r["reason"])) for r in kept]


def _int_array(values: Iterable[int]) -> pa.Array:
    return pa.array(sorted(values), type=pa.int64())
