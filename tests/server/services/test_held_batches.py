"""DrainPace: a drainer yields to a webhook flood, and only to one."""

from __future__ import annotations

import asyncio

from server.services.held_batches import DrainPace


class Clock:
    """A clock the test moves; each of the pace's sleeps moves it too (a sleep is time)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def paced(clock: Clock, **limits: float) -> DrainPace:
    return DrainPace(batch=10, high_water=1_000, clock=clock, **limits)


async def test_without_arrivals_the_drainer_never_waits() -> None:
    clock = Clock()
    pace = paced(clock)
    # A node started with a big backlog held before it: nothing is arriving, read at once.
    await asyncio.wait_for(pace.before_batch(lambda: 500), timeout=1)


async def test_a_trickle_below_a_batch_is_read_at_once() -> None:
    clock = Clock()
    pace = paced(clock)
    pace.arrived()
    # Fewer than a batch waiting: the drainer keeps up, so there is no flood to yield to.
    await asyncio.wait_for(pace.before_batch(lambda: 9), timeout=1)


async def test_a_flood_waits_until_the_updates_pause() -> None:
    clock = Clock()
    pace = paced(clock, every=60.0, quiet=0.01)
    backlog = 50
    pace.arrived()
    waiting = asyncio.create_task(pace.before_batch(lambda: backlog))
    for _ in range(5):  # still arriving: the drainer keeps waiting
        await asyncio.sleep(0.01)
        clock.now += 0.001
        pace.arrived()
        backlog += 1
        assert not waiting.done()
    clock.now += 1.0  # the updates paused
    await asyncio.wait_for(waiting, timeout=1)


async def test_a_flood_still_gets_a_batch_every_so_often() -> None:
    clock = Clock()
    pace = paced(clock, every=0.5, quiet=0.01)
    pace.arrived()
    waiting = asyncio.create_task(pace.before_batch(lambda: 50))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    clock.now += 0.6  # past ``every``: a batch is due even though updates keep coming
    pace.arrived()
    await asyncio.wait_for(waiting, timeout=1)


async def test_past_the_high_water_mark_the_drainer_reads_at_full_speed() -> None:
    clock = Clock()
    pace = paced(clock, every=60.0, quiet=60.0)
    pace.arrived()
    await asyncio.wait_for(pace.before_batch(lambda: 1_000), timeout=1)


async def test_a_backlog_that_shrank_across_the_batch_is_not_a_flood() -> None:
    clock = Clock()
    pace = paced(clock, every=60.0, quiet=60.0)
    await pace.before_batch(lambda: 200)  # no arrivals yet: at once; 200 was waiting
    pace.arrived()
    # The batch read more than came in meanwhile: the drainer is keeping up.
    await asyncio.wait_for(pace.before_batch(lambda: 150), timeout=1)


async def test_during_a_flood_a_quarter_batch_is_taken_and_after_it_a_whole_one() -> None:
    clock = Clock()
    pace = paced(clock, every=0.5, quiet=0.01)
    pace.arrived()
    waiting = asyncio.create_task(pace.before_batch(lambda: 50))
    await asyncio.sleep(0.02)
    clock.now += 0.6  # a batch is due while updates still come in: a small one
    pace.arrived()
    assert await asyncio.wait_for(waiting, timeout=1) == 2  # a quarter of 10
    clock.now += 1.0  # the updates paused: the backlog is read in whole batches
    assert await asyncio.wait_for(pace.before_batch(lambda: 60), timeout=1) == 10
