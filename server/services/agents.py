"""Agents: argon2-hashed passwords, creation and login (the console's AgentDirectory)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import InvalidInput
from server.store import Pool
from server.store import agents as accounts
from server.store import organisation as org
from server.store.agents import AgentAccount
from web_console.access import ROLES as BRAND_ROLES
from web_console.port import Agent

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the email is unknown keeps login time the same either way,
    so timing does not reveal which emails are agents. Made at the first login, not at import
    (a hash costs the server's start up to two seconds on a busy machine)."""
    return _hasher.hash("not-a-real-password")


# "admin" is every power in every brand; the others are held per brand (web_console/access.py).
ROLES = ("admin", *BRAND_ROLES)
MIN_PASSWORD = 8


def _agent(account: AgentAccount) -> Agent:
    return Agent(
        id=account["id"],
        email=account["email"],
        name=account["name"],
        admin=account["admin"],
        roles={brand: frozenset(roles) for brand, roles in account["roles"].items()},
        teams=frozenset(account["team_ids"]),
        session_version=account["session_version"],
    )


async def create_agent(
    pool: Pool,
    *,
    email: str,
    name: str,
    password: str,
    role: str = "agent",
    brand: str | None = None,
    roles: Sequence[str] = (),
) -> Agent:
    """Store a new agent: an admin, or one holding ``roles`` (or just ``role``) in the brand
    (the only one when none is named; with no brand yet, none). Raise InvalidInput, NotFound
    (brand) or Conflict (email taken)."""
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    held = list(roles) or [role]
    if unknown := [r for r in held if r not in ROLES]:
        raise InvalidInput(f"role {unknown[0]!r}: must be one of {', '.join(ROLES)}")
    admin = "admin" in held
    # argon2 costs tens of milliseconds of CPU by design: off the event loop, as at login.
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    async with pool.acquire() as conn:
        brand_id = None
        if not admin and (brand is not None or await org.brand_count(conn) > 0):
            brand_id = await org.brand_id(conn, brand)
        account = await accounts.insert_agent(
            conn,
            email=email,
            name=name,
            password_hash=password_hash,
            admin=admin,
            brand_id=brand_id,
            roles=[r for r in held if r != "admin"],
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
