"""The event bus: live fan-out of stored events to every node's sockets.

Two adapters behind one small port: in-process for a single node, Redis pub/sub across nodes.
The bus carries live events only; Postgres is the durable truth, so a listener that may have
missed events (a Redis reconnect) is told to catch up from the database: the bus sends it the
``RESYNC`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog

from server.events import Event
from server.live.gaps import EventGaps
from server.metrics import Metrics
from server.store import Pool

log = structlog.get_logger(__name__)

Listener = Callable[[Event], None]
# Sent to listeners after a gap in delivery; never published by the pipeline.
RESYNC = "bus.resync"
REDIS_CHANNEL = "switchboard:events"


class EventBus(Protocol):
    """Publish events to every node; listeners are called on the event loop and must not block."""

    async def start(self) -> None: ...

    async def publish(self, event: Event) -> None: ...

    def subscribe(self, listener: Listener) -> None: ...

    async def close(self) -> None: ...

    def state(self) -> dict[str, Any]: ...


class _Listeners:
    def __init__(self, metrics: Metrics) -> None:
        self._listeners: list[Listener] = []
        self._metrics = metrics

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def dispatch(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # one broken listener must not starve the others
                log.exception("event listener failed", event_name=event.name)


class InProcessBus(_Listeners):
    """One node: publishing calls this process's listeners directly."""

    async def start(self) -> None:
        return None

    async def publish(self, event: Event) -> None:
        self._metrics.events_published.labels(event.name).inc()
        self.dispatch(event)

    async def close(self) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {"kind": "in-process", "ok": True}


class RedisBus(_Listeners):
    """Several nodes: events go through one Redis pub/sub channel and come back to every node,
    this one included, so each listener sees each event once."""

    def __init__(self, url: str, metrics: Metrics) -> None:
        super().__init__(metrics)
        self._redis = aioredis.Redis.from_url(url)
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._connected = False
        # An event could not be published: the other nodes missed it, and are told to catch
        # up from Postgres with the next thing that reaches Redis.
        self._resync_owed = False
        # Stored events that never came over Redis (their node died between commit and
        # publish), read from the log and delivered late (server/live/gaps.py).
        self._gaps: EventGaps | None = None
        self._filler: asyncio.Task[None] | None = None

    def fill_gaps_from(self, pool: Pool) -> None:
        self._gaps = EventGaps(pool)

    async def start(self) -> None:
        await self._redis.ping()  # fail fast on a wrong URL
        self._reader = asyncio.create_task(self._read(), name="redis-bus-reader")
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)
        if self._gaps is not None:
            self._filler = asyncio.create_task(self._fill(self._gaps), name="redis-bus-gaps")

    async def _fill(self, gaps: EventGaps) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                late = await gaps.due()
            except Exception as exc:  # the database is away: the ids wait for the next round
                log.warning("reading missed events failed", error=str(exc))
                continue
            if late:
                log.info("events missed on the bus delivered from postgres", count=len(late))
            for event in late:
                self.dispatch(event)

    async def publish(self, event: Event) -> None:
        """Never raises: the event is already committed to Postgres, so a caller's write has
        succeeded whatever Redis does. Without Redis, this node's listeners get the event
        directly, and every node is told to resync once Redis answers again."""
        self._metrics.events_published.labels(event.name).inc()
        try:
            if self._resync_owed:
                await self._redis.publish(REDIS_CHANNEL, Event(RESYNC, "", {}).to_json())
                self._resync_owed = False
            await self._redis.publish(REDIS_CHANNEL, event.to_json())
        except (aioredis.RedisError, OSError) as exc:
            self._resync_owed = True
            log.warning("redis publish failed; delivered on this node only", error=str(exc))
            self.dispatch(event)
            if self._gaps is not None:
                self._gaps.saw(event.id)

    async def _read(self) -> None:
        delay = 0.1
        first = True
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(REDIS_CHANNEL)
                    self._connected = True
                    self._subscribed.set()
                    if not first:
                        log.info("redis bus reconnected; listeners catch up from postgres")
                        self.dispatch(Event(RESYNC, "", {}))
                    first, delay = False, 0.1
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            event = Event.from_json(message["data"])
                            self.dispatch(event)
                            if self._gaps is not None:
                                self._gaps.saw(event.id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._connected = False
                log.warning("redis bus disconnected", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        for task in (self._reader, self._filler):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._redis.aclose()

    def state(self) -> dict[str, Any]:
        return {"kind": "redis", "ok": self._connected}
