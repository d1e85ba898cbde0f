"""The event log consoles resume from: events in id order, and what a resume may lack.

Why a resume needs more than "the ids above mine" (issue 21). Event ids come from one
sequence when the INSERT runs; transactions commit later, in their own order. Transaction A
takes id 43, B takes 44 and commits, a console sees 44; A commits. A console that resumes
"after 44" never gets 43. The chaos run counted it: consoles missing messages after a node
was killed or Redis went away.

The fix, and why it cannot skip. Each event row records ``tx``, its transaction, and
``snapshot``, the snapshot its INSERT ran in (which transactions had committed by then;
migration 0035). A resume from L reads the ids above L and, below it, the events of
transactions not visible in L's snapshot, but L's own (``events_since``). What it leaves out
had committed before L's INSERT, or is L's transaction: all of it committed by the time L
did. Call L a *safe cursor* for a client that holds every event committed by the time L
committed: the resume brings it everything else. The second part is small: the transactions
in flight when L was written (all at or above the snapshot's xmin, which bounds the index
scan). Should L's row be gone (retention, an erasure), the nearest row below it serves: its
INSERT took its id before L's, so its snapshot too was taken before L committed.

Which cursors are safe. Not the highest id a console saw live: another node may publish an
older event after it (its commit raced), or Redis may have dropped it. The server vouches for
these, each the id of an event that had committed when the server read what it sends with
it: ``last_event_id`` of a REST read (read first; the state read after holds every event
committed by then), of a replay's ``welcome`` (the newest id when the replay began: every
event committed by then is in the replay, or was held), of a ``checkpoint`` (the same while
connected, web_console/hub.py), and a ``resync``'s ``replayed_through`` (an id the replay sent,
so one committed when it began). A client resumes from the newest of these and merges by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast
from uuid import UUID

import asyncpg

from server.events import MESSAGE_CREATED, MESSAGE_INTERPRETED, Event
from server.payloads import EventData
from server.store.views import Conn, message_view

# A stored message.created or message.interpreted event refers to its message
# ({"message_id", ...}) rather than copying it; reading the log joins the message back in, so
# a replayed event has the same shape as the live one ({"message", ...}), with the message as
# it reads now.
BY_REFERENCE = frozenset({MESSAGE_CREATED, MESSAGE_INTERPRETED})

# The ids a client that holds $1 may lack, up to $2, above $3 (a page's start): the ids above
# $1, and below it those of transactions not visible in $1's snapshot (see the module's text),
# but for $1's own. Two index scans (the id's and events_tx) joined, never the whole log.
_SINCE = """
    WITH h AS (SELECT snapshot, CASE WHEN id = $1::bigint THEN tx END AS own FROM events
                WHERE id <= $1::bigint ORDER BY id DESC LIMIT 1)
    SELECT {columns} FROM (
        (SELECT id FROM events
          WHERE tx >= pg_snapshot_xmin((SELECT snapshot FROM h))
            AND NOT pg_visible_in_snapshot(tx, (SELECT snapshot FROM h))
            AND tx IS DISTINCT FROM (SELECT own FROM h)
            AND id <= $1::bigint AND id > $3::bigint)
        UNION ALL
        (SELECT id FROM events
          WHERE id > greatest($1::bigint, $3::bigint) AND id <= $2::bigint
          ORDER BY id LIMIT $4)
        ORDER BY id LIMIT $4
    ) AS late_or_after JOIN events USING (id) ORDER BY id
"""


def _stored_data(event: Event) -> EventData:
    if event.name not in BY_REFERENCE:
        return event.data
    data = event.data.copy()
    data["message_id"] = data.pop("message")["id"]
    return data


async def store_events(conn: Conn, events: list[Event]) -> list[Event]:
    """Write events in the current transaction (one statement); return them with their ids.
    Their ``tx`` and ``snapshot`` come from the columns' defaults (migration 0035)."""
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
    """The events above an id, in id order (the gap filler's read; a resume uses
    ``events_since``, which also has the late ones)."""
    rows = await conn.fetch(
        "SELECT id, name, conversation_id, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        last_id,
        limit,
    )
    return await _events(conn, rows)


async def events_since(
    conn: Conn, last_id: int, through: int, *, after: int = 0, limit: int = 500
) -> list[Event]:
    """What a client holding the safe cursor ``last_id`` may lack, up to ``through``, in id
    order: the events above it and the late ones below it. ``after`` pages (the last id of
    the page before)."""
    rows = await conn.fetch(
        _SINCE.format(columns="id, name, conversation_id, data"), last_id, through, after, limit
    )
    return await _events(conn, rows)


async def event_ids_since(conn: Conn, last_id: int, through: int, limit: int) -> list[int]:
    """The ids ``events_since`` would give (at most ``limit``), without the events."""
    rows = await conn.fetch(_SINCE.format(columns="id"), last_id, through, 0, limit)
    return [r["id"] for r in rows]


async def events_by_id(conn: Conn, ids: Sequence[int]) -> list[Event]:
    """These events (those still stored), in id order."""
    rows = await conn.fetch(
        "SELECT id, name, conversation_id, data FROM events WHERE id = ANY($1::bigint[])"
        " ORDER BY id",
        list(ids),
    )
    return await _events(conn, rows)


async def _events(conn: Conn, rows: Sequence[asyncpg.Record]) -> list[Event]:
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
    """The newest event's id: a safe cursor for a state read after it (module's text)."""
    return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM events"))
