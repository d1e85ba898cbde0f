from __future__ import annotations

import pytest

from nlu.breaker import CircuitBreaker, CircuitOpen
from tests.clock import ManualClock


def test_opens_after_repeated_failures_then_tries_once_after_the_cooldown() -> None:
    clock = ManualClock(0.0)
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=clock)
    for _ in range(2):
        breaker.check()
        breaker.failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.check()
    clock.now = 10
    assert breaker.state == "half-open"
    breaker.check()  # the one trial
    with pytest.raises(CircuitOpen):
        breaker.check()  # nobody else while it runs
    breaker.failure()
    assert breaker.state == "open"
    clock.now = 20
    breaker.check()
    breaker.success()
    assert breaker.state == "closed"
