"""Messages: append with the next seq, find by channel id, read after a seq."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.store.views import Conn, message_view, parse_uuid


async def insert_message(
    conn: Conn,
    conversation_id: str,
    *,
    direction: str,
    author_kind: str,
    channel: str,
    text: str,
    external_id: str | None = None,
    author_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Append a message with the next seq; None when (channel, external_id) is already stored.

    One statement bumps the conversation's seq and inserts the row (one round trip on the hot
    path); on a conflict the caller rolls the transaction back, so no seq is skipped.
    """
    row = await conn.fetchrow(
        """WITH next AS (
               UPDATE conversations SET last_seq = last_seq + 1, last_message_at = now(),
                      updated_at = now()
                WHERE id = $1 RETURNING last_seq)
           INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id,
                                 channel, external_id, text, meta)
           SELECT $1, next.last_seq, $2, $3, $4, $5, $6, $7, $8 FROM next
           ON CONFLICT (channel, external_id) DO NOTHING RETURNING *""",
        UUID(conversation_id),
        direction,
        author_kind,
        UUID(author_id) if author_id else None,
        channel,
        external_id,
        text,
        meta or {},
    )
    return message_view(row) if row is not None else None


async def message_by_external_id(
    conn: Conn, channel: str, external_id: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT * FROM messages WHERE channel = $1 AND external_id = $2", channel, external_id
    )
    return message_view(row) if row is not None else None


async def messages_after(
    conn: Conn, conversation_id: str, after_seq: int, limit: int = 500
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        parse_uuid(conversation_id),
        after_seq,
        limit,
    )
    return [message_view(r) for r in rows]
