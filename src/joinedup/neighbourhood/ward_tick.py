"""The virtual ward's clock: raise missed readings and escalate overdue alerts, periodically
(issue 15; ADR 0026).

`tick(sessions, now)` runs `ward.check_missed` then `alert_queue.escalate_overdue`. It is run by
``joinedup ward tick`` (for cron) and, while ``joinedup serve`` runs, by a `WardTicker` thread
every ``JOINEDUP_WARD_TICK_SECONDS`` seconds (default 60; 0 switches it off).

**Safe when several run at once** (two servers, or cron and a server): both steps are
idempotent. A missed reading is identified by (admission, rule, the moment it fell due), a
unique key of the alert table, so the same miss is never raised twice; if two ticks raise it at
the same instant, the second's insert is refused by the key, its transaction rolls back whole
and it runs again, finding the miss already raised. Escalation moves an alert by a conditional
``UPDATE … WHERE version = ?``: of two ticks, one moves it and the other changes nothing.

The audit trail names the tick as ``scheduler:ward-tick``. A failure is logged by its kind only
(a database message can quote an alert's reason, which holds readings) and the next tick tries
again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import UserError
from joinedup.governance.roles import Principal
from joinedup.neighbourhood import alert_queue, alerts, ward
from joinedup.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 60
SCHEDULER = Principal(0, "scheduler:ward-tick", "Virtual-ward scheduler", "scheduler")
#: How many times a tick retries the missed-reading check refused by a concurrent tick's insert.
RETRIES = 3


class TickSettingError(UserError, ValueError):
    """``JOINEDUP_WARD_TICK_SECONDS`` is not a whole number of seconds (0 = off)."""


@dataclass(frozen=True)
class TickResult:
    missed_raised: int
    escalated: int


def tick(
    sessions: sessionmaker[Session], now: dt.datetime, *, rules: alerts.RuleSet | None = None
) -> TickResult:
    """Raise every missed reading due by `now` and escalate every alert overdue at `now`."""
    rules = rules or alerts.load_rules()
    for attempt in range(RETRIES):
        try:
            missed = ward.check_missed(sessions, SCHEDULER, now, rules=rules)
            break
        except IntegrityError:
            # Another tick raised the same miss at the same moment; ours rolled back whole.
            if attempt == RETRIES - 1:
                raise
    escalated = alert_queue.escalate_overdue(sessions, SCHEDULER, now, rules=rules)
    return TickResult(missed, escalated)


def interval_seconds(settings: Settings) -> int:
    """The serving tick's interval: the setting, else `DEFAULT_SECONDS`; 0 means off."""
    text = settings.ward_tick_seconds
    if text is None:
        return DEFAULT_SECONDS
    try:
        seconds = int(text)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= 24 * 3600:
        raise TickSettingError(
            f"JOINEDUP_WARD_TICK_SECONDS is a whole number of seconds from 0 (off) to 86400, "
            f"not {text!r}"
        )
    return seconds


class WardTicker(threading.Thread):
    """A daemon thread that ticks every `seconds` until `stop()`; a failed tick is logged (by
    its kind) and the next one tries again."""

    def __init__(self, sessions: sessionmaker[Session], seconds: float) -> None:
        super().__init__(name="ward-tick", daemon=True)
        self.sessions = sessions
        self.seconds = seconds
        self.ticks = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.seconds):
            self.tick_once()

    def tick_once(self) -> TickResult | None:
        try:
            result = tick(self.sessions, dt.datetime.now(dt.UTC))
        except Exception as exc:  # a bad tick must not end the thread; say what kind
            log.warning("virtual-ward tick failed (%s); trying again next time", type(exc).__name__)
            return None
        self.ticks += 1
        return result

    def stop(self) -> None:
        self._stopped.set()
