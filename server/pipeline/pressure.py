"""How late the event loop runs what is ready: the node's own measure of overload.

A node whose event loop is saturated reads frames late, and the messages wait in socket
buffers, where no queue bound sees them: on a quiet 2-core machine, at 1,000 to 2,500
web-chat messages a second offered, a node that stores and routes about 500 took every one
and answered 2 to 11 s late, refusing none (bench/RESULTS.md, 2026-12-04 23:42), while its
bounds on messages waiting for the database (256) and for routing (2,000) stayed unreached.
A timer that asks to wake every INTERVAL and notes how late it woke sees that wait. Once the
smoothed lateness passes the limit, ``Pipeline.admit`` refuses new messages: a refusal is a
frame with no database work, so the loop catches up, and the senders retry in their own
terms (the widget resends what was not acknowledged, webhooks get 503, SMTP 451). A single
long stall (a garbage collection, a model loading) moves the average by WEIGHT of itself and
is forgotten within a few wakes.

Only what overflows is refused: the share of new messages refused grows with the lateness,
from none at the limit to all at RAMP times it (``refuse``). Refusing everything the moment
the average passed the limit cost a stall's whole backlog: the frames that waited in the
sockets during it were read at once, each refused in microseconds, before the average could
fall back (in the 17:38 UTC probe on a loaded machine, 328 of 7,161 messages at 1,500 msg/s).
A share keeps the node serving near what it can while the lateness stays near the limit.
"""

from __future__ import annotations

import asyncio
import contextlib

# How often the timer asks to wake, and how much each wake's lateness moves the average.
INTERVAL = 0.02
WEIGHT = 0.2
# The default limit on the smoothed lateness (settings.overload_lag_ms).
LIMIT = 0.1
# Past the limit the refused share grows linearly, to all new messages at RAMP times the limit.
RAMP = 2.0
# The timer stops when nobody has asked for this long (an idle node wakes for nothing) and
# starts again on the next look.
IDLE_SECONDS = 10.0


class LoopLag:
    """The event loop's smoothed lateness, in seconds; ``overloaded`` past ``limit``, and
    ``refuse`` says which new messages to refuse then. The timer starts on a look (it needs
    the running loop), stops after IDLE_SECONDS without one, and with ``close``."""

    def __init__(self, limit: float = LIMIT, interval: float = INTERVAL) -> None:
        self.limit = limit
        self.lag = 0.0
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._looked = 0.0
        # Refusals owed by the share so far (``refuse``): below one, the next is admitted.
        self._owed = 0.0

    @property
    def overloaded(self) -> bool:
        """Whether the lateness is past the limit (nothing counted)."""
        return self.share > 0.0

    @property
    def share(self) -> float:
        """The share of new messages to refuse now: 0 up to the limit, 1 from RAMP times it."""
        loop = asyncio.get_running_loop()
        self._looked = loop.time()
        if self._task is None:
            self._task = loop.create_task(self._watch(), name="loop-lag")
        if self.lag <= self.limit:
            return 0.0
        return min(1.0, (self.lag - self.limit) / (self.limit * (RAMP - 1.0)))

    def refuse(self) -> bool:
        """Whether to refuse one new message, counting it: of the messages that come while the
        share is s, one in 1/s is refused, evenly (no randomness: a test knows which)."""
        share = self.share
        if share <= 0.0:
            self._owed = 0.0
            return False
        self._owed += share
        if self._owed >= 1.0:
            self._owed -= 1.0
            return True
        return False

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() - self._looked < IDLE_SECONDS:
            asked = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self.lag += WEIGHT * (max(0.0, loop.time() - asked) - self.lag)
        self.lag = 0.0
        self._task = None


__all__ = ["LIMIT", "RAMP", "LoopLag"]
