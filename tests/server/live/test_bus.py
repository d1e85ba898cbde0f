"""One contract over both bus adapters; the Redis one against a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from server.events import Event
from server.live.bus import RESYNC, EventBus, InProcessBus, RedisBus
from server.metrics import Metrics


@pytest.fixture(params=["in-process", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    instance: EventBus
    if request.param == "redis":
        instance = RedisBus(request.getfixturevalue("redis_url"), Metrics())
    else:
        instance = InProcessBus(Metrics())
    await instance.start()
    yield instance
    await instance.close()


async def test_every_listener_gets_each_event_once_in_publish_order(bus: EventBus) -> None:
    first: list[Event] = []
    second: list[Event] = []
    done = asyncio.Event()
    bus.subscribe(first.append)

    def last(event: Event) -> None:
        second.append(event)
        if len(second) == 20:
            done.set()

    bus.subscribe(last)
    sent = [Event("message.created", "c1", {"change": str(i)}, id=i) for i in range(20)]
    for event in sent:
        await bus.publish(event)
    await asyncio.wait_for(done.wait(), 5)
    assert first == sent
    assert second == sent
    assert bus.state()["ok"] is True


async def test_a_failing_listener_does_not_starve_the_others(bus: EventBus) -> None:
    got: list[Event] = []
    done = asyncio.Event()

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    def good(event: Event) -> None:
        got.append(event)
        done.set()

    bus.subscribe(broken)
    bus.subscribe(good)
    await bus.publish(Event("typing", "c1", {}))
    await asyncio.wait_for(done.wait(), 5)
    assert len(got) == 1


async def test_redis_bus_reaches_listeners_on_another_node(redis_url: str) -> None:
    one, two = RedisBus(redis_url, Metrics()), RedisBus(redis_url, Metrics())
    await one.start()
    await two.start()
    try:
        got: list[Event] = []
        done = asyncio.Event()

        def listener(event: Event) -> None:
            got.append(event)
            done.set()

        two.subscribe(listener)
        await one.publish(Event("message.created", "c9", {"change": "hi"}, id=7))
        await asyncio.wait_for(done.wait(), 5)
        assert got == [Event("message.created", "c9", {"change": "hi"}, id=7)]
    finally:
        await one.close()
        await two.close()


async def test_after_losing_redis_the_bus_reconnects_and_tells_listeners_to_catch_up(
    redis_url: str,
) -> None:
    import redis.asyncio as aioredis

    from server.live.bus import RESYNC

    bus = RedisBus(redis_url, Metrics())
    await bus.start()
    got: list[Event] = []
    resynced = asyncio.Event()

    def listener(event: Event) -> None:
        got.append(event)
        if event.name == RESYNC:
            resynced.set()

    bus.subscribe(listener)
    admin = aioredis.Redis.from_url(redis_url)
    try:
        # Drop every pub/sub connection, as a Redis restart or a network cut would.
        await admin.client_kill_filter(_type="pubsub")
        await asyncio.wait_for(resynced.wait(), 10)
        await bus.publish(Event("message.created", "c1", {}, id=1))
        for _ in range(100):
            if any(e.name == "message.created" for e in got):
                break
            await asyncio.sleep(0.05)
        assert [e.name for e in got] == [RESYNC, "message.created"]
        assert bus.state()["ok"] is True
    finally:
        await admin.aclose()
        await bus.close()


async def test_without_redis_a_publish_succeeds_locally_and_the_other_node_resyncs_later(
    redis_url: str,
) -> None:
    """A write already committed is never reported as failed because Redis is away: this
    node's listeners get the event, and the other nodes resync once Redis answers again."""
    here, there = RedisBus(redis_url, Metrics()), RedisBus(redis_url, Metrics())
    await here.start()
    await there.start()
    seen_here: list[Event] = []
    seen_there: list[Event] = []
    arrived = asyncio.Event()
    here.subscribe(seen_here.append)

    def on_there(event: Event) -> None:
        seen_there.append(event)
        if event.name == "message.created" and event.data.get("change") == "2":
            arrived.set()

    there.subscribe(on_there)
    healthy = here._redis
    here._redis = aioredis.Redis.from_url("redis://127.0.0.1:1")  # nothing listens there
    await here.publish(Event("message.created", "c1", {"change": "1"}, id=1))
    assert [e.data for e in seen_here] == [{"change": "1"}]
    await here._redis.aclose()
    here._redis = healthy
    await here.publish(Event("message.created", "c1", {"change": "2"}, id=2))
    await asyncio.wait_for(arrived.wait(), timeout=10)
    assert [e.name for e in seen_there] == [RESYNC, "message.created"]
    await here.close()
    await there.close()
