"""Small-number suppression: the one rule every aggregate passes through before it leaves.

Rule (the NHS statistical disclosure control used for HES and GP data publications — see
NHS England, "Hospital Episode Statistics Analysis Guide", *Small numbers and suppression*):

* a count of 0 is shown as 0;
* a count of 1 to 7 is suppressed (held as None, shown as "withheld");
* every other count is rounded to the nearest 5 (8 → 10, 12 → 10, 13 → 15).

Shares and rates are worked out from the counts *after* suppression, so no suppressed value
can be recovered by subtracting; a figure about a group (a cost, an average) is withheld when
the group's own count is suppressed. Applied in every aggregate page, API answer and export;
direct-care worklists (a clinician's own list of named people) are not aggregates.
"""

from __future__ import annotations

SUPPRESSED_BELOW = 8  # counts 1..7 are withheld
ROUND_TO = 5
SUPPRESSION_NOTE = (
    "Counts of 1 to 7 are withheld and other counts rounded to the nearest 5, to lower the "
    "risk that anyone is recognised from them; shares are worked out from the rounded counts."
)


def suppress_count(count: int | None) -> int | None:
    """The count to publish: 0, None (withheld: 1–7) or rounded to the nearest 5."""
    if count is None:
        return None
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")
    if count == 0:
        return 0
    if count < SUPPRESSED_BELOW:
        return None
    return (count + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def suppressed_share(part: int | None, whole: int | None) -> float | None:
    """part ÷ whole from the *published* (suppressed, rounded) counts, or None when either is
    withheld or the whole is 0."""
    shown_part, shown_whole = suppress_count(part), suppress_count(whole)
    if shown_part is None or not shown_whole:
        return None
    return shown_part / shown_whole


def withheld_unless(count: int | None, value: float | None) -> float | None:
    """A figure about a group (its cost, mean, rate) — withheld when the group's count is."""
    if value is None or count is None or 0 < count < SUPPRESSED_BELOW:
        return None
    return value
