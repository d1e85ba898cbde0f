"""Positions in channels' update streams (Telegram's long polling offset)."""

from __future__ import annotations

from server.store.views import Conn


async def position(conn: Conn, channel: str, account: str) -> int | None:
    value = await conn.fetchval(
        "SELECT position FROM channel_cursors WHERE channel = $1 AND account = $2",
        channel,
        account,
    )
    return int(value) if value is not None else None


async def advance(conn: Conn, channel: str, account: str, to: int) -> None:
    """Move forward only: a slower node's older position never wins."""
    await conn.execute(
        """INSERT INTO channel_cursors (channel, account, position) VALUES ($1, $2, $3)
           ON CONFLICT (channel, account) DO UPDATE
              SET position = greatest(channel_cursors.position, EXCLUDED.position),
                  updated_at = now()""",
        channel,
        account,
        to,
    )


async def telegram_chat(conn: Conn, message_id: int) -> int | None:
    """The chat an outgoing message in a Telegram conversation goes to: the chat the
    customer last wrote from."""
    value = await conn.fetchval(
        """SELECT (m2.meta->>'chat_id')::bigint FROM messages m
             JOIN messages m2 ON m2.conversation_id = m.conversation_id
            WHERE m.id = $1 AND m2.direction = 'in' AND m2.meta ? 'chat_id'
            ORDER BY m2.seq DESC LIMIT 1""",
        message_id,
    )
    return int(value) if value is not None else None


async def telegram_chat_of_conversation(conn: Conn, conversation_id: str) -> int | None:
    value = await conn.fetchval(
        """SELECT (meta->>'chat_id')::bigint FROM messages
            WHERE conversation_id = $1::uuid AND direction = 'in' AND meta ? 'chat_id'
            ORDER BY seq DESC LIMIT 1""",
        conversation_id,
    )
    return int(value) if value is not None else None
