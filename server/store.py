"""SQL for the core tables. Functions take a connection, so the pipeline owns transactions.

Rows leave this module as plain JSON-ready dicts (the "views" the bus, the widget and the
console share), never as asyncpg records.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, TypedDict
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from channels.base import Sender
from server.errors import NotFound
from server.events import Event

# A plain connection or one borrowed from the pool: every function here takes either.
Conn = asyncpg.Connection | PoolConnectionProxy


class Inbox(TypedDict):
    id: str
    brand_id: str
    channel: str
    address: str
    name: str


class ConversationRow(TypedDict):
    id: str
    inbox_id: str
    contact_id: str
    channel: str
    status: str
    assignee_id: str | None
    last_seq: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def message_view(row: asyncpg.Record) -> dict[str, Any]:
    """A stored message as the widget and console see it."""
    external_id = row["external_id"]
    return {
        "id": row["id"],
        "conversation_id": str(row["conversation_id"]),
        "seq": row["seq"],
        "direction": row["direction"],
        "author_kind": row["author_kind"],
        "author_id": _str(row["author_id"]),
        "channel": row["channel"],
        # external ids are scoped "<author>:<client id>"; clients only know their own part.
        "client_id": external_id.split(":", 1)[-1] if external_id else None,
        "text": row["text"],
        "created_at": _iso(row["created_at"]),
    }


_CONVERSATION_VIEW_SQL = """
    SELECT c.id, c.inbox_id, c.contact_id, c.channel, c.status, c.priority, c.assignee_id,
           c.last_seq, c.last_message_at, c.created_at, c.updated_at,
           ct.name AS contact_name, ct.email AS contact_email, a.name AS assignee_name,
           (SELECT m.text FROM messages m
             WHERE m.conversation_id = c.id AND m.author_kind = 'customer'
             ORDER BY m.seq DESC LIMIT 1) AS preview
      FROM conversations c
      JOIN contacts ct ON ct.id = c.contact_id
      LEFT JOIN agents a ON a.id = c.assignee_id
"""


def conversation_view(row: asyncpg.Record) -> dict[str, Any]:
    """A conversation as a console list item; the preview is what the customer said last."""
    preview = row["preview"]
    return {
        "id": str(row["id"]),
        "inbox_id": str(row["inbox_id"]),
        "contact": {
            "id": str(row["contact_id"]),
            "name": row["contact_name"],
            "email": row["contact_email"],
        },
        "channel": row["channel"],
        "status": row["status"],
        "priority": row["priority"],
        "assignee": (
            {"id": str(row["assignee_id"]), "name": row["assignee_name"]}
            if row["assignee_id"]
            else None
        ),
        "last_seq": row["last_seq"],
        "last_message_at": _iso(row["last_message_at"]),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "preview": preview[:200] if preview else None,
    }


def _conversation_row(row: asyncpg.Record) -> ConversationRow:
    return ConversationRow(
        id=str(row["id"]),
        inbox_id=str(row["inbox_id"]),
        contact_id=str(row["contact_id"]),
        channel=row["channel"],
        status=row["status"],
        assignee_id=_str(row["assignee_id"]),
        last_seq=row["last_seq"],
    )


async def inbox_by_address(conn: Conn, channel: str, address: str) -> Inbox:
    row = await conn.fetchrow(
        "SELECT id, brand_id, channel, address, name FROM inboxes"
        " WHERE channel = $1 AND address = $2",
        channel,
        address,
    )
    if row is None:
        raise NotFound(f"no {channel} inbox {address!r}")
    return Inbox(
        id=str(row["id"]),
        brand_id=str(row["brand_id"]),
        channel=row["channel"],
        address=row["address"],
        name=row["name"],
    )


async def resolve_contact(conn: Conn, brand_id: str, channel: str, sender: Sender) -> str:
    """The contact behind a channel identity, created (or matched by email) on first contact."""
    found = await conn.fetchval(
        "SELECT contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2",
        channel,
        sender.external_id,
    )
    if found is not None:
        return str(found)
    # A savepoint, so losing a race with another first message only undoes this part.
    try:
        async with conn.transaction():
            contact_id = None
            if sender.email:
                contact_id = await conn.fetchval(
                    "SELECT id FROM contacts WHERE brand_id = $1 AND lower(email) = lower($2)"
                    " ORDER BY created_at LIMIT 1",
                    brand_id,
                    sender.email,
                )
            if contact_id is None:
                contact_id = await conn.fetchval(
                    "INSERT INTO contacts (brand_id, name, email) VALUES ($1, $2, $3) RETURNING id",
                    brand_id,
                    sender.name,
                    sender.email,
                )
            await conn.execute(
                "INSERT INTO contact_identities (contact_id, channel, external_id, profile)"
                " VALUES ($1, $2, $3, $4)",
                contact_id,
                channel,
                sender.external_id,
                {"name": sender.name, "email": sender.email},
            )
            return str(contact_id)
    except asyncpg.UniqueViolationError:
        winner = await conn.fetchval(
            "SELECT contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2",
            channel,
            sender.external_id,
        )
        return str(winner)


class _Missing(Enum):
    NO_OPEN_CONVERSATION = "no open conversation"


NO_OPEN_CONVERSATION = _Missing.NO_OPEN_CONVERSATION


async def append_to_open_conversation(
    conn: Conn, inbox: Inbox, sender_external_id: str, *, external_id: str, text: str
) -> tuple[ConversationRow, dict[str, Any] | None] | _Missing:
    """The hot path, in one statement: a known sender writes into their open conversation.

    The UPDATE takes the conversation's row lock and the next seq; the INSERT stores the
    customer's message with it. Returns the conversation (as it was before this message) and
    the message, or None for the message when (channel, external_id) is already stored (the
    caller rolls back). NO_OPEN_CONVERSATION when the sender is new or has no open
    conversation in the inbox: the caller resolves the contact and opens one.
    """
    row = await conn.fetchrow(
        """WITH conv AS (
               UPDATE conversations
                  SET last_seq = last_seq + 1, last_message_at = now(), updated_at = now()
                WHERE inbox_id = $1 AND status <> 'resolved'
                  AND contact_id = (SELECT contact_id FROM contact_identities
                                     WHERE channel = $2 AND external_id = $3)
            RETURNING id, inbox_id, contact_id, channel, status, assignee_id, last_seq),
           msg AS (
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     external_id, text)
               SELECT id, last_seq, 'in', 'customer', $2, $4, $5 FROM conv
               ON CONFLICT (channel, external_id) DO NOTHING
            RETURNING *)
           SELECT conv.id AS c_id, conv.inbox_id AS c_inbox_id, conv.contact_id AS c_contact_id,
                  conv.channel AS c_channel, conv.status AS c_status,
                  conv.assignee_id AS c_assignee_id, conv.last_seq AS c_last_seq, msg.*
             FROM conv LEFT JOIN msg ON true""",
        UUID(inbox["id"]),
        inbox["channel"],
        sender_external_id,
        external_id,
        text,
    )
    if row is None:
        return NO_OPEN_CONVERSATION
    conversation = ConversationRow(
        id=str(row["c_id"]),
        inbox_id=str(row["c_inbox_id"]),
        contact_id=str(row["c_contact_id"]),
        channel=row["c_channel"],
        status=row["c_status"],
        assignee_id=_str(row["c_assignee_id"]),
        last_seq=row["c_last_seq"],
    )
    return conversation, message_view(row) if row["id"] is not None else None


async def lock_open_conversation(
    conn: Conn, inbox: Inbox, contact_id: str
) -> tuple[ConversationRow, bool]:
    """The contact's open conversation in the inbox, row-locked; opened if there is none.

    Returns the row and whether it was opened now. The lock serialises writers of one
    conversation, which keeps its message sequence gap-free.
    """
    while True:
        row = await conn.fetchrow(
            "SELECT * FROM conversations WHERE inbox_id = $1 AND contact_id = $2"
            " AND status <> 'resolved' FOR UPDATE",
            UUID(inbox["id"]),
            UUID(contact_id),
        )
        if row is not None:
            return _conversation_row(row), False
        row = await conn.fetchrow(
            "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel)"
            " VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (inbox_id, contact_id) WHERE status <> 'resolved' DO NOTHING"
            " RETURNING *",
            UUID(inbox["brand_id"]),
            UUID(inbox["id"]),
            UUID(contact_id),
            inbox["channel"],
        )
        if row is not None:
            return _conversation_row(row), True
        # Another transaction opened it first; loop to lock theirs.


async def lock_conversation(conn: Conn, conversation_id: str) -> ConversationRow:
    row = await conn.fetchrow(
        "SELECT * FROM conversations WHERE id = $1 FOR UPDATE", _uuid(conversation_id)
    )
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return _conversation_row(row)


async def conversation_row(conn: Conn, conversation_id: str) -> ConversationRow:
    row = await conn.fetchrow("SELECT * FROM conversations WHERE id = $1", _uuid(conversation_id))
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return _conversation_row(row)


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"no conversation {value!r}") from None


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
                                 channel, external_id, text)
           SELECT $1, next.last_seq, $2, $3, $4, $5, $6, $7 FROM next
           ON CONFLICT (channel, external_id) DO NOTHING RETURNING *""",
        UUID(conversation_id),
        direction,
        author_kind,
        UUID(author_id) if author_id else None,
        channel,
        external_id,
        text,
    )
    return message_view(row) if row is not None else None


async def message_by_external_id(
    conn: Conn, channel: str, external_id: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT * FROM messages WHERE channel = $1 AND external_id = $2", channel, external_id
    )
    return message_view(row) if row is not None else None


async def set_status(
    conn: Conn,
    conversation_id: str,
    status: str,
    assignee_id: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE conversations SET status = $2, assignee_id = $3, updated_at = now(),"
        " resolved_at = CASE WHEN $2 = 'resolved' THEN now() END WHERE id = $1",
        UUID(conversation_id),
        status,
        UUID(assignee_id) if assignee_id else None,
    )


async def conversation(conn: Conn, conversation_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(_CONVERSATION_VIEW_SQL + " WHERE c.id = $1", _uuid(conversation_id))
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation_view(row)


async def conversations(conn: Conn, statuses: list[str], limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        _CONVERSATION_VIEW_SQL + " WHERE c.status = ANY($1::text[])"
        " ORDER BY c.last_message_at DESC NULLS LAST LIMIT $2",
        statuses,
        limit,
    )
    return [conversation_view(r) for r in rows]


async def messages_after(
    conn: Conn, conversation_id: str, after_seq: int, limit: int = 500
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        _uuid(conversation_id),
        after_seq,
        limit,
    )
    return [message_view(r) for r in rows]


async def latest_conversation_id(conn: Conn, inbox_id: str, contact_id: str) -> str | None:
    """The contact's most recent conversation in the inbox (open first), if any."""
    value = await conn.fetchval(
        "SELECT id FROM conversations WHERE inbox_id = $1 AND contact_id = $2"
        " ORDER BY (status <> 'resolved') DESC, created_at DESC LIMIT 1",
        UUID(inbox_id),
        UUID(contact_id),
    )
    return _str(value)


async def store_events(conn: Conn, events: list[Event]) -> list[Event]:
    """Write events in the current transaction (one statement); return them with their ids."""
    ids = await conn.fetch(
        """INSERT INTO events (name, conversation_id, data)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::jsonb[])
           RETURNING id""",
        [e.name for e in events],
        [UUID(e.conversation_id) for e in events],
        [e.data for e in events],
    )
    # Rows are inserted in unnest's order, so ascending ids match the input order (sorted
    # because RETURNING itself promises no order).
    return [
        Event(name=e.name, conversation_id=e.conversation_id, data=e.data, id=event_id)
        for e, event_id in zip(events, sorted(r["id"] for r in ids), strict=True)
    ]


async def events_after(conn: Conn, last_id: int, limit: int) -> list[Event]:
    rows = await conn.fetch(
        "SELECT id, name, conversation_id, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        last_id,
        limit,
    )
    return [
        Event(name=r["name"], conversation_id=str(r["conversation_id"]), data=r["data"], id=r["id"])
        for r in rows
    ]


async def last_event_id(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM events"))
