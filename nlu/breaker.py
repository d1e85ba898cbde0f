"""A circuit breaker: after repeated failures, stop calling a sick dependency for a while.

Closed: calls go through. After ``threshold`` consecutive failures it opens: calls fail at
once (no waiting on timeouts) for ``cooldown`` seconds. Then one trial call is let through
(half-open): success closes it, failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitOpen(Exception):
    """Raised instead of calling while the breaker is open."""


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._cooldown:
            return "half-open"
        return "open"

    def check(self) -> None:
        """Call before the protected call; raises CircuitOpen when it must not be made."""
        state = self.state
        if state == "open" or (state == "half-open" and self._trial_running):
            raise CircuitOpen("the circuit is open after repeated failures")
        if state == "half-open":
            self._trial_running = True

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def unanswered(self) -> None:
        """The call never reached the service (our own side gave up first): neither a success
        nor a failure of the service, but a half-open trial is over."""
        self._trial_running = False

    def failure(self) -> None:
        self._failures += 1
        self._trial_running = False
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()
