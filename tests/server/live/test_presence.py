"""Presence: an agent whose consoles are gone past the grace period is marked away and their
unanswered conversations go back to the queue; a reconnect within it changes nothing. On one
node (in-process presence) and on two nodes (Redis), the agent on one, the sweep on either."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

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


@pytest.mark.parametrize("kind", ["local", "redis"])
async def test_a_dropped_console_requeues_unanswered_conversations_after_the_grace_period(
    kind: str, dsn: str, redis_url: str, tmp_path: Path
) -> None:
    async with nodes(kind, dsn, redis_url, tmp_path) as servers:
        # With two nodes the first started usually holds the sweep lease: the agent is on the
        # other one, so the sweep must learn of them through Redis.
        here = servers[-1]
        pool = here.services.pool
        async with httpx.AsyncClient(base_url=here.base_url) as http:
            await http.post(
                "/console/api/login",
                json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD},
            )
            ws, _ = await console_socket(here, http, 0)
            await http.post("/console/api/me/status", json={"status": "online"})
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
            await asyncio.sleep(0.3)
            ws, _ = await console_socket(here, http, 0)
            await asyncio.sleep(2.0)  # well past the grace period, connected all along
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
