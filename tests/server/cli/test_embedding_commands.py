"""`switchboard embeddings backfill`, run as a real process against a real Postgres."""

from __future__ import annotations

import asyncpg

from tests.server.cli.test_main import switchboard


async def test_backfill_embeds_the_customer_messages_without_a_vector_and_only_those(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        contact = await conn.fetchval(
            "INSERT INTO contacts (brand_id, name) SELECT id, 'Old Customer' FROM brands"
            " WHERE slug = 'demo' RETURNING id"
        )
        conversation = await conn.fetchval(
            "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, last_seq,"
            " status) SELECT brand_id, id, $1, 'webchat', 3, 'resolved' FROM inboxes"
            " WHERE address = 'demo-web' RETURNING id",
            contact,
        )
        await conn.execute(
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text)"
            " VALUES ($1, 1, 'in', 'customer', 'webchat', 'where is my parcel'),"
            " ($1, 2, 'out', 'agent', 'console', 'It left the warehouse today.'),"
            " ($1, 3, 'in', 'customer', 'webchat', 'thanks!')",
            conversation,
        )
    first = switchboard(dsn, "embeddings", "backfill")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("embedded 2 messages in ")
    rows = await pool.fetch(
        "SELECT m.seq, e.model FROM message_embeddings e JOIN messages m ON m.id = e.message_id"
        " ORDER BY m.seq"
    )
    assert [(r["seq"], r["model"]) for r in rows] == [
        (1, "wordllama-l2-supercat-256"),
        (3, "wordllama-l2-supercat-256"),
    ]
    again = switchboard(dsn, "embeddings", "backfill")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("embedded 0 messages in ")
