"""The reconnect loop's waits grow, are jittered, stay under a minute, and start again after
a healthy run."""

from __future__ import annotations

import random

from server.delivery import reconnect
from server.delivery.reconnect import BACKOFF_MAX, BACKOFF_START, jittered, keep_trying


async def test_waits_grow_with_jitter_and_reset_after_a_healthy_run() -> None:
    now = 0.0
    waits: list[float] = []
    # Each attempt: how long it runs before failing (None: it succeeds).
    script: list[float | None] = [0, 0, 0, 0, 0, 0, 0, 0, 3600, 0, None]

    async def attempt() -> None:
        nonlocal now
        runs = script.pop(0)
        if runs is None:
            return
        now += runs
        raise ConnectionError("unreachable")

    async def sleep(seconds: float) -> None:
        nonlocal now
        waits.append(seconds)
        now += seconds

    failures: list[str] = []
    await keep_trying("test", attempt, failures.append, clock=lambda: now, sleep=sleep)

    assert len(failures) == 10
    assert failures[0] == "ConnectionError: unreachable"
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 1, 2]  # doubling, capped, reset after 3600 s of work
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_jitter_spreads_nodes_that_failed_together() -> None:
    rng = random.Random(7)
    waits = {round(jittered(BACKOFF_MAX, rng), 3) for _ in range(20)}
    assert len(waits) > 1
    assert all(BACKOFF_MAX / 2 <= w <= BACKOFF_MAX for w in waits)
    assert reconnect.next_backoff(BACKOFF_START) == 2 * BACKOFF_START
