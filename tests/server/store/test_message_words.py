"""A message's search words (migrations 0025 and 0033): stemmed in its language, or its
conversation's when it has none; stemmed again when its text or language changes, and only
then."""

from __future__ import annotations

import asyncpg

from server import store


async def _conversation(pool: asyncpg.Pool, language: str | None) -> str:
    row = await pool.fetchrow(
        """WITH contact AS (
               INSERT INTO contacts (brand_id, name)
               SELECT brand_id, 'Words' FROM inboxes WHERE address = 'demo-web' RETURNING id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, language)
           SELECT i.brand_id, i.id, contact.id, 'webchat', $1
             FROM inboxes i, contact WHERE i.address = 'demo-web' RETURNING id""",
        language,
    )
    assert row is not None
    return str(row["id"])


async def _words(pool: asyncpg.Pool, message_id: int) -> tuple[str, str]:
    """The stored words, and the words the message's text has in its language now."""
    row = await pool.fetchrow(
        """SELECT m.words::text AS stored,
                  search_words(search_config(coalesce(m.language, c.language)), m.text)::text
                    AS fresh
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id = $1""",
        message_id,
    )
    assert row is not None
    return row["stored"], row["fresh"]


async def _insert(pool: asyncpg.Pool, conversation_id: str, text: str) -> int:
    async with pool.acquire() as conn:
        message = await store.insert_message(
            conn,
            conversation_id,
            direction="in",
            author_kind="customer",
            channel="webchat",
            text=text,
        )
    assert message is not None
    return message["id"]


async def test_a_message_without_a_language_takes_its_conversations(pool: asyncpg.Pool) -> None:
    conversation = await _conversation(pool, "fr")
    message = await _insert(pool, conversation, "Mes livraisons sont arrivées abîmées")
    stored, fresh = await _words(pool, message)
    assert stored == fresh
    # French stems, and the same words with the accents folded.
    assert "'livraison'" in stored
    assert "'abîm'" in stored
    assert "'abime'" in stored


async def test_words_follow_a_new_language_and_a_new_text(pool: asyncpg.Pool) -> None:
    conversation = await _conversation(pool, None)
    message = await _insert(pool, conversation, "my orders were delivered")
    before, _ = await _words(pool, message)
    assert "'orders'" in before  # no language yet: the simple configuration

    await pool.execute("UPDATE messages SET language = 'en' WHERE id = $1", message)
    stored, fresh = await _words(pool, message)
    assert stored == fresh
    assert "'order'" in stored

    await pool.execute("UPDATE messages SET text = 'parcels arriving' WHERE id = $1", message)
    stored, fresh = await _words(pool, message)
    assert stored == fresh
    assert "'parcel'" in stored


async def test_writing_the_same_language_again_leaves_the_words(pool: asyncpg.Pool) -> None:
    """The NLU writes every message's language, usually the one it had: nothing to stem.
    (Marked by words set aside: a trigger that ran would have written them back.)"""
    conversation = await _conversation(pool, None)
    message = await _insert(pool, conversation, "hello there")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE messages DISABLE TRIGGER messages_words_changed")
        await conn.execute("UPDATE messages SET words = 'marker' WHERE id = $1", message)
        await conn.execute("ALTER TABLE messages ENABLE TRIGGER messages_words_changed")
    await pool.execute("UPDATE messages SET language = NULL, nlu = '{}' WHERE id = $1", message)
    stored, _ = await _words(pool, message)
    assert stored == "'marker'"
