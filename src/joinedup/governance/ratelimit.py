"""A small in-process sliding-window limiter for sign-in attempts.

Failed sign-ins are counted per client address and per username; once either reaches its
limit inside the window, further attempts are refused (the form answers 429) until old
failures slide out of the window. Account lock-out (`joinedup.governance.users`) stops guessing
at one account; this stops one address from spraying many accounts, as OWASP's Authentication
Cheat Sheet ("Protect against automated attacks") recommends.

In-process on purpose: joinedup serves one process per area. Several processes behind a load
balancer each keep their own count, which still bounds the attempts to limit × processes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock

Clock = Callable[[], float]

ADDRESS_LIMIT = 10
USERNAME_LIMIT = 10
WINDOW_SECONDS = 5 * 60
# Past this many keys, keys with no recent events are dropped, so a flood of made-up usernames
# cannot grow memory without bound.
PRUNE_ABOVE_KEYS = 10_000


@dataclass
class SlidingWindowLimiter:
    """At most `limit` events per key in any `window` seconds (by `clock`, in seconds)."""

    limit: int
    window: float
    clock: Clock = time.monotonic
    _events: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: Lock = field(default_factory=Lock, repr=False)

    def allowed(self, key: str) -> bool:
        """Whether another event for `key` is within the limit (records nothing)."""
        with self._lock:
            return len(self._recent(key, self.clock())) < self.limit

    def record(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent(key, now).append(now)
            if len(self._events) > PRUNE_ABOVE_KEYS:
                self._prune(now)

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` is within its limit again (0 if it is now)."""
        with self._lock:
            now = self.clock()
            recent = self._recent(key, now)
            if len(recent) < self.limit:
                return 0
            oldest_that_counts = recent[len(recent) - self.limit]
            return max(1, int(oldest_that_counts + self.window - now + 0.999))

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def _prune(self, now: float) -> None:
        for key in [
            k for k, events in self._events.items() if not events or events[-1] <= now - self.window
        ]:
            del self._events[key]


@dataclass
class SignInLimiter:
    """Failed sign-ins per client address and per username (case-insensitive)."""

    clock: Clock = time.monotonic
    address_limit: int = ADDRESS_LIMIT
    username_limit: int = USERNAME_LIMIT
    window: float = WINDOW_SECONDS

    def __post_init__(self) -> None:
        self.by_address = SlidingWindowLimiter(self.address_limit, self.window, self.clock)
        self.by_username = SlidingWindowLimiter(self.username_limit, self.window, self.clock)

    def retry_after(self, address: str, username: str) -> int:
        """0 if this attempt may go ahead, else the seconds to wait."""
        return max(
            self.by_address.retry_after(address),
            self.by_username.retry_after(_username_key(username)),
        )

    def failed(self, address: str, username: str) -> None:
        self.by_address.record(address)
        self.by_username.record(_username_key(username))


def _username_key(username: str) -> str:
    return username.strip().casefold()
