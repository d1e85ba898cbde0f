"""The queue in SQL (server/store/queue.py): re-placing queued conversations in one statement,
each only if it is still as its placement was worked out from."""

from __future__ import annotations

import asyncpg

from routing.priority import Contribution, Priority
from server.store import queue
from server.store.nlu import INTERPRETED_WINDOW


async def _queued(pool: asyncpg.Pool, name: str) -> str:
    row = await pool.fetchrow(
        """WITH contact AS (
               INSERT INTO contacts (brand_id, name)
               SELECT brand_id, $1 FROM inboxes WHERE address = 'demo-web' RETURNING id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status,
                                      priority, band, handoff_reason)
           SELECT i.brand_id, i.id, contact.id, 'webchat', 'queued', 10, 'normal', 'asked'
             FROM inboxes i, contact WHERE i.address = 'demo-web' RETURNING id""",
        name,
    )
    assert row is not None
    return str(row["id"])


def _placement(points: int) -> queue.Placement:
    return queue.Placement(
        team_id=None,
        required_skills=("billing", "fr"),
        intent="payment_failed",
        priority=Priority(points, (Contribution(points, "negative sentiment"),)),
        band="high",
        first_response_due=None,
        resolution_due=None,
        previous_agent=None,
    )


async def test_placements_are_replaced_together_unless_the_conversation_moved_on(
    pool: asyncpg.Pool,
) -> None:
    plain, claimed, escalated, reasoned = [
        await _queued(pool, name) for name in ("plain", "claimed", "escalated", "reasoned")
    ]
    await pool.execute("UPDATE conversations SET status = 'assigned' WHERE id = $1", claimed)
    await pool.execute("UPDATE conversations SET escalation = 5 WHERE id = $1", escalated)
    await pool.execute("UPDATE conversations SET handoff_reason = 'legal' WHERE id = $1", reasoned)
    async with pool.acquire() as conn, conn.transaction():
        written = await queue.replace_placements(
            conn,
            [
                queue.Replacement(conversation_id, _placement(40), 0, "asked")
                for conversation_id in (reasoned, escalated, claimed, plain)
            ],
        )
    assert written == [plain]
    rows = {
        str(r["id"]): r
        for r in await pool.fetch(
            "SELECT id, priority, priority_parts, band, required_skills, intent FROM conversations"
        )
    }
    assert (rows[plain]["priority"], rows[plain]["band"]) == (40, "high")
    assert rows[plain]["priority_parts"] == [{"points": 40, "label": "negative sentiment"}]
    assert rows[plain]["required_skills"] == ["billing", "fr"]
    assert rows[plain]["intent"] == "payment_failed"
    for other in (claimed, escalated, reasoned):
        assert (rows[other]["priority"], rows[other]["band"]) == (10, "normal")


async def test_queued_placement_facts_read_only_the_queued_with_their_current_place(
    pool: asyncpg.Pool,
) -> None:
    waiting, claimed = await _queued(pool, "waiting"), await _queued(pool, "claimed")
    await pool.execute("UPDATE conversations SET status = 'assigned' WHERE id = $1", claimed)
    async with pool.acquire() as conn:
        facts = await queue.queued_placement_facts(conn, [waiting, claimed])
    assert list(facts) == [waiting]
    placed = facts[waiting].placed
    assert placed is not None
    assert (placed.priority.score, placed.band) == (10, "normal")
    assert facts[waiting].handoff_reason == "asked"


async def test_the_facts_read_gives_the_connection_back_with_its_settings(
    pool: asyncpg.Pool,
) -> None:
    """The re-ranking's read plans without bitmap scans (a SET LOCAL in its own transaction):
    the pool's connection goes back with bitmap scans on, as it came."""
    waiting = await _queued(pool, "settings")
    async with pool.acquire() as conn:
        facts = await queue.queued_placement_facts(conn, [waiting])
        assert list(facts) == [waiting]
        assert await conn.fetchval("SHOW enable_bitmapscan") == "on"


async def test_a_transfer_places_the_conversation_until_it_is_resolved_or_reopened(
    pool: asyncpg.Pool,
) -> None:
    conversation_id = await _queued(pool, "moved")
    billing, technical = [
        str(await pool.fetchval("SELECT id FROM teams WHERE slug = $1", slug))
        for slug in ("billing", "technical")
    ]

    async def transferred_team() -> str | None:
        async with pool.acquire() as conn:
            return (await queue.placement_facts(conn, conversation_id)).transferred_team

    async def record(kind: str, team: str | None = None) -> None:
        await pool.execute(
            "INSERT INTO activities (conversation_id, kind, team_id) VALUES ($1, $2, $3)",
            conversation_id,
            kind,
            team,
        )

    assert await transferred_team() is None
    await record("transferred", billing)
    await record("assigned")
    assert await transferred_team() == billing
    await record("transferred", technical)
    assert await transferred_team() == technical
    for ended in ("resolved", "reopened", "returned_to_bot"):
        await record(ended)
        assert await transferred_team() is None
        await record("transferred", billing)
        assert await transferred_team() == billing


async def test_the_placement_reads_sentiment_and_intent_among_the_latest_messages(
    pool: asyncpg.Pool,
) -> None:
    """The customer's sentiments and understood intent come from their last
    INTERPRETED_WINDOW messages: a conversation whose recent messages were never interpreted
    is not read back to its first message at every re-ranking (issue 14)."""
    conversation_id = await _queued(pool, "talkative")

    async def write(count: int, sentiment: float | None, intent: str | None) -> None:
        await pool.executemany(
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,"
            " text, sentiment, nlu)"
            " SELECT $1, coalesce(max(seq), 0) + 1, 'in', 'customer', 'webchat', 'hello', $2,"
            " CASE WHEN $3::text IS NULL THEN NULL ELSE jsonb_build_object('intent', $3) END"
            " FROM messages WHERE conversation_id = $1",
            [(conversation_id, sentiment, intent)] * count,
        )

    async def facts() -> queue.PlacementFacts:
        async with pool.acquire() as conn:
            return await queue.placement_facts(conn, conversation_id)

    await write(1, -0.75, "refund")
    assert ((await facts()).sentiments, (await facts()).intent) == ((-0.75,), "refund")
    await write(INTERPRETED_WINDOW, None, None)
    assert ((await facts()).sentiments, (await facts()).intent) == ((), None)
    await write(1, -0.5, "cancel")
    assert ((await facts()).sentiments, (await facts()).intent) == ((-0.5,), "cancel")
