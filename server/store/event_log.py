"""The event log consoles resume from: events in id order."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from server.events import MESSAGE_CREATED, MESSAGE_INTERPRETED, Event
from server.payloads import EventData
from server.store.views import Conn, message_view

# A stored message.created or message.interpreted event refers to its message
# ({"message_id", ...}) rather than copying it; reading the log joins the message back in, so
# a replayed event has the same shape as the live one ({"message", ...}), with the message as
# it reads now.
BY_REFERENCE = frozenset({MESSAGE_CREATED, MESSAGE_INTERPRETED})


def _stored_data(event: Event) -> EventData:
    if event.name not in BY_REFERENCE:
        return event.data
    data = event.data.copy()
    data["message_id"] = data.pop("message")["id"]
    return data


async def store_events(conn: Conn, events: list[Event]) -> list[Event]:
    """Write events in the current transaction (one statement); return them with their ids."""
    ids = await conn.fetch(
        """INSERT INTO events (name, conversation_id, data)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::jsonb[])
           RETURNING id""",
        [e.name for e in events],
        [UUID(e.conversation_id) for e in events],
        [_stored_data(e) for e in events],
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
    # Events stored before message.interpreted was kept by reference carry the message itself.
    referring = [r for r in rows if r["name"] in BY_REFERENCE and "message_id" in r["data"]]
    message_ids = [r["data"]["message_id"] for r in referring]
    rows_of_messages = (
        await conn.fetch("SELECT * FROM messages WHERE id = ANY($1)", message_ids)
        if message_ids
        else []
    )
    messages = {m["id"]: message_view(m) for m in rows_of_messages}
    found = []
    for r in rows:
        # Written by store_events (through _stored_data) from a typed payload.
        data = cast(EventData, dict(r["data"]))
        if r["name"] in BY_REFERENCE and "message_id" in data:
            data["message"] = messages[data.pop("message_id")]
        found.append(
            Event(name=r["name"], conversation_id=str(r["conversation_id"]), data=data, id=r["id"])
        )
    return found


async def last_event_id(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM events"))
