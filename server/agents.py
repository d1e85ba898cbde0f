"""Agents: argon2-hashed passwords, creation and login (the console's AgentDirectory)."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import Conflict, InvalidInput
from web_console.port import Agent

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login time the same either way, so
# timing does not reveal which emails are agents.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
ROLES = ("agent", "supervisor", "admin")
MIN_PASSWORD = 8


def _agent(row: asyncpg.Record) -> Agent:
    return Agent(id=str(row["id"]), email=row["email"], name=row["name"], role=row["role"])


async def create_agent(
    pool: asyncpg.Pool, *, email: str, name: str, password: str, role: str = "agent"
) -> Agent:
    """Store a new agent; raise InvalidInput or Conflict (email taken)."""
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    try:
        row = await pool.fetchrow(
            "INSERT INTO agents (email, name, password_hash, role) VALUES ($1, $2, $3, $4)"
            " RETURNING *",
            email,
            name,
            _hasher.hash(password),
            role,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"an agent with email {email} exists") from None
    assert row is not None
    return _agent(row)


class AgentStore:
    """The AgentDirectory the console uses, over the agents table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def authenticate(self, email: str, password: str) -> Agent | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM agents WHERE lower(email) = lower($1) AND active", email
        )
        try:
            _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return _agent(row) if row else None

    async def agent(self, agent_id: str) -> Agent | None:
        try:
            key = UUID(agent_id)
        except ValueError:
            return None
        row = await self._pool.fetchrow("SELECT * FROM agents WHERE id = $1 AND active", key)
        return _agent(row) if row else None
