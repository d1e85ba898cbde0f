"""The console_sessions table (migration 0012): one row per signed-in browser.

A session is alive while its row exists, its version is the agent's session version (a role
change moves that on), it was seen after ``idle_since`` and made after ``made_since``; the
caller computes those two moments from its clock and the timeouts.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from uuid import UUID

import asyncpg

from server.store.agents import ACCOUNT_SQL, AgentAccount, account_of
from server.store.views import Conn, iso

# Live sessions one agent may hold; a new login past it ends the least recently seen.
MAX_PER_AGENT = 50


class SessionRow(TypedDict):
    id: str
    created_at: str
    last_seen_at: str
    user_agent: str
    address: str | None


class SessionHolder(TypedDict):
    account: AgentAccount
    session_id: str
    last_seen_at: datetime


def _row(row: asyncpg.Record) -> SessionRow:
    return SessionRow(
        id=str(row["id"]),
        created_at=iso(row["created_at"]) or "",
        last_seen_at=iso(row["last_seen_at"]) or "",
        user_agent=row["user_agent"],
        address=row["address"],
    )


async def insert(
    conn: Conn,
    *,
    agent_id: UUID,
    secret_hash: bytes,
    version: int,
    now: datetime,
    user_agent: str,
    address: str | None,
    idle_since: datetime,
    made_since: datetime,
) -> str:
    """Store a new session, first clearing the agent's dead ones and, past MAX_PER_AGENT,
    the least recently seen; returns the new session's id."""
    async with conn.transaction():
        await conn.execute(
            """DELETE FROM console_sessions s USING agents a
                WHERE s.agent_id = $1 AND a.id = s.agent_id
                  AND (s.version <> a.session_version OR s.last_seen_at <= $2
                       OR s.created_at <= $3)""",
            agent_id,
            idle_since,
            made_since,
        )
        await conn.execute(
            """DELETE FROM console_sessions WHERE id IN (
                   SELECT id FROM console_sessions WHERE agent_id = $1
                    ORDER BY last_seen_at DESC OFFSET $2)""",
            agent_id,
            MAX_PER_AGENT - 1,
        )
        session_id = await conn.fetchval(
            """INSERT INTO console_sessions
                   (agent_id, secret_hash, version, created_at, last_seen_at, user_agent, address)
               VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id""",
            agent_id,
            secret_hash,
            version,
            now,
            user_agent,
            address,
        )
    return str(session_id)


async def holder(
    conn: Conn, secret_hash: bytes, *, idle_since: datetime, made_since: datetime
) -> SessionHolder | None:
    """The active agent whose live session this is, in one round trip; None otherwise."""
    row = await conn.fetchrow(
        f"""SELECT acc.*, s.id AS session_id, s.last_seen_at AS session_seen
              FROM console_sessions s
              CROSS JOIN LATERAL ({ACCOUNT_SQL}
                   WHERE a.id = s.agent_id AND a.active
                     AND a.session_version = s.version) acc
             WHERE s.secret_hash = $1 AND s.last_seen_at > $2 AND s.created_at > $3""",
        secret_hash,
        idle_since,
        made_since,
    )
    if row is None:
        return None
    return SessionHolder(
        account=account_of(row), session_id=str(row["session_id"]), last_seen_at=row["session_seen"]
    )


async def touch(conn: Conn, session_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE console_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
        UUID(session_id),
        now,
    )


async def of_agent(
    conn: Conn, agent_id: UUID, *, idle_since: datetime, made_since: datetime
) -> list[SessionRow]:
    """The agent's live sessions, the most recently seen first."""
    rows = await conn.fetch(
        """SELECT s.* FROM console_sessions s JOIN agents a ON a.id = s.agent_id
            WHERE s.agent_id = $1 AND s.version = a.session_version
              AND s.last_seen_at > $2 AND s.created_at > $3
            ORDER BY s.last_seen_at DESC""",
        agent_id,
        idle_since,
        made_since,
    )
    return [_row(r) for r in rows]


async def delete(conn: Conn, agent_id: UUID, session_id: UUID) -> bool:
    """End one of the agent's sessions; whether it was theirs and alive."""
    done = await conn.fetchval(
        "DELETE FROM console_sessions WHERE agent_id = $1 AND id = $2 RETURNING id",
        agent_id,
        session_id,
    )
    return done is not None


async def delete_by_secret(conn: Conn, secret_hash: bytes) -> tuple[str, str] | None:
    """End the session with this secret; (agent id, session id) when there was one."""
    row = await conn.fetchrow(
        "DELETE FROM console_sessions WHERE secret_hash = $1 RETURNING agent_id, id", secret_hash
    )
    return (str(row["agent_id"]), str(row["id"])) if row else None


async def delete_others(conn: Conn, agent_id: UUID, keep: UUID | None) -> list[str]:
    """End every session of the agent but ``keep``; the ids ended."""
    rows = await conn.fetch(
        "DELETE FROM console_sessions WHERE agent_id = $1 AND id IS DISTINCT FROM $2 RETURNING id",
        agent_id,
        keep,
    )
    return [str(r["id"]) for r in rows]
