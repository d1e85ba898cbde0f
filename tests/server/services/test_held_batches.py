"""DrainPace: a drainer yields to a webhook flood, and only to one; ``woken`` stops when
cancelled."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from server.services.held_batches import DrainPace, woken


class Clock:
    """A clock only the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def paced(clock: Clock, batch: int = 10, every: float = 1.0, quiet: float = 0.1) -> DrainPace:
    return DrainPace(batch=batch, capacity=1_000, every=every, quiet=quiet, clock=clock)


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


async def test_a_flood_batch_grows_with_how_full_the_holding_area_is() -> None:
    """An eighth of a batch while the holding area is nearly empty, the part of a batch it
    is full, a whole one once it is full (the webhook then refuses more)."""
    taken = []
    for backlog in (100, 500, 1_000, 1_500):
        clock = Clock()
        pace = paced(clock, batch=80, every=0.5, quiet=0.01)
        pace.arrived()
        waiting = asyncio.create_task(pace.before_batch(itertools.repeat(backlog).__next__))
        await asyncio.sleep(0.02)
        clock.now += 0.6  # a batch is due while updates still come in
        pace.arrived()
        taken.append(await asyncio.wait_for(waiting, timeout=1))
    assert taken == [10, 40, 80, 80]


async def test_a_batch_that_kept_the_acknowledgements_waiting_is_not_a_pause() -> None:
    """No update was held while the drainer's last batch ran (it held the event loop), yet
    the backlog grew across it: the drainer waits to see a pause for itself."""
    clock = Clock()
    pace = paced(clock, every=0.5, quiet=0.01)
    pace.arrived()
    assert await pace.before_batch(lambda: 5) == 10  # not a flood yet: a whole batch
    pace.arrived()
    clock.now += 0.3  # the batch took this long, and nothing was held meanwhile
    waiting = asyncio.create_task(pace.before_batch(lambda: 50))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    clock.now += 0.001
    pace.arrived()  # the acknowledgements go on
    clock.now += 0.5  # past ``every``: a small batch, not a whole one
    pace.arrived()
    # What came since the last batch (3), more than the part (an eighth of 10, 1).
    assert await asyncio.wait_for(waiting, timeout=1) == 3


async def test_a_backlog_that_shrank_across_the_batch_is_not_a_flood() -> None:
    clock = Clock()
    pace = paced(clock, every=60.0, quiet=60.0)
    await pace.before_batch(lambda: 200)  # no arrivals yet: at once; 200 was waiting
    pace.arrived()
    # The batch read more than came in meanwhile: the drainer is keeping up.
    await asyncio.wait_for(pace.before_batch(lambda: 150), timeout=1)


async def test_after_a_flood_whole_batches_follow() -> None:
    clock = Clock()
    pace = paced(clock, every=0.5, quiet=0.01)
    pace.arrived()
    waiting = asyncio.create_task(pace.before_batch(lambda: 50))
    await asyncio.sleep(0.02)
    clock.now += 0.6  # a batch is due while updates still come in: a small one
    pace.arrived()
    assert await asyncio.wait_for(waiting, timeout=1) == 2  # what came, past an eighth of 10
    clock.now += 1.0  # the updates paused
    waiting = asyncio.create_task(pace.before_batch(lambda: 60))
    await asyncio.sleep(0.02)  # the drainer sees the pause for itself while it waits
    clock.now += 0.02
    assert await asyncio.wait_for(waiting, timeout=1) == 10  # whole batches again


async def test_a_drainer_cancelled_as_it_is_woken_stops() -> None:
    """Cancelled in the same step as its event is set, ``woken`` raises CancelledError (with
    Python 3.11's ``asyncio.wait_for`` it returned, and the drainer's ``close`` waited
    forever for a task that went on draining)."""
    event = asyncio.Event()
    waiting = asyncio.create_task(woken(event, 60))
    await asyncio.sleep(0)  # the task now waits on the event
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_steady_stream_after_a_burst_is_read_as_fast_as_it_comes() -> None:
    """The review's trap: after a burst, a stream the node can read (30 arriving while a
    batch is read) kept the drainer at a part of a batch (8) for as long as it lasted, the
    backlog growing across every part. The drainer takes what came, and once the backlog
    shrinks across a batch whole batches follow."""
    clock = Clock()
    pace = paced(clock, batch=64, every=1.0, quiet=0.1)
    backlog = 150  # the burst (the holding area takes 1,000: the part is an eighth)
    assert await pace.before_batch(lambda: backlog) == 64  # no arrivals yet: at once
    for _ in range(30):  # the stream, while that batch is read
        pace.arrived()
    backlog += 30 - 64
    clock.now += 0.1
    taken = await pace.before_batch(lambda: backlog)  # shrank across the batch: no flood
    assert taken == 64
    # A stream that outpaced a batch: the drainer waits (no pause in the stream), then takes
    # what came during the wait, up to a batch, not an eighth of one.
    backlog += 80 - 64
    for _ in range(80):
        pace.arrived()
    waiting = asyncio.create_task(pace.before_batch(lambda: backlog))
    for _ in range(20):  # past ``every`` (1 s), the stream never pausing
        await asyncio.sleep(0.01)
        clock.now += 0.06
        pace.arrived()
    assert await asyncio.wait_for(waiting, timeout=1) == 64


@pytest.mark.parametrize(("arriving", "taken"), [(100, 64), (2_000, 8)])
async def test_what_came_is_taken_only_while_it_came_no_faster_than_the_drainer_reads(
    arriving: int, taken: int
) -> None:
    """A drainer that read its last batch at 640 a second: a stream of under 100 a second is
    read as it comes (what came, up to a batch), while a flood of some 1,500 a second, which
    it could not keep up with even reading back to back, gets the part (an eighth of a batch,
    the holding area nearly empty) and leaves the event loop to the acknowledgements."""
    clock = Clock()
    pace = DrainPace(batch=64, capacity=100_000, every=1.0, quiet=0.1, clock=clock)
    backlog = 150
    assert await pace.before_batch(lambda: backlog) == 64
    clock.now += 0.1
    pace.read(64, 0.1)
    backlog -= 64
    for _ in range(arriving - 20):  # came while that batch was read
        pace.arrived()
    backlog += arriving - 20
    waiting = asyncio.create_task(pace.before_batch(lambda: backlog))
    for _ in range(20):  # past ``every`` (1 s), the arrivals never pausing
        await asyncio.sleep(0.01)
        clock.now += 0.06
        pace.arrived()
    assert await asyncio.wait_for(waiting, timeout=1) == taken


class Stream:
    """Updates held at a steady rate on a fake clock, and a drainer whose batch costs a fixed
    time plus a time an item: ``advance`` is both the drainer's reading and DrainPace's sleep,
    so the test runs no real waits."""

    def __init__(self, clock: Clock, fixed: float, per_item: float) -> None:
        self.clock = clock
        self.fixed = fixed
        self.per_item = per_item
        self.rate = 0.0
        self.backlog = 0
        self._next = clock.now
        self.pace = DrainPace(
            batch=200, capacity=100_000, every=1.0, quiet=0.1, clock=clock, sleep=self.advance
        )

    async def advance(self, seconds: float) -> None:
        end = self.clock.now + seconds
        while self.rate and self._next <= end:
            self.clock.now = self._next
            self.pace.arrived()
            self.backlog += 1
            self._next += 1 / self.rate
        self.clock.now = end
        if not self.rate:
            self._next = end

    async def drain_for(self, seconds: float, rate: float) -> None:
        """Updates arrive at ``rate`` a second for ``seconds``, the drainer reading batches."""
        self.rate = rate
        self._next = max(self._next, self.clock.now)
        end = self.clock.now + seconds
        while self.clock.now < end:
            taken = min(await self.pace.before_batch(lambda: self.backlog), self.backlog)
            if not taken:
                await self.advance(0.01)  # woken by the next update
                continue
            cost = self.fixed + self.per_item * taken
            await self.advance(cost)
            self.pace.read(taken, cost)
            self.backlog -= taken


async def test_a_stream_it_can_read_after_a_flood_is_read_though_its_parts_looked_slow() -> None:
    """After a flood that left its last batches parts, a steady stream the drainer can read
    (whole batches: 200 in 0.2 + 200 x 3.6 ms, some 217 a second, against 150 arriving) must
    not keep it at parts: a part's time an item is mostly the batch's fixed cost (25 in
    0.29 s, 86 a second), so judged by it the stream looked like a flood, the drainer kept
    taking 25 a second while 150 came, and the backlog grew for as long as the stream lasted
    (last session's review: 7,243 held instead of about a hundred)."""
    stream = Stream(Clock(), fixed=0.2, per_item=0.0036)
    await stream.drain_for(2.0, rate=2_000.0)  # the flood: far more than the drainer reads
    flooded = stream.backlog
    await stream.drain_for(120.0, rate=150.0)  # then a stream it can read
    assert flooded > 2_000
    assert stream.backlog < 400  # what comes while a batch or two is read


@pytest.mark.parametrize(("age", "taken"), [(5.0, 25), (60.0, 200)])
async def test_a_slow_pace_is_trusted_only_while_it_is_recent(age: float, taken: int) -> None:
    """A whole batch read slowly (200 in 10 s, 20 a second) makes 400 arriving since a flood
    while it is recent (the part: an eighth of 200); read a minute ago, whatever slowed it
    may be gone, so the drainer takes what came (up to a batch), which measures it again."""
    clock = Clock()
    pace = DrainPace(batch=200, capacity=100_000, every=1.0, quiet=0.1, clock=clock)
    assert await pace.before_batch(lambda: 300) == 200
    pace.read(200, 10.0)
    clock.now += age
    for _ in range(400):
        pace.arrived()
    waiting = asyncio.create_task(pace.before_batch(lambda: 500))
    for _ in range(20):  # past ``every`` (1 s), the arrivals never pausing
        await asyncio.sleep(0.01)
        clock.now += 0.06
        pace.arrived()
    assert await asyncio.wait_for(waiting, timeout=1) == taken
