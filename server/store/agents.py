"""The agents table: accounts the console signs in with (hashing is the caller's business)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict
from uuid import UUID

import asyncpg

from server.errors import Conflict
from server.store.views import Conn


class AgentAccount(TypedDict):
    id: str
    email: str
    name: str
    admin: bool
    # brand id -> roles held there (migration 0009)
    roles: dict[str, list[str]]
    team_ids: list[str]
    password_hash: str
    session_version: int


# An account with what it may reach, in one round trip: every request of the console reads it.
ACCOUNT_SQL = """
    SELECT a.*,
           coalesce((SELECT jsonb_object_agg(r.brand_id::text, r.roles)
                       FROM (SELECT brand_id, array_agg(role ORDER BY role) AS roles
                               FROM brand_roles WHERE agent_id = a.id GROUP BY brand_id) r),
                    '{}') AS roles,
           coalesce((SELECT array_agg(team_id::text) FROM team_members
                      WHERE agent_id = a.id), '{}') AS team_ids
      FROM agents a
"""


def _account(row: asyncpg.Record) -> AgentAccount:
    return AgentAccount(
        id=str(row["id"]),
        email=row["email"],
        name=row["name"],
        admin=row["role"] == "admin",
        roles=dict(row["roles"]),
        team_ids=list(row["team_ids"]),
        password_hash=row["password_hash"],
        session_version=row["session_version"],
    )


async def insert_agent(
    conn: Conn,
    *,
    email: str,
    name: str,
    password_hash: str,
    admin: bool,
    brand_id: UUID | None = None,
    roles: Sequence[str] = (),
) -> AgentAccount:
    """Store a new agent holding ``roles`` in the brand; Conflict when the email is taken."""
    async with conn.transaction():
        try:
            agent_id = await conn.fetchval(
                "INSERT INTO agents (email, name, password_hash, role) VALUES ($1, $2, $3, $4)"
                " RETURNING id",
                email,
                name,
                password_hash,
                "admin" if admin else "member",
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"an agent with email {email} exists") from None
        if roles and brand_id is not None:
            await conn.executemany(
                "INSERT INTO brand_roles (agent_id, brand_id, role) VALUES ($1, $2, $3)",
                [(agent_id, brand_id, role) for role in sorted(set(roles))],
            )
        row = await conn.fetchrow(ACCOUNT_SQL + " WHERE a.id = $1", agent_id)
    assert row is not None
    return _account(row)


async def active_agent_by_email(conn: Conn, email: str) -> AgentAccount | None:
    row = await conn.fetchrow(ACCOUNT_SQL + " WHERE lower(a.email) = lower($1) AND a.active", email)
    return _account(row) if row else None


async def end_sessions(conn: Conn, agent_id: UUID) -> None:
    """Every console cookie made before now stops working (see migration 0008)."""
    await conn.execute(
        "UPDATE agents SET session_version = session_version + 1 WHERE id = $1", agent_id
    )


async def active_agent(conn: Conn, agent_id: UUID) -> AgentAccount | None:
    row = await conn.fetchrow(ACCOUNT_SQL + " WHERE a.id = $1 AND a.active", agent_id)
    return _account(row) if row else None
