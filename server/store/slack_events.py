"""Slack events held from their acknowledgement until they are read (migration 0040).

The events endpoint keeps each event a customer's message came in, as Slack posted it, and
answers 200 once it is on disk; the service then reads it (files fetched, the message stored
through the pipeline) and deletes it. Slack's event_id keys it, so a retry is kept once; a
retry after it was read is a message already, stored once by the message's own key.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.store.views import Conn


@dataclass(frozen=True, slots=True)
class HeldEvent:
    event_id: str
    body: bytes


async def hold_many(conn: Conn, events: list[HeldEvent]) -> None:
    """Keep the events in one statement (each once: retries, even within the list, change
    nothing)."""
    await conn.execute(
        "INSERT INTO slack_held_events (event_id, body)"
        " SELECT e, b FROM unnest($1::text[], $2::bytea[]) AS t (e, b)"
        " ON CONFLICT (event_id) DO NOTHING",
        [e.event_id for e in events],
        [e.body for e in events],
    )


async def take_oldest_many(conn: Conn, limit: int) -> list[HeldEvent]:
    """The ``limit`` oldest held events no other node has locked, locked until the caller's
    transaction ends: delete them in it (``forget_many``) once read, and a node that dies
    before that leaves them to the next."""
    rows = await conn.fetch(
        "SELECT event_id, body FROM slack_held_events ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [HeldEvent(str(r["event_id"]), bytes(r["body"])) for r in rows]


async def forget_many(conn: Conn, event_ids: list[str]) -> None:
    await conn.execute("DELETE FROM slack_held_events WHERE event_id = ANY($1::text[])", event_ids)


async def held_count(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM slack_held_events"))
