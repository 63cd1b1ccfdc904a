"""Overdue means due before today (issue 13: an agenda built on 4 December called an action due
on 10 December overdue, because the meeting was later)."""

from __future__ import annotations

import datetime as dt

from joinedup.care.mdt_agenda import _overdue_words


def test_an_action_due_after_today_but_before_the_meeting_is_not_overdue() -> None:
    today = dt.date(2026, 12, 4)
    words = _overdue_words(1, dt.date(2026, 12, 10), today)
    assert words == "1 open action is due before the meeting (the first on 10 December 2026)"
    assert "overdue" not in words
    assert _overdue_words(2, dt.date(2026, 12, 3), today) == (
        "2 actions are overdue (the oldest was due on 3 December 2026)"
    )
