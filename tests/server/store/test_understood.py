"""Interpretations of waiting conversations' messages recorded in one statement
(server/store/understood.py): each written only if its conversation is as it was read."""

from __future__ import annotations

import asyncpg

from nlu.base import Interpretation
from server import store
from server.store import understood


async def _waiting_message(pool: asyncpg.Pool, name: str, language: str | None) -> tuple[str, int]:
    row = await pool.fetchrow(
        """WITH contact AS (
               INSERT INTO contacts (brand_id, name)
               SELECT brand_id, $1 FROM inboxes WHERE address = 'demo-web' RETURNING id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, language, status)
           SELECT i.brand_id, i.id, contact.id, 'webchat', $2, 'queued'
             FROM inboxes i, contact WHERE i.address = 'demo-web' RETURNING id""",
        name,
        language,
    )
    assert row is not None
    conversation_id = str(row["id"])
    async with pool.acquire() as conn:
        message = await store.insert_message(
            conn,
            conversation_id,
            direction="in",
            author_kind="customer",
            channel="webchat",
            text=f"ok {name}",
        )
    assert message is not None
    return conversation_id, message["id"]


def _said(text: str, language: str | None) -> Interpretation:
    return Interpretation(
        text=text, intent="unknown", confidence=0.0, engine="none", language=language
    )


async def test_each_message_is_recorded_only_if_its_conversation_is_as_it_was_read(
    pool: asyncpg.Pool,
) -> None:
    plain = await _waiting_message(pool, "plain", "fr")
    resolved = await _waiting_message(pool, "resolved", None)
    relabelled = await _waiting_message(pool, "relabelled", "en")
    done = await _waiting_message(pool, "done", None)
    await pool.execute("UPDATE conversations SET status = 'resolved' WHERE id = $1", resolved[0])
    await pool.execute("UPDATE conversations SET language = 'de' WHERE id = $1", relabelled[0])
    await pool.execute("UPDATE messages SET nlu = '{}' WHERE id = $1", done[1])
    items = [
        understood.Waiting(plain[1], plain[0], "queued", "fr", _said("ok plain", "es")),
        understood.Waiting(resolved[1], resolved[0], "queued", None, _said("ok", None)),
        understood.Waiting(relabelled[1], relabelled[0], "queued", "en", _said("ok", None)),
        understood.Waiting(done[1], done[0], "queued", None, _said("ok", None)),
    ]
    async with pool.acquire() as conn:
        outcomes = await understood.record(conn, items)
    first, *rest = outcomes
    assert rest == [understood.CHANGED, understood.CHANGED, None]
    assert first is not None
    assert first is not understood.CHANGED
    view, event_id = first
    assert view["id"] == plain[1]
    assert view["nlu"] is not None
    assert view["nlu"]["engine"] == "none"
    event = await pool.fetchrow("SELECT name, data FROM events WHERE id = $1", event_id)
    assert event is not None
    assert event["name"] == "message.interpreted"
    assert event["data"] == {"message_id": plain[1]}
    # The message's language becomes the conversation's; the others are left as they were.
    languages = await pool.fetch(
        "SELECT m.id, m.language AS said, c.language AS kept FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
    )
    assert [(r["said"], r["kept"]) for r in languages] == [
        ("es", "es"),
        (None, None),
        (None, "de"),
        (None, None),
    ]
    untouched = "SELECT count(*) FROM messages WHERE nlu IS NULL"
    assert await pool.fetchval(untouched) == 2
