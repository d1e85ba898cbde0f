"""Claims in SQL (server/store/claims.py): a router batch's claims in one statement grant each
pair only while its conversation is queued and free and its agent has room, counting the ones
granted before it in the batch, and record each as one claim would."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pytest

from server.services import demo
from server.store import claims
from tests import harness
from tests.server.store.test_queue import _queued

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _agent(pool: asyncpg.Pool, capacity: int) -> str:
    # Online: the router gives conversations only to agents online (its claims check).
    await pool.execute(
        "UPDATE agents SET capacity = $2, status = 'online' WHERE email = $1",
        demo.AGENT_EMAIL,
        capacity,
    )
    return str(await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL))


async def test_a_batch_is_granted_in_order_up_to_each_agents_room(pool: asyncpg.Pool) -> None:
    dana = await _agent(pool, capacity=3)
    already = await _queued(pool, "already")
    await pool.execute(
        "UPDATE conversations SET status = 'assigned', assignee_id = $2 WHERE id = $1",
        UUID(already),
        UUID(dana),
    )
    first, second, third = [await _queued(pool, name) for name in ("first", "second", "third")]
    async with pool.acquire() as conn, conn.transaction():
        granted = await claims.claim_many(
            conn, [(first, dana), (second, dana), (third, dana)], "auto", NOW
        )
    assert granted == [True, True, False]  # one seat taken before, three in all
    rows = await pool.fetch(
        "SELECT id, status, assignee_id, assigned_at FROM conversations WHERE id = ANY($1)",
        [UUID(first), UUID(second), UUID(third)],
    )
    state = {str(r["id"]): (r["status"], r["assignee_id"], r["assigned_at"]) for r in rows}
    assert state[first] == state[second] == ("assigned", UUID(dana), NOW)
    assert state[third] == ("queued", None, None)
    recorded = await pool.fetch(
        "SELECT conversation_id, how FROM assignments ORDER BY id",
    )
    assert [(str(r["conversation_id"]), r["how"]) for r in recorded] == [
        (first, "auto"),
        (second, "auto"),
    ]
    shown = await pool.fetch(
        "SELECT conversation_id, actor_id, agent_id FROM activities"
        " WHERE kind = 'assigned' ORDER BY id"
    )
    assert [(str(r["conversation_id"]), r["actor_id"], str(r["agent_id"])) for r in shown] == [
        (first, None, dana),
        (second, None, dana),
    ]
    stamped = await pool.fetchval("SELECT last_assigned_at FROM agents WHERE id = $1", UUID(dana))
    assert stamped == NOW


async def test_a_conversation_taken_changed_or_locked_elsewhere_is_not_granted(
    pool: asyncpg.Pool,
) -> None:
    dana = await _agent(pool, capacity=10)
    free, resolved, locked = [await _queued(pool, name) for name in ("free", "resolved", "locked")]
    await pool.execute("UPDATE conversations SET status = 'resolved' WHERE id = $1", resolved)
    async with pool.acquire() as writer, writer.transaction():
        await writer.execute("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", UUID(locked))
        async with pool.acquire() as conn, conn.transaction():
            granted = await claims.claim_many(
                conn, [(locked, dana), (resolved, dana), (free, dana)], "auto", NOW
            )
    assert granted == [False, False, True]  # SKIP LOCKED: no waiting on the other writer
    rows = await pool.fetch(
        "SELECT id, status FROM conversations WHERE id = ANY($1)",
        [UUID(free), UUID(resolved), UUID(locked)],
    )
    statuses = {str(r["id"]): r["status"] for r in rows}
    assert statuses == {free: "assigned", resolved: "resolved", locked: "queued"}


async def test_an_inactive_agent_gets_nothing_and_an_empty_batch_asks_nothing(
    pool: asyncpg.Pool,
) -> None:
    dana = await _agent(pool, capacity=10)
    await pool.execute("UPDATE agents SET active = false WHERE id = $1", UUID(dana))
    waiting = await _queued(pool, "waiting")
    async with pool.acquire() as conn, conn.transaction():
        assert await claims.claim_many(conn, [(waiting, dana)], "auto", NOW) == [False]
        assert await claims.claim_many(conn, [], "auto", NOW) == []
    assert await pool.fetchval("SELECT count(*) FROM assignments") == 0


@pytest.mark.parametrize("status", ["away", "offline"])
async def test_the_router_gives_nothing_to_an_agent_gone_since_its_read(
    pool: asyncpg.Pool, status: str
) -> None:
    """The router chose from agents read at its pass's start; one went away since. Its
    claims (a batch, or one) are refused; the agent taking it themselves, away or not, is not."""
    dana = await _agent(pool, capacity=10)
    await pool.execute("UPDATE agents SET status = $2 WHERE id = $1", UUID(dana), status)
    waiting = await _queued(pool, "waiting")
    async with pool.acquire() as conn, conn.transaction():
        assert await claims.claim_many(conn, [(waiting, dana)], "auto", NOW) == [False]
        refused = await claims.claim(conn, waiting, dana, "auto", NOW, online_only=True)
        assert refused == f"{claims.NOT_ONLINE} ({status})"
    assert await pool.fetchval("SELECT count(*) FROM assignments") == 0
    async with pool.acquire() as conn, conn.transaction():
        assert await claims.claim(conn, waiting, dana, "claim", NOW, actor_id=dana) is None
    assert await _assigned_to(pool, dana) == 1


async def _assigned_to(pool: asyncpg.Pool, agent: str) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM conversations WHERE assignee_id = $1 AND status = 'assigned'",
            UUID(agent),
        )
    )


async def _waiting_for_a_lock(pool: asyncpg.Pool) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT count(*) > 0 FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
    )


@pytest.mark.parametrize("batch", [False, True])
async def test_a_claim_waiting_on_another_for_the_same_agent_counts_it(
    pool: asyncpg.Pool, batch: bool
) -> None:
    """An agent at capacity 1; a claim for them is uncommitted when a second claim (one, or
    a router batch) comes for the same agent: the second waits, then sees the first and is
    refused. Counted in a snapshot taken before it waited, it was granted (load 2 of 1)."""
    dana = await _agent(pool, capacity=1)
    first, second = await _queued(pool, "first"), await _queued(pool, "second")
    async with pool.acquire() as a, pool.acquire() as b:
        ta = a.transaction()
        await ta.start()
        assert await claims.claim(a, first, dana, "claim", NOW) is None

        async def granted() -> bool:
            if batch:
                return await claims.claim_many(b, [(second, dana)], "auto", NOW) == [True]
            return await claims.claim(b, second, dana, "auto", NOW) is None

        async with b.transaction():
            other = asyncio.create_task(granted())
            await harness.until(lambda: _waiting_for_a_lock(pool))
            await ta.commit()
            assert not await other  # refused: the agent is full
    assert await _assigned_to(pool, dana) == 1
