"""Reading held webhook updates (Telegram's and Slack's drainers) a batch at a time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


async def all_or_first_error(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` side by side to the end, then raise the first failure (logged with its
    traceback): a TaskGroup would cancel the others mid-statement, and a batch is read again
    whole anyway (what was stored is not stored twice). A part that ended cancelled (by
    something other than this task's own cancellation, which gather raises) is raised as an
    Exception, so the drainer's keep_trying reads the batch again instead of dying with it."""
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("reading held webhook updates failed", exc_info=result)
            if isinstance(result, Exception):
                raise result
            raise RuntimeError(f"reading a held update ended with {result!r}") from result


# How often a drainer looks again without being woken: a batch another node's transaction
# held when this one looked (a node killed mid-batch keeps its rows locked until Postgres
# notices the dead connection) would otherwise wait for the next update to arrive.
LOOK_AGAIN = 5.0


async def woken(event: asyncio.Event, every: float = LOOK_AGAIN) -> None:
    """Return when ``event`` is set, or after ``every`` seconds (and clear it). A timeout
    scope, not ``asyncio.wait_for``: in Python 3.11 that one returns instead of raising when
    it is cancelled as the event is set, so a drainer's owner waited forever in ``close``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(every):
            await event.wait()
    event.clear()


class DrainPace:
    """When a drainer takes its next batch, and how much of one: a whole one at once,
    unless updates are flooding in.

    A webhook's answer waits only for the update to be held (one shared commit); reading it
    as a message (storing, routing, the bot, the reply) costs ten times more and competes for
    the same two cores. While the webhook outpaces the drainer (more than a batch is waiting
    and the backlog grew across the last batch), answering first is what keeps Telegram and
    Slack from timing out and retrying (Slack retries past 3 s): the drainer then waits for
    the updates to pause for ``quiet`` seconds, or ``every`` seconds at the latest, and takes
    a part of a batch that grows with how full the holding area is (``capacity`` updates,
    past which the webhook answers 503): an eighth of a batch when it is nearly empty, the
    whole batch when it is full. So a burst is absorbed with messages still moving, slowly,
    and a flood that lasts takes the cores back for the drainer as the holding area fills,
    instead of all at once at a mark. Once the updates pause (and when the webhook refuses
    them at capacity, which is no arrival), whole batches follow back to back.

    A pause is only seen while the drainer waits: a batch that kept the event loop busy
    also kept the acknowledgements from arriving, and must not read as the flood's end.
    With the drainer held off for a whole 10 s burst (bench webhooks, Telegram, quiet),
    acknowledgements went from 2,184 to 10,769 a second, every one stored, and the drainer
    then read 955 messages a second, as before.

    A drainer that reports how fast it reads (``read``) tells a stream it can keep up with
    from a flood it cannot: during a flood it takes what came since its last batch only while
    that came no faster than it reads (see ``before_batch``), its pace judged by batches of
    at least half a whole one, and measured again once ``remember`` seconds old."""

    def __init__(
        self,
        batch: int,
        capacity: int,
        every: float = 1.0,
        quiet: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        remember: float = 30.0,
    ) -> None:
        self._batch = batch
        self._capacity = capacity
        self._every = every
        self._quiet = quiet
        self._clock = clock
        self._sleep = sleep
        self._remember = remember
        self._last_arrival = float("-inf")
        self._backlog_at_last_batch = 0
        self._last_batch_at = clock()
        self._arrivals = 0
        self._arrivals_at_last_batch = 0
        # Seconds an item took in the drainer's last batch large enough to tell (``read``),
        # and when it was read.
        self._seconds_per_item: float | None = None
        self._paced_at = float("-inf")

    def arrived(self) -> None:
        """An update was held (call after it is)."""
        self._last_arrival = self._clock()
        self._arrivals += 1

    def read(self, count: int, seconds: float) -> None:
        """The drainer read a batch of ``count`` in ``seconds`` (locked, stored, deleted): its
        pace, measured while it shares the event loop with whatever else runs then.

        Only a batch of at least half a whole one sets the pace: a batch costs a fixed time
        (a transaction, a round of side-by-side threads) besides its items, and in a part of
        an eighth that time is most of it (0.2 s fixed and 3.6 ms an item: 25 in 0.29 s, 86
        a second, where a whole batch reads 217), so judged by a part a stream the drainer
        could read looks like a flood, and it went on taking parts while the backlog grew."""
        if count >= max(1, self._batch // 2):
            self._seconds_per_item = seconds / count
            self._paced_at = self._clock()

    async def before_batch(self, backlog: Callable[[], int]) -> int:
        """Wait, if updates are flooding in, until this drainer should take its next batch,
        and say how many to take. ``backlog`` counts the updates held and not yet read."""
        started = self._clock()
        waiting = backlog()
        # More than a batch waiting, and more than before the last batch, held since then.
        flooding = (
            waiting >= self._batch
            and waiting > self._backlog_at_last_batch
            and self._last_arrival >= self._last_batch_at
        )
        paused = not flooding
        while not paused and self._clock() - started < self._every:
            await self._sleep(self._quiet / 2)
            now = self._clock()
            # Quiet for ``quiet`` seconds, all of them spent waiting here.
            paused = now - self._last_arrival >= self._quiet and now - started >= self._quiet
        self._backlog_at_last_batch = backlog()
        now = self._clock()
        since = now - self._last_batch_at  # while ``came`` arrived
        self._last_batch_at = now
        came = self._arrivals - self._arrivals_at_last_batch
        self._arrivals_at_last_batch = self._arrivals
        if paused:
            return self._batch
        full = min(1.0, self._backlog_at_last_batch / self._capacity)
        part = max(1, self._batch // 8, round(self._batch * full))
        # A pace read long ago is not trusted (a batch slowed by something since gone, such
        # as the flood's own acknowledgements, would hold the drainer at parts for good):
        # without one the drainer takes what came, which measures it again.
        known = self._seconds_per_item if now - self._paced_at <= self._remember else None
        if known is not None and came * known > since:
            # What came would take the drainer longer to read than it took to come: a flood it
            # cannot keep up with, however much of each second it takes. Taking what came
            # would have it read back to back, the backlog growing all the same, with the
            # event loop taken from the acknowledgements (the bench's Slack flood: the
            # drainer's routing and handoffs, not the webhook, took most of the server's
            # CPU); so it takes the part, which grows as the holding area fills.
            return part
        # At least what came since the last batch (up to a whole one): a part alone could be
        # read slower than a steady stream arrives (8 mails a batch, the batch's transaction
        # about 80 ms, 300 mails a second), so the backlog grew across every batch and the
        # drainer stayed at a part for as long as the stream lasted (the review's run: none
        # of 2,250 mails read during a 150 a second stream after a burst). Taking what came
        # lets a stream the node can read shrink the backlog, which ends the flood.
        return max(part, min(came, self._batch))


__all__ = ["DrainPace", "all_or_first_error", "woken"]
