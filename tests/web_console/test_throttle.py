"""The login throttle over a fake clock."""

from __future__ import annotations

from tests.clock import ManualClock
from web_console.throttle import LoginThrottle


def test_an_email_is_held_back_after_its_limit_until_the_window_passes() -> None:
    clock = ManualClock(1000.0)
    throttle = LoginThrottle(per_email=3, per_address=100, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("Kim@x.test", "10.0.0.1") is None
        throttle.failed("Kim@x.test", "10.0.0.1")
    assert throttle.retry_after("kim@x.test", "10.0.0.2") == 61  # case and address don't help
    assert throttle.retry_after("sam@x.test", "10.0.0.2") is None
    clock.now += 61
    assert throttle.retry_after("kim@x.test", "10.0.0.1") is None


def test_an_address_trying_many_emails_is_slowed_not_locked() -> None:
    """A spray from one address (an office NAT its agents share) slows every login from it to
    one attempt per delay; it never locks the agents behind it out for the window."""
    clock = ManualClock(1000.0)
    throttle = LoginThrottle(per_email=100, per_address=3, window=60, address_delay=3, clock=clock)
    for n in range(3):
        throttle.failed(f"user{n}@x.test", "10.0.0.9")
    assert throttle.retry_after("anyone@x.test", "10.0.0.9") == 4
    assert throttle.retry_after("anyone@x.test", "10.0.0.8") is None
    clock.now += 3
    assert throttle.retry_after("colleague@x.test", "10.0.0.9") is None  # 3 s, not 60
    throttle.failed("user4@x.test", "10.0.0.9")
    assert throttle.retry_after("colleague@x.test", "10.0.0.9") == 4


def test_a_successful_login_clears_the_emails_failures() -> None:
    throttle = LoginThrottle(per_email=2, per_address=100, window=60, clock=ManualClock(1000.0))
    throttle.failed("kim@x.test", "a")
    throttle.succeeded("KIM@x.test")
    throttle.failed("kim@x.test", "a")
    assert throttle.retry_after("kim@x.test", "a") is None


def test_a_spray_of_made_up_emails_keeps_memory_bounded() -> None:
    throttle = LoginThrottle(
        per_email=5, per_address=10**9, window=60, clock=ManualClock(0.0), max_keys=100
    )
    for n in range(1000):
        throttle.failed(f"made-up-{n}@x.test", "10.0.0.1")
    assert len(throttle._failures) <= 100
    # The address is still counted (the newest keys stay).
    assert throttle._failures.get(("address", "10.0.0.1")) is not None


def test_failures_are_forgotten_a_window_after_the_last() -> None:
    clock = ManualClock(0.0)
    throttle = LoginThrottle(per_email=2, per_address=100, window=60, clock=clock)
    throttle.failed("kim@x.test", "10.0.0.1")
    clock.now += 61
    assert throttle.retry_after("kim@x.test", "10.0.0.1") is None
    assert len(throttle._failures) == 0
