"""Messages: append with the next seq, find by channel id, read after a seq."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from channels.base import Attachment
from server.payloads import MessageView
from server.store.views import Conn, message_view, parse_uuid

# Channels whose outgoing messages are delivered from the outbox (the deliveries table) by a
# worker, rather than pushed to live sockets.
OUTBOX_CHANNELS = ["email", "telegram", "slack"]


# A message with its delivery's state, for the channels delivered from the outbox.
# With the author's name: the widget shows the customer who wrote (an agent's name).
MESSAGE_SQL = """SELECT m.*, d.status AS delivery_status, d.detail AS delivery_detail,
                        (SELECT a.name FROM agents a WHERE a.id = m.author_id) AS author_name
                   FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id"""


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
    language: str | None = None,
) -> MessageView | None:
    """Append a message with the next seq; None when (channel, external_id) is already stored.
    ``language``: a customer's message's, when it was detected before it is stored
    (``Incoming.language``).

    One statement bumps the conversation's seq and inserts the row (one round trip on the hot
    path); on a conflict the caller rolls the transaction back, so no seq is skipped.
    """
    row = await conn.fetchrow(
        """WITH next AS (
               UPDATE conversations SET last_seq = last_seq + 1, last_message_at = now(),
                      updated_at = now()
                WHERE id = $1 RETURNING last_seq, channel),
           msg AS (
               INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id,
                                     channel, external_id, text, meta, language)
               SELECT $1, next.last_seq, $2, $3, $4, $5, $6, $7, $8, $10 FROM next
               ON CONFLICT (channel, external_id) DO NOTHING RETURNING *),
           outbox AS (
               INSERT INTO deliveries (message_id, channel)
               SELECT msg.id, next.channel FROM msg, next
                WHERE msg.direction = 'out' AND next.channel = ANY($9::text[])
            RETURNING status)
           SELECT msg.*, (SELECT status FROM outbox) AS delivery_status,
                  (SELECT a.name FROM agents a WHERE a.id = msg.author_id) AS author_name
             FROM msg""",
        UUID(conversation_id),
        direction,
        author_kind,
        UUID(author_id) if author_id else None,
        channel,
        external_id,
        text,
        meta or {},
        OUTBOX_CHANNELS,
        language,
    )
    return message_view(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A customer's message to store in its conversation (``insert_incoming``)."""

    conversation_id: str
    channel: str
    external_id: str
    text: str
    meta: dict[str, Any]
    # The language detected before it is stored, if it was: its search words are stemmed in
    # it from the insert, and writing the same language with its interpretation later leaves
    # them (and the words' index) alone (migration 0033's trigger).
    language: str | None = None


async def insert_incoming(conn: Conn, incoming: list[Incoming]) -> list[MessageView] | None:
    """``insert_message`` of a customer's message into each of several conversations (each
    once) in one statement: the seqs bumped and the rows inserted, in ``incoming``'s order.
    None when one of them was stored before (its (channel, external id)): the caller rolls
    the transaction back, so no seq is skipped."""
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],
                                    $5::jsonb[], $6::text[]) WITH ORDINALITY
                   AS i(conversation_id, channel, external_id, text, meta, language, n)),
           next AS (
               UPDATE conversations c SET last_seq = c.last_seq + 1, last_message_at = now(),
                      updated_at = now()
                 FROM input i
                WHERE c.id = i.conversation_id RETURNING c.id, c.last_seq)
           INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                 external_id, text, meta, language)
           SELECT i.conversation_id, next.last_seq, 'in', 'customer', i.channel,
                  i.external_id, i.text, i.meta, i.language
             FROM input i JOIN next ON next.id = i.conversation_id
            ORDER BY i.n
           ON CONFLICT (channel, external_id) DO NOTHING RETURNING *""",
        [UUID(m.conversation_id) for m in incoming],
        [m.channel for m in incoming],
        [m.external_id for m in incoming],
        [m.text for m in incoming],
        [m.meta for m in incoming],
        [m.language for m in incoming],
    )
    if len(rows) < len(incoming):
        return None
    by_conversation = {str(r["conversation_id"]): message_view(r) for r in rows}
    return [by_conversation[m.conversation_id] for m in incoming]


async def insert_outgoing(
    conn: Conn, author_kind: str, said: list[tuple[str, str]]
) -> list[MessageView]:
    """``insert_message`` of an outgoing message (no external id, no author, no meta) into
    each of several conversations at once, ``said`` being (conversation id, text) with each
    conversation once: one statement bumps their seqs, inserts the rows and their deliveries.
    The messages in ``said``'s order."""
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY
                   AS i(conversation_id, text, n)),
           next AS (
               UPDATE conversations c SET last_seq = c.last_seq + 1, last_message_at = now(),
                      updated_at = now()
                 FROM input i
                WHERE c.id = i.conversation_id RETURNING c.id, c.last_seq, c.channel),
           msg AS (
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     text, meta)
               SELECT i.conversation_id, next.last_seq, 'out', $3, next.channel, i.text,
                      '{}'::jsonb
                 FROM input i JOIN next ON next.id = i.conversation_id
                ORDER BY i.n RETURNING *),
           outbox AS (
               INSERT INTO deliveries (message_id, channel)
               SELECT msg.id, msg.channel FROM msg WHERE msg.channel = ANY($4::text[])
            RETURNING message_id, status)
           SELECT msg.*, o.status AS delivery_status, NULL::text AS author_name
             FROM msg LEFT JOIN outbox o ON o.message_id = msg.id""",
        [UUID(conversation_id) for conversation_id, _ in said],
        [text for _, text in said],
        author_kind,
        OUTBOX_CHANNELS,
    )
    by_conversation = {str(r["conversation_id"]): message_view(r) for r in rows}
    return [by_conversation[conversation_id] for conversation_id, _ in said]


async def insert_attachments(
    conn: Conn, message_id: int, attachments: tuple[Attachment, ...]
) -> None:
    await conn.executemany(
        "INSERT INTO attachments (message_id, position, filename, content_type, size, content)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (message_id, n, a.filename, a.content_type, len(a.content), a.content)
            for n, a in enumerate(attachments)
        ],
    )


async def attachment(
    conn: Conn,
    message_id: int,
    position: int,
    *,
    contact_id: str | None = None,
    inbox_id: str | None = None,
) -> tuple[str, str, bytes] | None:
    """(file name, content type, bytes) of one attachment; with ``contact_id`` and
    ``inbox_id``, only of a message in that contact's conversations in that inbox."""
    row = await conn.fetchrow(
        """SELECT a.filename, a.content_type, a.content FROM attachments a
             JOIN messages m ON m.id = a.message_id
             JOIN conversations c ON c.id = m.conversation_id
            WHERE a.message_id = $1 AND a.position = $2
              AND ($3::uuid IS NULL OR (c.contact_id = $3::uuid AND c.inbox_id = $4::uuid))""",
        message_id,
        position,
        UUID(contact_id) if contact_id else None,
        UUID(inbox_id) if inbox_id else None,
    )
    if row is None:
        return None
    return row["filename"], row["content_type"], bytes(row["content"])


async def attachments_of(conn: Conn, message_id: int) -> tuple[Attachment, ...]:
    """A message's files, in order (what goes out with an agent's reply)."""
    rows = await conn.fetch(
        "SELECT filename, content_type, content FROM attachments WHERE message_id = $1"
        " ORDER BY position",
        message_id,
    )
    return tuple(Attachment(r["filename"], r["content_type"], bytes(r["content"])) for r in rows)


async def message_by_external_id(conn: Conn, channel: str, external_id: str) -> MessageView | None:
    row = await conn.fetchrow(
        MESSAGE_SQL + " WHERE m.channel = $1 AND m.external_id = $2", channel, external_id
    )
    return message_view(row) if row is not None else None


async def messages_after(
    conn: Conn, conversation_id: str, after_seq: int, limit: int = 500
) -> list[MessageView]:
    rows = await conn.fetch(
        MESSAGE_SQL + " WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3",
        parse_uuid(conversation_id),
        after_seq,
        limit,
    )
    return [message_view(r) for r in rows]


async def earlier_messages(
    conn: Conn, inbox_id: str, contact_id: str, excluding: str | None, limit: int
) -> list[MessageView]:
    """The contact's latest ``limit`` messages in the inbox outside conversation
    ``excluding``, oldest first (what a widget shows above the current conversation)."""
    rows = await conn.fetch(
        "SELECT * FROM (" + MESSAGE_SQL + " JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.inbox_id = $1 AND c.contact_id = $2"
        " AND ($3::uuid IS NULL OR c.id <> $3::uuid)"
        " ORDER BY m.id DESC LIMIT $4) earlier ORDER BY id",
        UUID(inbox_id),
        UUID(contact_id),
        parse_uuid(excluding) if excluding else None,
        limit,
    )
    return [message_view(r) for r in rows]


async def message_text(conn: Conn, message_id: int) -> str | None:
    """A message's text; None when the message does not exist."""
    text: str | None = await conn.fetchval("SELECT text FROM messages WHERE id = $1", message_id)
    return text


async def conversation_of_message(conn: Conn, message_id: int) -> str | None:
    found = await conn.fetchval("SELECT conversation_id FROM messages WHERE id = $1", message_id)
    return None if found is None else str(found)
