"""Activities: what happened to a conversation besides its messages (handed off, assigned,
transferred, resolved…), recorded in the transaction of the change, shown in the transcript."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from server.payloads import ActivityView, Named
from server.store.views import Conn, iso

# Newest last; a conversation has a handful, a long one a few dozen.
PAGE = 500

_SELECT = """
    SELECT v.id, v.conversation_id, v.kind, v.detail, v.created_at,
           v.actor_id, actor.name AS actor_name, v.agent_id, agent.name AS agent_name,
           v.team_id, team.name AS team_name
      FROM activities v
      LEFT JOIN agents actor ON actor.id = v.actor_id
      LEFT JOIN agents agent ON agent.id = v.agent_id
      LEFT JOIN teams team ON team.id = v.team_id
"""


def _named(row: asyncpg.Record, key: str) -> Named | None:
    ident = row[f"{key}_id"]
    return {"id": str(ident), "name": row[f"{key}_name"]} if ident is not None else None


def _view(r: asyncpg.Record) -> ActivityView:
    return ActivityView(
        id=r["id"],
        conversation_id=str(r["conversation_id"]),
        kind=r["kind"],
        actor=_named(r, "actor"),
        agent=_named(r, "agent"),
        team=_named(r, "team"),
        detail=r["detail"],
        created_at=iso(r["created_at"]),
    )


async def record(
    conn: Conn,
    conversation_id: str,
    kind: str,
    *,
    actor_id: str | None = None,
    agent_id: str | None = None,
    team_id: str | None = None,
    detail: str | None = None,
) -> ActivityView:
    """Record it in the caller's transaction; the view goes in the change's event."""
    row = await conn.fetchrow(
        "WITH v AS (INSERT INTO activities (conversation_id, kind, actor_id, agent_id, team_id,"
        " detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *) "
        + _SELECT.replace("FROM activities v", "FROM v"),
        UUID(conversation_id),
        kind,
        UUID(actor_id) if actor_id else None,
        UUID(agent_id) if agent_id else None,
        UUID(team_id) if team_id else None,
        detail,
    )
    assert row is not None  # an INSERT … RETURNING returns its row
    return _view(row)


async def record_many(
    conn: Conn, kind: str, details: Sequence[tuple[str, str | None]]
) -> dict[str, ActivityView]:
    """``record`` of one activity of ``kind`` in each of several conversations at once,
    ``details`` being (conversation id, detail): one statement; the views by conversation."""
    rows = await conn.fetch(
        "WITH v AS (INSERT INTO activities (conversation_id, kind, detail)"
        " SELECT i.conversation_id, $3, i.detail"
        " FROM unnest($1::uuid[], $2::text[]) AS i(conversation_id, detail) RETURNING *) "
        + _SELECT.replace("FROM activities v", "FROM v"),
        [UUID(conversation_id) for conversation_id, _ in details],
        [detail for _, detail in details],
        kind,
    )
    return {str(r["conversation_id"]): _view(r) for r in rows}


async def latest_assignments(conn: Conn, conversation_ids: list[str]) -> dict[str, ActivityView]:
    """Each conversation's latest assignment, in one query: ``claims.claim`` records it in its
    own statement, and the caller, holding the conversation's row, reads it for the event."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (v.conversation_id) * FROM (" + _SELECT + ") v"
        " WHERE v.conversation_id = ANY($1) AND v.kind = 'assigned'"
        " ORDER BY v.conversation_id, v.id DESC",
        [UUID(i) for i in conversation_ids],
    )
    return {str(r["conversation_id"]): _view(r) for r in rows}


async def of_conversation(conn: Conn, conversation_id: str) -> list[ActivityView]:
    """The latest PAGE, oldest first."""
    rows = await conn.fetch(
        _SELECT + " WHERE v.conversation_id = $1 ORDER BY v.id DESC LIMIT $2",
        UUID(conversation_id),
        PAGE,
    )
    return [_view(r) for r in reversed(rows)]
