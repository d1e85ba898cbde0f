"""Group commit: many callers' rows written by one statement in one transaction.

A webhook is acknowledged once its update is on disk, and on this hardware one commit costs a
WAL flush (1 to 2.5 ms measured by bench/fsync.py) plus a round trip and a statement for each
request. Here a caller hands its row over and waits; a writer takes every row waiting at that
moment and writes them together (``write`` gets them as a list: one multi-row INSERT), so under
load a flush, a plan and a commit are shared by hundreds of requests, and a lone request still
goes out at once (no timer: a batch is whatever arrived while the previous one was written).
At most ``writers`` batches are written at once; each takes at most ``batch`` rows.

A caller whose batch failed gets the batch's exception (the webhook answers 503 and the
platform sends again); one cancelled while waiting leaves its row in the batch, which is
harmless, since writes are idempotent (the platform's own id is the key).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from asyncpg.pool import PoolConnectionProxy

from server.store.views import Conn, DatabaseError, Pool

T = TypeVar("T")

# Rows per statement: past a few hundred a batch gains nothing, and a huge one holds a
# connection (and its callers) longer.
BATCH = 500
# Batches in flight at once: enough to overlap one batch's flush with the next one's
# statement, few enough to leave the pool to the rest of the server.
WRITERS = 3
# How long a writer keeps its connection once nothing waits: between two requests of a
# steady stream it would otherwise queue for the pool again (behind routing and draining:
# acknowledgements waited 100 ms and more at p50 under wrk), and after a burst it is given
# back within this long (idle, nothing is held).
LINGER = 1.0


class GroupCommit(Generic[T]):
    """``await add(row)`` returns once ``row`` is committed (with whatever came with it)."""

    def __init__(
        self,
        pool: Pool,
        write: Callable[[Conn, list[T]], Awaitable[None]],
        *,
        batch: int = BATCH,
        writers: int = WRITERS,
        key: Callable[[T], Hashable] | None = None,
    ) -> None:
        self._pool = pool
        self._write = write
        self._batch = batch
        self._writers = writers
        # Rows with one key never share a batch (two messages of one sender take the next
        # seq each: the second waits for the next batch, in the order they came).
        self._key = key
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # Writers that will still look for rows. Not len(self._tasks): a writer that saw
        # nothing waiting then gives its connection back (a round trip), and its task leaves
        # the set a step after that; a row added meanwhile started no writer and waited forever.
        self._running = 0
        self._arrived = asyncio.Event()
        # Whether a writer keeps its connection waiting for rows: one at most, so a steady
        # stream holds one connection of the pool, not ``writers``.
        self._lingering = False

    @property
    def waiting(self) -> int:
        """Rows handed over and not yet being written (for /metrics)."""
        return len(self._waiting)

    async def add(self, row: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        self._arrived.set()
        if self._running < self._writers:
            self._running += 1
            task = asyncio.create_task(self._drain(), name="group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await done

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for _, done in self._waiting:
            if not done.done():
                done.cancel()
        self._waiting.clear()

    async def _drain(self) -> None:
        """Write batches while rows wait, on one connection kept for the burst: taking one
        from the pool for each batch would queue an acknowledgement behind the background
        work (routing, draining) that shares the pool. Given back LINGER after the last row."""
        conn: PoolConnectionProxy[Any] | None = None
        counted = True
        try:
            while True:
                if not await self._more(conn is not None):
                    # Uncounted in the step it saw nothing waiting (no await in between), so
                    # a row added from here on starts a writer of its own.
                    self._running -= 1
                    counted = False
                    break
                taken, self._waiting = self._take()
                try:
                    if conn is None:
                        conn = await self._pool.acquire()
                    await self._write(conn, [row for row, _ in taken])
                except BaseException as exc:
                    fail((done for _, done in taken), exc)
                    if not isinstance(exc, Exception):
                        raise
                    # The connection may be broken: the next batch takes another.
                    if conn is not None:
                        released, conn = conn, None
                        await self._pool.release(released)
                    continue
                for _, done in taken:
                    if not done.done():
                        done.set_result(None)
        finally:
            if counted:
                self._running -= 1
            if conn is not None:
                await self._pool.release(conn)

    def _take(
        self,
    ) -> tuple[list[tuple[T, asyncio.Future[None]]], list[tuple[T, asyncio.Future[None]]]]:
        """The next batch and what is left waiting, each in arrival order."""
        if self._key is None:
            return self._waiting[: self._batch], self._waiting[self._batch :]
        taken: list[tuple[T, asyncio.Future[None]]] = []
        left: list[tuple[T, asyncio.Future[None]]] = []
        keys: set[Hashable] = set()
        for entry in self._waiting:
            key = self._key(entry[0])
            if len(taken) >= self._batch or key in keys:
                left.append(entry)
            else:
                keys.add(key)
                taken.append(entry)
        return taken, left

    async def _more(self, connected: bool) -> bool:
        """Whether rows wait; with a connection in hand (and no other writer waiting so),
        wait LINGER for some to come."""
        if self._waiting or not connected or self._lingering:
            return bool(self._waiting)
        self._lingering = True
        self._arrived.clear()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LINGER):
                    await self._arrived.wait()
        finally:
            self._lingering = False
        return bool(self._waiting)


def fail(waiting: Iterable[asyncio.Future[Any]], exc: BaseException) -> None:
    """Each caller still waiting gets the batch's failure (a cancellation as one); group_read.py
    fails its batches the same way."""
    for done in waiting:
        if not done.done():
            if isinstance(exc, asyncio.CancelledError):
                done.cancel()
            else:
                done.set_exception(exc)


class Written(Protocol):
    """A row of a batch, with the error that failed it when it was written alone."""

    error: Exception | None


W = TypeVar("W", bound=Written)


async def each_alone(rows: Sequence[W], write: Callable[[W], Awaitable[None]]) -> None:
    """After a batch the database refused: each row written alone (its own statement and
    commit), so a row the database refuses fails only itself (its ``error``).

    A connection lost half way fails the row being written and those after it, which the
    caller writes again on another connection; the rows already written alone are committed
    and keep their outcome. Failing them with the batch would have their callers write them
    again: a mail answered 451 and stored twice, an outcome's event logged twice.
    """
    for at, row in enumerate(rows):
        try:
            await write(row)
        except DatabaseError as exc:
            row.error = exc
        except Exception as exc:
            for rest in rows[at:]:
                rest.error = exc
            return


__all__ = ["GroupCommit", "each_alone"]
