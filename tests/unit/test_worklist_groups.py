"""The worklist's action groups: overdue (before today), this week (today and six days on),
later, no date; worked out by hand for a fixed day."""

from __future__ import annotations

import datetime as dt

import pytest

from joinedup.care.worklist import ActionDue

TODAY = dt.date(2026, 12, 4)  # a Friday


@pytest.mark.parametrize(
    ("due_on", "group"),
    [
        (dt.date(2026, 12, 3), "overdue"),
        (TODAY, "this_week"),
        (dt.date(2026, 12, 10), "this_week"),
        (dt.date(2026, 12, 11), "later"),
        (dt.date(2026, 12, 20), "later"),  # 16 days on: the missing action
        (None, "no_date"),
    ],
)
def test_groups(due_on: dt.date | None, group: str) -> None:
    action = ActionDue(1, 2, "Call", due_on, 1)
    assert action.group(TODAY) == group
    assert action.overdue(TODAY) == (group == "overdue")
