"""Presence: an agent whose consoles are gone past the grace period is marked away and their
unanswered conversations go back to the queue; a reconnect within it changes nothing. On one
node (in-process presence) and on two nodes sharing a real Redis: the agent on one, the sweep
on the other, which knows of the agent only through Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from server.live.presence import RedisPresence
from server.services import demo
from tests import harness
from tests.harness import customer
from tests.web_console.console_client import console_socket


@contextlib.asynccontextmanager
async def nodes(
    kind: str, dsn: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[list[harness.RunningServer]]:
    extra = {"redis_url": redis_url, "presence_heartbeat_seconds": 0.2} if kind == "redis" else {}
    settings = harness.settings_for(
        dsn, tmp_path, presence_grace_seconds=1.0, sweep_seconds=0.1, **extra
    )
    async with contextlib.AsyncExitStack() as stack:
        count = 2 if kind == "redis" else 1
        yield [await stack.enter_async_context(harness.run_server(settings)) for _ in range(count)]


async def sweep_rounds_after(sweeper: harness.RunningServer, seconds: float) -> None:
    """Wait, from now, until the sweeping node has run a whole round that began ``seconds``
    later. Each round renews the sweep lease first (a new expiry in Postgres), so a second
    renewal after that point means the round that began then has finished."""
    pool = sweeper.services.pool
    point = await pool.fetchval("SELECT now() + make_interval(secs => $1)", seconds)

    async def expiry() -> object:
        return await pool.fetchval(
            "SELECT expires_at FROM leases WHERE name = 'sweeps' AND holder = $1",
            sweeper.services.sweeps.holder,
        )

    async def passed() -> bool:
        return bool(await pool.fetchval("SELECT now() > $1", point))

    await harness.until(passed)
    for _ in range(2):
        before = await expiry()

        async def renewed(before: object = before) -> bool:
            return await expiry() not in (None, before)

        await harness.until(renewed)


async def _online_console(here: Any, http: httpx.AsyncClient) -> Any:
    """The demo agent logged in on ``here``, a console open, their status online."""
    await http.post(
        "/console/api/login",
        json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD},
    )
    ws, _ = await console_socket(here, http, 0)
    await http.post("/console/api/me/status", json={"status": "online"})
    return ws


@pytest.mark.parametrize("kind", ["local", "redis"])
async def test_a_dropped_console_requeues_unanswered_conversations_after_the_grace_period(
    kind: str, dsn: str, redis_url: str, tmp_path: Path
) -> None:
    async with nodes(kind, dsn, redis_url, tmp_path) as servers:
        # With two nodes the agent is on the second and only the first may sweep (the second's
        # sweeps are stopped, so it can never take the lease): the sweeping node has no socket
        # of the agent's and learns they are connected, and then gone, through Redis alone.
        sweeper, here = servers[0], servers[-1]
        if kind == "redis":
            await here.services.sweeps.close()
            assert isinstance(sweeper.services.router.presence, RedisPresence)
        pool = here.services.pool
        async with httpx.AsyncClient(base_url=here.base_url) as http:
            ws = await _online_console(here, http)
            waiting = await customer(here, "is anyone there?")
            answered = await customer(here, "question two")

            async def both_assigned() -> bool:
                count = await pool.fetchval(
                    "SELECT count(*) FROM conversations WHERE status = 'assigned'"
                )
                return bool(count == 2)

            await harness.until(both_assigned)
            reply = {"text": "On it!", "client_id": "r1"}
            response = await http.post(
                f"/console/api/conversations/{answered}/messages", json=reply
            )
            assert response.status_code == 201

            # A reload: the socket drops and is back within the grace period.
            await ws.close()
            ws, _ = await console_socket(here, http, 0)
            if kind == "redis":
                assert sweeper.services.router.presence.here() == []
            # Sweeps run well past the grace period (1 s), the agent connected all along.
            await sweep_rounds_after(sweeper, 1.5)
            assert (
                await pool.fetchval("SELECT status FROM agents WHERE email = $1", demo.AGENT_EMAIL)
                == "online"
            )
            assert (
                await pool.fetchval("SELECT count(*) FROM conversations WHERE status = 'assigned'")
                == 2
            )

            # Gone for good: marked away, the unanswered conversation is requeued.
            await ws.close()

            async def away() -> bool:
                status = await pool.fetchval(
                    "SELECT status FROM agents WHERE email = $1", demo.AGENT_EMAIL
                )
                return bool(status == "away")

            await harness.until(away)

            async def requeued() -> bool:
                status = await pool.fetchval(
                    "SELECT status FROM conversations WHERE id = $1::uuid", waiting
                )
                return bool(status == "queued")

            await harness.until(requeued)
            assert (
                await pool.fetchval(
                    "SELECT status FROM conversations WHERE id = $1::uuid", answered
                )
                == "assigned"
            )
            views = (await http.get("/console/api/queue")).json()["queue"]
            assert [v["id"] for v in views] == [waiting]


@pytest.mark.parametrize("kind", ["local", "redis"])
async def test_a_console_back_after_the_grace_period_makes_its_agent_online_again(
    kind: str, dsn: str, redis_url: str, tmp_path: Path
) -> None:
    """Issue 21: a console that took longer than the grace period to reconnect (the proxy's
    reconnect storm) had its agent marked away for good. Now the reconnect brings them back
    online, announced to the consoles; an away the agent chose stays."""
    async with nodes(kind, dsn, redis_url, tmp_path) as servers:
        sweeper, here = servers[0], servers[-1]
        if kind == "redis":
            await here.services.sweeps.close()
        pool = here.services.pool

        async def status() -> str:
            found: str = await pool.fetchval(
                "SELECT status FROM agents WHERE email = $1", demo.AGENT_EMAIL
            )
            return found

        async with httpx.AsyncClient(base_url=here.base_url) as http:
            ws = await _online_console(here, http)
            await ws.close()

            async def away() -> bool:
                return await status() == "away"

            await harness.until(away)
            ws, hello = await console_socket(here, http, 0)
            # Announced to the consoles, this one among them (before its welcome, or after).
            frames = iter(hello["replayed"])
            while True:
                frame = next(frames, None) or orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                # (The sweep's own "away" may come first, if it published after the reconnect.)
                agent = frame["data"]["agent"] if frame.get("name") == "agent.updated" else {}
                if agent.get("email") == demo.AGENT_EMAIL and agent["status"] == "online":
                    break
            assert await status() == "online"

            # Away by their own choice: a console reconnecting leaves it so.
            await http.post("/console/api/me/status", json={"status": "away"})
            await ws.close()
            ws, _ = await console_socket(here, http, 0)
            await sweep_rounds_after(sweeper, 0.2)
            assert await status() == "away"
            await ws.close()


async def test_without_redis_the_sweep_brings_nobody_back_on_a_guess() -> None:
    """Redis unreachable: everyone counts as seen for judging who is gone, but not for
    bringing an agent the sweep marked away back online (only this node's sockets count)."""
    presence = RedisPresence("redis://127.0.0.1:1", 10.0)
    try:
        assert list(await presence.last_seen(["gone"])) == ["gone"]
        assert await presence.last_seen(["gone"], unsure_means_here=False) == {}
        presence.connected("here")
        assert list(await presence.last_seen(["here"], unsure_means_here=False)) == ["here"]
    finally:
        await presence.close()
