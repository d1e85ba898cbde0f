"""The event log consoles resume from: events in id order."""

from __future__ import annotations

from uuid import UUID

from server.events import Event
from server.store.views import Conn


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
