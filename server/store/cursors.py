"""Positions in channels' update streams (Telegram's long polling offset), and where in
Telegram a conversation's replies go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

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


@dataclass(frozen=True, slots=True)
class TelegramPlace:
    """Where a reply goes: the chat, and the forum topic within it (None: none or General)."""

    chat: int
    topic: int | None


def _place(row: Any) -> TelegramPlace | None:
    if row is None:
        return None
    topic = row["topic"]
    return TelegramPlace(int(row["chat"]), int(topic) if topic is not None else None)


async def telegram_place(conn: Conn, message_id: int) -> TelegramPlace | None:
    """Where an outgoing message in a Telegram conversation goes: the chat (and topic) the
    customer last wrote from."""
    row = await conn.fetchrow(
        """SELECT (m2.meta->>'chat_id')::bigint AS chat, (m2.meta->>'topic')::bigint AS topic
             FROM messages m JOIN messages m2 ON m2.conversation_id = m.conversation_id
            WHERE m.id = $1 AND m2.direction = 'in' AND m2.meta ? 'chat_id'
            ORDER BY m2.seq DESC LIMIT 1""",
        message_id,
    )
    return _place(row)


async def telegram_place_of_conversation(conn: Conn, conversation_id: str) -> TelegramPlace | None:
    row = await conn.fetchrow(
        """SELECT (meta->>'chat_id')::bigint AS chat, (meta->>'topic')::bigint AS topic
             FROM messages
            WHERE conversation_id = $1::uuid AND direction = 'in' AND meta ? 'chat_id'
            ORDER BY seq DESC LIMIT 1""",
        conversation_id,
    )
    return _place(row)


class SlackPlace(TypedDict):
    """Where a reply goes in Slack: the channel and thread of the customer's last message;
    with whether it is a survey's rating question (it goes out with buttons) and has files."""

    text: str
    channel: str | None
    thread_ts: str | None
    team: str | None
    question: bool
    files: bool


async def slack_place(conn: Conn, message_id: int) -> SlackPlace | None:
    """The message's text and the Slack channel and thread to post it in, in one read with
    what else a send needs to know first (it was three: each Slack handoff's acknowledgement
    is sent); None when the message does not exist."""
    row = await conn.fetchrow(
        """SELECT m.text, last.meta, coalesce(m.meta->>'csat' = 'asked', false) AS question,
                  EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id) AS files
             FROM messages m
             LEFT JOIN LATERAL (
                 SELECT meta FROM messages i WHERE i.conversation_id = m.conversation_id
                    AND i.direction = 'in' AND i.meta ? 'channel'
                  ORDER BY i.seq DESC LIMIT 1) last ON true
            WHERE m.id = $1""",
        message_id,
    )
    if row is None:
        return None
    meta = row["meta"] or {}
    return SlackPlace(
        text=row["text"],
        channel=meta.get("channel"),
        thread_ts=meta.get("thread_ts"),
        team=meta.get("team"),
        question=bool(row["question"]),
        files=bool(row["files"]),
    )
