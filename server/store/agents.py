"""The agents table: accounts the console signs in with (hashing is the caller's business)."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

import asyncpg

from server.errors import Conflict
from server.store.views import Conn


class AgentAccount(TypedDict):
    id: str
    email: str
    name: str
    role: str
    password_hash: str
    session_version: int


def _account(row: asyncpg.Record) -> AgentAccount:
    return AgentAccount(
        id=str(row["id"]),
        email=row["email"],
        name=row["name"],
        role=row["role"],
        password_hash=row["password_hash"],
        session_version=row["session_version"],
    )


async def insert_agent(
    conn: Conn, *, email: str, name: str, password_hash: str, role: str
) -> AgentAccount:
    """Store a new agent; Conflict when the email is taken."""
    try:
        row = await conn.fetchrow(
            "INSERT INTO agents (email, name, password_hash, role) VALUES ($1, $2, $3, $4)"
            " RETURNING *",
            email,
            name,
            password_hash,
            role,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"an agent with email {email} exists") from None
    assert row is not None
    return _account(row)


async def active_agent_by_email(conn: Conn, email: str) -> AgentAccount | None:
    row = await conn.fetchrow(
        "SELECT * FROM agents WHERE lower(email) = lower($1) AND active", email
    )
    return _account(row) if row else None


async def end_sessions(conn: Conn, agent_id: UUID) -> None:
    """Every console cookie made before now stops working (see migration 0008)."""
    await conn.execute(
        "UPDATE agents SET session_version = session_version + 1 WHERE id = $1", agent_id
    )


async def active_agent(conn: Conn, agent_id: UUID) -> AgentAccount | None:
    row = await conn.fetchrow("SELECT * FROM agents WHERE id = $1 AND active", agent_id)
    return _account(row) if row else None
