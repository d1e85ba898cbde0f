"""Bounded background work: a queue of fixed size served by a fixed number of worker tasks.

Work that follows an acknowledgement (routing a stored message, parsing a stored mail) runs
here instead of one task per item, so a burst costs a bounded queue, not a task and its
payload per item. When the queue is full an item is refused, not awaited: the caller's
durable state (an unrouted message, an unparsed receipt) stays in Postgres, and a sweep picks
it up once there is room. Every task is owned and stopped by ``close``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class WorkQueue(Generic[T]):
    def __init__(
        self, name: str, handle: Callable[[T], Awaitable[None]], *, workers: int, size: int
    ) -> None:
        self._name = name
        self._handle = handle
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=size)
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self.refused = 0

    def offer(self, item: T) -> bool:
        """Queue an item; False when the queue is full (the item is left to a sweep)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._serve(), name=f"{self._name}-{n}")
                for n in range(self._workers)
            ]
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.refused += 1
            return False
        return True

    @property
    def depth(self) -> int:
        """Items waiting for a worker (for /metrics and back-pressure)."""
        return self._queue.qsize()

    @property
    def full(self) -> bool:
        return self._queue.full()

    async def settled(self) -> None:
        """Wait until everything offered so far has been handled (tests, shutdown)."""
        await self._queue.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _serve(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:
                # The handler logs what it knows; this keeps the worker alive for the next one.
                log.exception("background work failed", queue=self._name)
            finally:
                self._queue.task_done()


__all__ = ["WorkQueue"]
