"""Agents' status over a real Postgres: an away the presence sweep set is undone when a
console comes back (issue 21); one the agent or an admin chose is not."""

from __future__ import annotations

import asyncpg

from server.services import demo
from server.store import roster


async def _agent(pool: asyncpg.Pool) -> str:
    agent_id = await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL)
    return str(agent_id)


async def _status(pool: asyncpg.Pool, agent_id: str) -> tuple[str, bool]:
    row = await pool.fetchrow(
        "SELECT status, away_by_sweep FROM agents WHERE id = $1::uuid", agent_id
    )
    assert row is not None
    return row["status"], row["away_by_sweep"]


async def test_an_agent_the_sweep_marked_away_is_online_again_when_their_console_is_back(
    pool: asyncpg.Pool,
) -> None:
    agent = await _agent(pool)
    async with pool.acquire() as conn:
        await roster.set_agent_status(conn, agent, "online")
        assert await roster.mark_away(conn, agent)
        assert await _status(pool, agent) == ("away", True)
        assert list(await roster.away_by_sweep_since(conn)) == [agent]
        assert await roster.back_online(conn, agent)
        assert await _status(pool, agent) == ("online", False)
        # Once: a second console connecting changes nothing more.
        assert not await roster.back_online(conn, agent)
        assert await roster.away_by_sweep_since(conn) == {}


async def test_an_away_the_agent_chose_stays_when_their_console_connects(
    pool: asyncpg.Pool,
) -> None:
    agent = await _agent(pool)
    async with pool.acquire() as conn:
        await roster.set_agent_status(conn, agent, "away")
        assert not await roster.back_online(conn, agent)
    assert await _status(pool, agent) == ("away", False)


async def test_a_status_change_after_the_sweep_makes_the_away_a_persons_choice(
    pool: asyncpg.Pool,
) -> None:
    """An admin (or the agent) setting a status after the sweep's away, be it "away" again:
    a console connecting later leaves it as they set it."""
    agent = await _agent(pool)
    async with pool.acquire() as conn:
        for chosen in ("away", "offline"):
            await roster.set_agent_status(conn, agent, "online")
            assert await roster.mark_away(conn, agent)
            await roster.set_agent_status(conn, agent, chosen)
            assert await _status(pool, agent) == (chosen, False)
            assert not await roster.back_online(conn, agent)
            assert await _status(pool, agent) == (chosen, False)


async def test_the_later_of_two_racing_status_changes_has_the_later_stamp(
    pool: asyncpg.Pool,
) -> None:
    """A console's return (back_online) in a transaction that began before the sweep's away
    stamps after it: consoles order agent.updated events by status_at and keep the newest,
    so the stamp must follow the order the changes took, not their transactions' starts."""
    agent = await _agent(pool)
    async with pool.acquire() as sweep, pool.acquire() as console:
        await roster.set_agent_status(sweep, agent, "online")
        async with console.transaction():
            await console.execute("SELECT now()")  # the transaction's clock starts here
            assert await roster.mark_away(sweep, agent)
            (away,) = await roster.agent_views(sweep, agent)
            assert await roster.back_online(console, agent)
        (back,) = await roster.agent_views(sweep, agent)
    assert (away["status"], back["status"]) == ("away", "online")
    assert back["status_at"] > away["status_at"]
