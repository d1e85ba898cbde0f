"""Migration 0042: a conversation marks its hour for the roll-ups' refold only when that hour
may be folded already (created before the hour its writing transaction started in)."""

from __future__ import annotations

import asyncpg

from server.services import demo
from server.store.views import Conn

MARKS = "SELECT brand_id, hour FROM analytics_stale"


async def _opened(conn: Conn, created: str) -> asyncpg.Record:
    """A new contact's conversation in the demo brand's first inbox, created at ``created``
    (SQL), with no marks left from before it."""
    await conn.execute("TRUNCATE analytics_stale")
    row = await conn.fetchrow(
        """WITH k AS (INSERT INTO contacts (brand_id, name)
                      SELECT id, 'Marks' FROM brands WHERE slug = $1 RETURNING id, brand_id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, created_at)
           SELECT k.brand_id, i.id, k.id, i.channel, """
        + created
        + """ FROM k JOIN inboxes i ON i.brand_id = k.brand_id
            ORDER BY i.id LIMIT 1
           RETURNING id, brand_id, date_trunc('hour', created_at, 'UTC') AS hour""",
        demo.BRAND_SLUG,
    )
    assert row is not None
    return row


async def _handed_over(conn: Conn, conversation: object) -> None:
    """What a handoff and its placing change: status, reason, band, language, a fact."""
    await conn.execute(
        "UPDATE conversations SET status = 'queued', handoff_reason = 'no_bot',"
        " handoff_at = now(), band = 'high', language = 'en' WHERE id = $1",
        conversation,
    )
    await conn.execute(
        "UPDATE conversation_facts SET handed_at = now() WHERE conversation_id = $1",
        conversation,
    )


async def test_a_live_conversation_opened_and_handed_over_marks_nothing(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        opened = await _opened(conn, "now()")
        await _handed_over(conn, opened["id"])
        assert await conn.fetch(MARKS) == []


async def test_a_conversation_from_an_earlier_hour_still_marks_its_hour(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        opened = await _opened(conn, "now() - interval '3 hours'")
        on_insert = len(await conn.fetch(MARKS))
        await _handed_over(conn, opened["id"])
        marks = await conn.fetch(MARKS)
    assert on_insert == 1
    # Its own hour, on insert, on the change of its keys and status, and by its fact.
    assert len(marks) >= 3
    assert {(m["brand_id"], m["hour"]) for m in marks} == {(opened["brand_id"], opened["hour"])}
