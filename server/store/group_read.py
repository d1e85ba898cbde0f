"""Group read: many callers' look-ups answered by one set-based statement.

A reconnect storm is thousands of widget hellos within seconds, each needing one small read
(the visitor and its conversation). Read one by one, each pays a pool acquire, a round trip, a
plan and an executor start in Postgres, and asyncpg's per-query work on the event loop: under
``python -m bench.chaos.reconnects`` the hello's read was 13-20 % of a node's samples. Here a
caller hands its key over and waits; a reader takes every key waiting at that moment and reads
them with one statement (``read`` gets them as a list: ``WHERE key = ANY($1)``), so under a
storm one read answers a hundred hellos, and a lone hello still goes out at once (no timer: a
batch is whatever arrived while the previous read was in flight), as store/group_commit.py
does for writes. At most ``readers`` reads run at once; each takes at most ``batch`` keys,
and a reader keeps its connection while keys keep coming.

Once nothing waits, one reader keeps its connection for LINGER, and a key that comes to it
waits GATHER for others before it is read: a storm's hellos come to a node a hundred or two a
second, each on its own (the 300-socket storms of bench/RESULTS.md), so without the wait
each hello was a read of its own, with a connection taken from the pool and given back, a
task, a round trip and Postgres' executor start; with it a few share each. A key asked while
no reader lingers (a quiet server's hello) is still read at once.

A caller whose batch failed gets the batch's exception; one cancelled while waiting (its
socket went away) is skipped when the answers are handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from server.store.group_commit import fail
from server.store.views import Conn, Pool

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Keys per statement: the storm's hellos gain nothing past a few hundred, and a bigger read
# makes its first callers wait for the last rows.
BATCH = 500
# Reads in flight at once: two, so a batch is being gathered while one is read, and the pool
# keeps its other connections for the rest of the server (a reader holds one through a storm).
READERS = 2
# How long a reader keeps its connection once nothing waits (as store/group_commit.py's
# writers), and how long a key that comes to it waits for others: a hello's answer comes that
# much later in a burst, which a reconnecting widget does not see.
LINGER = 1.0
GATHER = 0.01


class GroupRead(Generic[K, V]):
    """``await get(key)``: what ``read`` found for ``key`` (None: nothing), read together
    with every other key asked for meanwhile."""

    def __init__(
        self,
        pool: Pool,
        read: Callable[[Conn, list[K]], Awaitable[Mapping[K, V]]],
        *,
        batch: int = BATCH,
        readers: int = READERS,
        linger: float = LINGER,
        gather: float = GATHER,
    ) -> None:
        self._pool = pool
        self._read = read
        self._batch = batch
        self._readers = readers
        self._linger = linger
        self._gather = gather
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reading = 0
        self._arrived = asyncio.Event()
        # A reader waits for keys with its connection (one at most: a steady trickle holds
        # one connection of the pool, not ``readers``), or has one and waits GATHER for more:
        # a key asked then is its, and starts no other reader to be read alone.
        self._lingering = False
        self._gathering = False

    @property
    def waiting(self) -> int:
        """Keys asked for and not yet being read."""
        return len(self._waiting)

    async def get(self, key: K) -> V | None:
        found: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        # Two sockets of one visitor at once share one key, and its answer.
        self._waiting.setdefault(key, []).append(found)
        self._arrived.set()
        if self._reading < self._readers and not (self._lingering or self._gathering):
            # Counted here and uncounted in the step a reader finds nothing waiting: a task's
            # done callback comes a step later, and a key asked in between would wait forever.
            self._reading += 1
            task = asyncio.create_task(self._drain(), name="group-read")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await found

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for futures in self._waiting.values():
            for found in futures:
                found.cancel()
        self._waiting.clear()

    async def _drain(self) -> None:
        """Read batches while keys wait, on one connection kept for the burst: taking one
        from the pool for each batch queued every batch of a storm's hellos behind the
        routing's work that shares the pool (as store/group_commit.py keeps one for writes).
        Given back LINGER after the last key."""
        conn: PoolConnectionProxy[Any] | None = None
        counted = True
        try:
            while True:
                if not await self._more(conn is not None):
                    # Uncounted in the step it saw nothing waiting (no await in between), so
                    # a key asked from here on starts a reader of its own.
                    self._reading -= 1
                    counted = False
                    break
                taken = self._take()
                try:
                    if conn is not None and _gone(conn):
                        # Closed while the reader kept it (Postgres restarted, the session
                        # was ended): asyncpg has given it back to the pool, whose next one
                        # is connected afresh.
                        conn = None
                    if conn is None:
                        conn = await self._pool.acquire()
                    answers = await self._read(conn, list(taken))
                except BaseException as exc:
                    fail((found for futures in taken.values() for found in futures), exc)
                    if not isinstance(exc, Exception):
                        raise
                    # The connection may be broken: the next batch takes another.
                    if conn is not None:
                        released, conn = conn, None
                        await self._pool.release(released)
                    continue
                for key, futures in taken.items():
                    for found in futures:
                        if not found.done():
                            found.set_result(answers.get(key))
        finally:
            if counted:
                self._reading -= 1
            if conn is not None:
                await self._pool.release(conn)

    async def _more(self, connected: bool) -> bool:
        """Whether keys wait (False: the reader ends). With a connection in hand and nothing
        waiting, wait LINGER for a key (one reader at most); a key that came so, or is waiting
        when a second reader starts beside a first, is part of a burst: wait GATHER for others
        to join it. Keys that piled up during the reader's own read, or the first key of a
        quiet server, are read at once."""
        if self._waiting:
            if connected or self._reading == 1:
                return True
        elif not connected or self._lingering or self._reading > 1:
            # Another reader is under way (perhaps waiting for a connection from a busy
            # pool, keys in hand): this one gives its connection back rather than linger.
            return False
        else:
            self._lingering = True
            self._arrived.clear()
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._linger):
                        await self._arrived.wait()
            finally:
                self._lingering = False
            if not self._waiting:
                return False
        if self._gather > 0:
            self._gathering = True
            try:
                await asyncio.sleep(self._gather)
            finally:
                self._gathering = False
        return bool(self._waiting)

    def _take(self) -> dict[K, list[asyncio.Future[V | None]]]:
        """The next batch, in the order asked; the rest stays waiting."""
        if len(self._waiting) <= self._batch:
            taken, self._waiting = self._waiting, {}
            return taken
        keys = list(self._waiting)[: self._batch]
        return {key: self._waiting.pop(key) for key in keys}


def _gone(conn: PoolConnectionProxy[Any]) -> bool:
    """Whether a connection kept between reads has closed: asyncpg then hands it back to the
    pool itself, and the proxy answers nothing but InterfaceError."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


__all__ = ["GroupRead"]
