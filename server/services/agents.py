"""Agents: argon2-hashed passwords, creation and login (the console's AgentDirectory)."""

from __future__ import annotations

import asyncio
import functools
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import InvalidInput
from server.store import Pool
from server.store import agents as accounts
from server.store.agents import AgentAccount
from web_console.port import Agent

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the email is unknown keeps login time the same either way,
    so timing does not reveal which emails are agents. Made at the first login, not at import
    (a hash costs the server's start up to two seconds on a busy machine)."""
    return _hasher.hash("not-a-real-password")


ROLES = ("agent", "supervisor", "admin")
MIN_PASSWORD = 8


def _agent(account: AgentAccount) -> Agent:
    return Agent(
        id=account["id"],
        email=account["email"],
        name=account["name"],
        role=account["role"],
        session_version=account["session_version"],
    )


async def create_agent(
    pool: Pool, *, email: str, name: str, password: str, role: str = "agent"
) -> Agent:
    """Store a new agent; raise InvalidInput or Conflict (email taken)."""
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    # argon2 costs tens of milliseconds of CPU by design: off the event loop, as at login.
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    async with pool.acquire() as conn:
        account = await accounts.insert_agent(
            conn, email=email, name=name, password_hash=password_hash, role=role
        )
    return _agent(account)


class AgentStore:
    """The AgentDirectory the console uses, over the agents table."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def authenticate(self, email: str, password: str) -> Agent | None:
        async with self._pool.acquire() as conn:
            account = await accounts.active_agent_by_email(conn, email)
        try:
            stored = account["password_hash"] if account else None
            # Off the loop, the dummy hash (made once) included.
            await asyncio.to_thread(lambda: _hasher.verify(stored or _dummy_hash(), password))
        except (VerificationError, InvalidHashError):
            return None
        return _agent(account) if account else None

    async def end_sessions(self, agent_id: str) -> None:
        async with self._pool.acquire() as conn:
            await accounts.end_sessions(conn, UUID(agent_id))

    async def agent(self, agent_id: str) -> Agent | None:
        try:
            key = UUID(agent_id)
        except ValueError:
            return None
        async with self._pool.acquire() as conn:
            account = await accounts.active_agent(conn, key)
        return _agent(account) if account else None
