"""Internal notes: what agents write about a conversation for each other, never sent to the
customer; with the colleagues they mention."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from server.payloads import NoteView
from server.store.views import Conn, iso

_SELECT = """
    SELECT n.id, n.conversation_id, n.text, n.mentions, n.created_at, n.author_id,
           a.name AS author_name
      FROM notes n LEFT JOIN agents a ON a.id = n.author_id
"""


def _view(r: asyncpg.Record) -> NoteView:
    return NoteView(
        id=r["id"],
        conversation_id=str(r["conversation_id"]),
        author={"id": str(r["author_id"]), "name": r["author_name"]} if r["author_id"] else None,
        text=r["text"],
        mentions=[str(m) for m in r["mentions"]],
        created_at=iso(r["created_at"]),
    )


async def add_note(
    conn: Conn, conversation_id: str, author_id: str, text: str, mentions: Sequence[str]
) -> NoteView:
    row = await conn.fetchrow(
        "WITH n AS (INSERT INTO notes (conversation_id, author_id, text, mentions)"
        " VALUES ($1, $2, $3, $4) RETURNING *) " + _SELECT.replace("FROM notes n", "FROM n"),
        UUID(conversation_id),
        UUID(author_id),
        text,
        [UUID(m) for m in mentions],
    )
    assert row is not None  # an INSERT … RETURNING row
    return _view(row)


async def notes_after(
    conn: Conn, conversation_id: str, after_id: int, limit: int
) -> list[NoteView]:
    rows = await conn.fetch(
        _SELECT + " WHERE n.conversation_id = $1 AND n.id > $2 ORDER BY n.id LIMIT $3",
        UUID(conversation_id),
        after_id,
        limit,
    )
    return [_view(r) for r in rows]


async def who_may_see(conn: Conn, conversation_id: str, agent_ids: Sequence[str]) -> set[str]:
    """Which of these active agents may see the conversation (web_console/access.py, as SQL):
    an admin, a supervisor or analyst of its brand, or an agent there whose team it is, or
    who holds it, or when it has no team."""
    rows = await conn.fetch(
        """SELECT a.id FROM agents a, conversations c
            WHERE c.id = $1 AND a.id = ANY($2::uuid[]) AND a.active
              AND (a.role = 'admin'
                   OR EXISTS (SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id
                                 AND r.brand_id = c.brand_id
                                 AND r.role IN ('supervisor', 'analyst'))
                   OR (EXISTS (SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id
                                  AND r.brand_id = c.brand_id AND r.role = 'agent')
                       AND (c.team_id IS NULL OR c.assignee_id = a.id
                            OR EXISTS (SELECT 1 FROM team_members m WHERE m.agent_id = a.id
                                          AND m.team_id = c.team_id))))""",
        UUID(conversation_id),
        [UUID(i) for i in agent_ids],
    )
    return {str(r["id"]) for r in rows}
