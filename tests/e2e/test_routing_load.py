"""200 conversations handed off at once to 10 agents on two server processes sharing one
Postgres and one Redis: each conversation is assigned exactly once, nobody above capacity,
and within each team the highest priorities are served first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from server.services.agents import create_agent
from server.store import organisation as org
from tests import harness
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text

CONVERSATIONS = 200
AGENTS = 10
CAPACITY = 5
PASSWORD = "load-test-password"
TEAMS = {"support": "demo-web", "billing": "demo-billing"}


@pytest.fixture
async def organisation(pool: asyncpg.Pool) -> list[str]:
    """Two teams with five agents each (capacity 5, away), one web chat inbox per team."""
    await pool.execute(
        "INSERT INTO inboxes (brand_id, channel, address, name)"
        " SELECT id, 'webchat', 'demo-billing', 'Billing chat' FROM brands WHERE slug = 'demo'"
    )
    emails = []
    async with pool.acquire() as conn:
        for team, inbox in TEAMS.items():
            await org.set_inbox_team(conn, "webchat", inbox, team)
        for n in range(AGENTS):
            email = f"agent{n}@example.com"
            await create_agent(pool, email=email, name=f"Agent {n}", password=PASSWORD)
            team = "support" if n < AGENTS // 2 else "billing"
            await org.update_agent(conn, email, capacity=CAPACITY, teams=[team], brand="demo")
            emails.append(email)
    return emails


@pytest.fixture
def nodes(dsn: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    # The clock's share of the priority (waiting, SLA) is turned off, so "served in priority
    # order" can be checked against the stored scores alone.
    weights = {"per_minute_waiting": 0, "sla_breached": 0, "sla_due_soon": 0, "sla_due_later": 0}
    with harness.two_nodes(
        dsn,
        redis_url,
        tmp_path,
        SWITCHBOARD_PRIORITY_WEIGHTS=orjson.dumps(weights).decode(),
        SWITCHBOARD_WS_RATE_BURST="1000",
    ) as urls:
        yield urls


async def open_customer(base: str, n: int) -> dict[str, str]:
    inbox = "demo-web" if n % 2 == 0 else "demo-billing"
    return await new_session(base, inbox=inbox, email=f"c{n}@example.com", name=f"C{n}")


async def say(base: str, token: str, n: int) -> None:
    async with await open_socket(base.replace("http://", "ws://")) as ws:
        await hello(ws, token)
        await ws.send(text({"type": "message", "client_id": f"m{n}", "text": "hello there"}))
        await next_of(ws, "ack")


async def agent_online(base: str, email: str) -> tuple[httpx.AsyncClient, ClientConnection]:
    http = httpx.AsyncClient(base_url=base)
    response = await http.post("/console/api/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    ws = await connect(
        base.replace("http://", "ws://") + "/console/ws", additional_headers={"cookie": cookie}
    )
    await ws.send(text({"type": "hello", "last_event_id": 0}))
    response = await http.post("/console/api/me/status", json={"status": "online"})
    assert response.status_code == 200
    return http, ws


async def check_invariants(pool: asyncpg.Pool) -> None:
    loads = await pool.fetch(
        "SELECT a.capacity, count(c.id) AS load FROM agents a LEFT JOIN conversations c"
        " ON c.assignee_id = a.id AND c.status = 'assigned' GROUP BY a.id"
    )
    assert all(r["load"] <= r["capacity"] for r in loads), "an agent is above capacity"
    # Within each team, nothing still waiting outranks what has been served.
    order = await pool.fetch(
        """SELECT t.slug,
                  min(c.priority) FILTER (WHERE c.status <> 'queued') AS lowest_served,
                  max(c.priority) FILTER (WHERE c.status = 'queued') AS highest_waiting
             FROM conversations c JOIN teams t ON t.id = c.team_id GROUP BY t.slug"""
    )
    for row in order:
        if row["lowest_served"] is not None and row["highest_waiting"] is not None:
            assert row["lowest_served"] >= row["highest_waiting"], dict(row)


async def test_200_handoffs_10_agents_two_nodes_each_assigned_once_in_priority_order(
    pool: asyncpg.Pool, organisation: list[str], nodes: tuple[str, str]
) -> None:
    node_a, node_b = nodes
    sessions = await asyncio.gather(
        *(open_customer(node_a if n % 2 else node_b, n) for n in range(CONVERSATIONS))
    )
    # Priorities spread in steps of 5: VIPs, customer value 0-4,000.
    await pool.execute(
        "UPDATE contacts SET vip = (substring(email from 'c(\\d+)@')::int % 7 = 0),"
        " lifetime_value = (substring(email from 'c(\\d+)@')::int % 5) * 1000"
        " WHERE email LIKE 'c%@example.com'"
    )
    await asyncio.gather(
        *(say(node_b if n % 2 else node_a, s["token"], n) for n, s in enumerate(sessions))
    )

    async def all_queued() -> bool:
        count = await pool.fetchval("SELECT count(*) FROM conversations WHERE status = 'queued'")
        return bool(count == CONVERSATIONS)

    await harness.until(all_queued, within=60.0)
    priorities = await pool.fetch("SELECT DISTINCT priority FROM conversations")
    assert len(priorities) >= 5, "the test needs a spread of priorities"

    agents = await asyncio.gather(
        *(agent_online(node_a if i % 2 else node_b, e) for i, e in enumerate(organisation))
    )
    try:
        served = 0
        while served < CONVERSATIONS:
            expected = min(served + AGENTS * CAPACITY, CONVERSATIONS)

            async def round_assigned(expected: int = expected) -> bool:
                done = await pool.fetchval(
                    "SELECT count(*) FROM conversations WHERE status <> 'queued'"
                )
                return bool(done >= expected)

            await harness.until(round_assigned, within=60.0)
            # Nothing more can move: each online agent of the test is at capacity, or nobody
            # is waiting (the state that makes a further assignment impossible, read
            # rather than waited for).
            full = await pool.fetchval(
                "SELECT count(*) FROM agents a WHERE a.email = ANY($1::text[]) AND a.capacity"
                " <= (SELECT count(*) FROM conversations c WHERE c.assignee_id = a.id"
                " AND c.status = 'assigned')",
                organisation,
            )
            waiting = await pool.fetchval(
                "SELECT count(*) FROM conversations WHERE status = 'queued'"
            )
            assert full == AGENTS or waiting == 0
            await check_invariants(pool)
            served = await pool.fetchval(
                "SELECT count(*) FROM conversations WHERE status <> 'queued'"
            )
            assert served == expected
            # Every agent resolves what they hold, on their own node.
            for http, _ in agents:
                mine = (await http.get("/console/api/me")).json()["agent"]["id"]
                held = await pool.fetch(
                    "SELECT id::text FROM conversations WHERE assignee_id = $1::uuid"
                    " AND status = 'assigned'",
                    mine,
                )
                results = await asyncio.gather(
                    *(http.post(f"/console/api/conversations/{r['id']}/resolve") for r in held)
                )
                assert all(r.status_code == 200 for r in results)
    finally:
        for http, ws in agents:
            await ws.close()
            await http.aclose()

    rows = await pool.fetch("SELECT conversation_id, how FROM assignments")
    assert len(rows) == CONVERSATIONS
    assert len({r["conversation_id"] for r in rows}) == CONVERSATIONS  # each exactly once
    assert {r["how"] for r in rows} == {"auto"}
