"""The sliding-window limiter of sign-in attempts, on an injected clock."""

from __future__ import annotations

from joinedup.governance.ratelimit import SignInLimiter, SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_the_limit_in_the_window_then_refuses() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=3, window=60, clock=clock)

    for _ in range(3):
        assert limiter.allowed("a")
        limiter.record("a")
        clock.now += 1

    assert not limiter.allowed("a")
    assert limiter.allowed("b")  # each key counts alone


def test_the_window_slides_one_event_at_a_time() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=2, window=60, clock=clock)
    limiter.record("a")  # t=1000
    clock.now += 30
    limiter.record("a")  # t=1030
    assert not limiter.allowed("a")
    assert limiter.retry_after("a") == 30

    clock.now = 1_059.5
    assert not limiter.allowed("a")
    clock.now = 1_060.0  # the first event has left the window; the second still counts
    assert limiter.allowed("a")
    limiter.record("a")
    assert not limiter.allowed("a")
    assert limiter.retry_after("a") == 30


def test_retry_after_is_zero_within_the_limit() -> None:
    limiter = SlidingWindowLimiter(limit=2, window=60, clock=FakeClock())
    limiter.record("a")
    assert limiter.retry_after("a") == 0


def test_sign_in_limits_per_address_and_per_username() -> None:
    clock = FakeClock()
    limiter = SignInLimiter(clock=clock, address_limit=10, username_limit=4, window=300)

    for n in range(10):  # ten different usernames from one address
        assert limiter.retry_after("10.0.0.1", f"user{n}") == 0
        limiter.failed("10.0.0.1", f"user{n}")
    assert limiter.retry_after("10.0.0.1", "someone-new") > 0
    assert limiter.retry_after("10.0.0.2", "someone-new") == 0

    for n in range(4):  # one username from many addresses, in any case
        limiter.failed(f"10.0.1.{n}", "JSmith" if n % 2 else "jsmith")
    assert limiter.retry_after("10.0.2.1", "jsmith") > 0

    clock.now += 301
    assert limiter.retry_after("10.0.0.1", "jsmith") == 0


def test_keys_with_nothing_recent_are_forgotten_when_there_are_many(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import joinedup.governance.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "PRUNE_ABOVE_KEYS", 5)
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=1, window=10, clock=clock)
    for n in range(5):
        limiter.record(f"old{n}")
    clock.now += 11
    limiter.record("new")  # 6 keys: the five stale ones go

    assert set(limiter._events) == {"new"}
