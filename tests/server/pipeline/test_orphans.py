"""A node that dies holding stored, acknowledged but unrouted messages: a survivor notices
its routing lease expired and routes them, without waiting for a node to start (issue 21).
Several pipelines over one real Postgres stand for the nodes."""

from __future__ import annotations

import asyncio

import asyncpg

from nlu.base import Interpretation
from nlu.understanding import Understanding
from routing.decision import BotPolicy, Texts
from server.live.bus import InProcessBus
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.pipeline.orphans import PREFIX, Orphans
from tests.server.pipeline.test_flow import ACK, bot_off_pipeline, inbound, left_unrouted


async def _dead_node(pool: asyncpg.Pool, holder: str = "node-dead") -> str:
    """The routing lease of a node that stopped renewing it a while ago."""
    name = PREFIX + holder
    await pool.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() - interval '1 s')",
        name,
        holder,
    )
    return name


async def test_a_survivor_routes_what_a_dead_node_left_once_its_lease_expires(
    pool: asyncpg.Pool,
) -> None:
    message_id = await left_unrouted(pool, "v-orphan", "hello? anyone?")
    dead = await _dead_node(pool)
    survivor = bot_off_pipeline(pool, InProcessBus(Metrics()))
    orphans = Orphans(pool, survivor.route_unrouted)
    assert await orphans.run_once() == [dead]
    await survivor.settled()
    assert await pool.fetchval("SELECT nlu IS NOT NULL FROM messages WHERE id = $1", message_id)
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"
    leases = {r["name"] for r in await pool.fetch("SELECT name FROM leases")}
    # The dead node's lease is gone; the survivor holds its own.
    assert leases == {orphans.name}


async def test_without_an_expired_lease_nothing_is_swept(pool: asyncpg.Pool) -> None:
    """A living node's messages are its own to route: no sweep while every lease is fresh."""
    message_id = await left_unrouted(pool, "v-held", "still mine")
    survivor = bot_off_pipeline(pool, InProcessBus(Metrics()))
    other = Orphans(pool, survivor.route_unrouted)
    assert await other.run_once() == []
    assert await Orphans(pool, survivor.route_unrouted).run_once() == []
    assert await pool.fetchval("SELECT nlu IS NULL FROM messages WHERE id = $1", message_id)


async def test_each_expired_lease_goes_to_one_survivor(pool: asyncpg.Pool) -> None:
    dead = await _dead_node(pool)
    swept: list[str] = []

    def survivor(name: str) -> Orphans:
        async def sweep() -> int:
            swept.append(name)
            return 0

        return Orphans(pool, sweep)

    taken = await asyncio.gather(*(survivor(f"s{n}").run_once() for n in range(3)))
    assert sorted(taken, key=len) == [[], [], [dead]]
    assert len(swept) == 1


async def test_a_node_stopping_expires_its_lease_so_another_routes_what_it_left(
    pool: asyncpg.Pool,
) -> None:
    leaving = bot_off_pipeline(pool, InProcessBus(Metrics()))
    await leaving.start()
    await leaving.close()
    # Stored after it stopped routing (as what its queue still held).
    message_id = await left_unrouted(pool, "v-left", "are you there?")
    survivor = bot_off_pipeline(pool, InProcessBus(Metrics()))
    taken = await Orphans(pool, survivor.route_unrouted).run_once()
    assert [name.startswith(PREFIX) for name in taken] == [True]
    await survivor.settled()
    assert await pool.fetchval("SELECT nlu IS NOT NULL FROM messages WHERE id = $1", message_id)


async def test_a_node_starting_beside_a_living_one_leaves_that_ones_messages_alone(
    pool: asyncpg.Pool,
) -> None:
    """What is unrouted may be in a living node's queue, being routed: a node that starts
    does not sweep it (the NLU would run twice); a dead node's is swept once its lease
    expires."""
    message_id = await left_unrouted(pool, "v-busy", "in the other node's queue")
    await pool.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + interval '1 min')",
        PREFIX + "node-alive",
        "node-alive",
    )
    starting = bot_off_pipeline(pool, InProcessBus(Metrics()))
    await starting.start()
    try:
        await starting.settled()
        assert await pool.fetchval("SELECT nlu IS NULL FROM messages WHERE id = $1", message_id)
    finally:
        await starting.close()


async def test_a_node_starting_alone_routes_what_was_left(pool: asyncpg.Pool) -> None:
    """No other node alive: whatever is unrouted is nobody's, and is routed at once."""
    message_id = await left_unrouted(pool, "v-alone", "anyone?")
    starting = bot_off_pipeline(pool, InProcessBus(Metrics()))
    await starting.start()
    try:
        await starting.settled()
        assert await pool.fetchval("SELECT nlu IS NOT NULL FROM messages WHERE id = $1", message_id)
    finally:
        await starting.close()


class _Counting(Understanding):
    """The NLU, counting the messages it is asked to understand."""

    def __init__(self) -> None:
        super().__init__(None)
        self.asked = 0

    async def understand(self, text: str, conversation_language: str | None) -> Interpretation:
        self.asked += 1
        return await super().understand(text, conversation_language)


async def test_a_swept_message_another_node_routed_meanwhile_is_not_understood_again(
    pool: asyncpg.Pool,
) -> None:
    """A sweep's read cannot tell a dead node's messages from a living one's: the copy
    whose turn comes after the living node routed it costs one read, no NLU."""
    living = bot_off_pipeline(pool, InProcessBus(Metrics()))
    stored = await living.ingest(inbound("m1", "where is my parcel?", visitor="v-both"))
    await living.settled()
    understanding = _Counting()
    sweeper = Pipeline(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        understanding,
        BotPolicy(enabled=False),
        Texts(handoff={"en": ACK}, off_hours={"en": ACK}),
    )
    # As a sweep read it before the living node's routing committed.
    sweeper._schedule_routing(stored.message, swept=True)
    await sweeper.settled()
    assert understanding.asked == 0
    # Routed once: one handoff notice.
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind = 'system'") == 1
