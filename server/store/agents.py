"""The agents table: accounts the console signs in with (hashing is the caller's business)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict
from uuid import UUID

import asyncpg

from server.errors import Conflict, NotFound
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
    # A TOTP second factor is enabled (migration 0012).
    totp: bool


# The roles an agent (``a``) holds, as {brand id: [roles]}: one column of every query that
# says what an agent may reach.
ROLES_COLUMN = """
    coalesce((SELECT jsonb_object_agg(r.brand_id::text, r.roles)
                FROM (SELECT brand_id, array_agg(role ORDER BY role) AS roles
                        FROM brand_roles WHERE agent_id = a.id GROUP BY brand_id) r),
             '{}') AS roles"""

# An account with what it may reach, in one round trip: every request of the console reads it.
ACCOUNT_SQL = f"""
    SELECT a.*, {ROLES_COLUMN},
           coalesce((SELECT array_agg(team_id::text) FROM team_members
                      WHERE agent_id = a.id), '{{}}') AS team_ids
      FROM agents a
"""


def account_of(row: asyncpg.Record) -> AgentAccount:
    return AgentAccount(
        id=str(row["id"]),
        email=row["email"],
        name=row["name"],
        admin=row["role"] == "admin",
        roles=dict(row["roles"]),
        team_ids=list(row["team_ids"]),
        password_hash=row["password_hash"],
        session_version=row["session_version"],
        totp=row["totp_secret"] is not None,
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
    return account_of(row)


async def active_agent_by_email(conn: Conn, email: str) -> AgentAccount | None:
    row = await conn.fetchrow(ACCOUNT_SQL + " WHERE lower(a.email) = lower($1) AND a.active", email)
    return account_of(row) if row else None


async def end_sessions(conn: Conn, agent_id: UUID) -> None:
    """Every console session of the agent ends: the version every cookie carries moves on
    (migration 0008) and the sessions' rows go (migration 0012)."""
    await conn.execute(
        "UPDATE agents SET session_version = session_version + 1 WHERE id = $1", agent_id
    )
    await conn.execute("DELETE FROM console_sessions WHERE agent_id = $1", agent_id)


async def set_password(conn: Conn, agent_id: UUID, password_hash: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE agents SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
        agent_id,
        password_hash,
        now,
    )


async def account_by_key(conn: Conn, key: str, *, active_only: bool = True) -> AgentAccount:
    """An agent named by id or email (deactivated ones too unless ``active_only``); NotFound."""
    try:
        agent_id: UUID | None = UUID(key)
    except ValueError:
        agent_id = None
    row = await conn.fetchrow(
        ACCOUNT_SQL + " WHERE (a.id = $1 OR lower(a.email) = lower($2)) AND (a.active OR NOT $3)",
        agent_id,
        key,
        active_only,
    )
    if row is None:
        raise NotFound(f"no agent {key!r}")
    return account_of(row)


async def set_active(conn: Conn, agent_id: UUID, active: bool) -> None:
    """Deactivate (every session ends, tokens stop working) or reactivate an agent."""
    await conn.execute("UPDATE agents SET active = $2 WHERE id = $1", agent_id, active)
    if not active:
        await end_sessions(conn, agent_id)


async def admin_exists(conn: Conn) -> bool:
    """Whether an active admin agent exists (then the bootstrap admin token is refused)."""
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM agents WHERE role = 'admin' AND active)")
    )


async def active_agent(conn: Conn, agent_id: UUID) -> AgentAccount | None:
    row = await conn.fetchrow(ACCOUNT_SQL + " WHERE a.id = $1 AND a.active", agent_id)
    return account_of(row) if row else None
