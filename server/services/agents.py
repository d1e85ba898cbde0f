"""Agents: creation (with the password policy), login with an optional second factor, and
console sessions kept on the server (the console's AgentDirectory and SessionDirectory).

A session is a ``console_sessions`` row; the cookie carries its secret (stored hashed) and the
agent's session version. It ends when its row goes (logout, revoked from the session list,
a password change or reset, deactivation), when the version moves on (a role change), after
``idle_seconds`` unseen, or ``absolute_seconds`` after it was made. Being seen is any request
or socket ping carrying the cookie; it is written at most once a minute per session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from server.errors import InvalidInput
from server.services import password_policy
from server.services.account_audit import note
from server.services.hashing import (
    Clock,
    digest,
    hash_password,
    new_secret,
    password_matches,
    unusable_password,
    utcnow,
)
from server.services.second_factor import spend_code
from server.store import Pool, audit
from server.store import agents as accounts
from server.store import organisation as org
from server.store import sessions as store
from server.store.agents import AgentAccount
from web_console.access import ROLES as BRAND_ROLES
from web_console.account_port import SessionView
from web_console.port import Agent, Client, LiveSession, SignIn, Unknown

# "admin" is every power in every brand; the others are held per brand (web_console/access.py).
ROLES = ("admin", *BRAND_ROLES)
MIN_PASSWORD = password_policy.MIN_LENGTH
# How often a session's last_seen_at is written at most: a console makes many requests a
# minute, and a row update each would be most of the database's writes when agents idle.
SEEN_EVERY = timedelta(minutes=1)
USER_AGENT_CHARS = 300


def agent_of(account: AgentAccount) -> Agent:
    return Agent(
        id=account["id"],
        email=account["email"],
        name=account["name"],
        admin=account["admin"],
        roles={brand: frozenset(roles) for brand, roles in account["roles"].items()},
        teams=frozenset(account["team_ids"]),
        session_version=account["session_version"],
    )


async def checked_password(password: str, *, email: str, name: str) -> None:
    """Raise InvalidInput with the policy's reason when ``password`` may not be set."""
    problem = await asyncio.to_thread(password_policy.problem, password, email=email, name=name)
    if problem is not None:
        raise InvalidInput(problem)


async def create_agent(
    pool: Pool,
    *,
    email: str,
    name: str,
    password: str | None,
    role: str = "agent",
    brand: str | None = None,
    roles: Sequence[str] = (),
) -> Agent:
    """Store a new agent: an admin, or one holding ``roles`` (or just ``role``) in the brand
    (the only one when none is named; with no brand yet, none). With no password the agent
    cannot log in until they set one from an invite link. Raise InvalidInput (the password
    policy's reason among them), NotFound (brand) or Conflict (email taken)."""
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    held = list(roles) or [role]
    if unknown := [r for r in held if r not in ROLES]:
        raise InvalidInput(f"role {unknown[0]!r}: must be one of {', '.join(ROLES)}")
    if password is not None:
        await checked_password(password, email=email, name=name)
    admin = "admin" in held
    password_hash = await hash_password(password) if password is not None else unusable_password()
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
    return agent_of(account)


async def set_active(
    pool: Pool,
    key: str,
    active: bool,
    *,
    actor: str,
    actor_id: str | None = None,
    address: str | None = None,
) -> Agent:
    """Deactivate an agent (every session ends, their API tokens stop working, they cannot
    log in) or reactivate them; recorded as done by ``actor``. Raise NotFound."""
    async with pool.acquire() as conn, conn.transaction():
        account = await accounts.account_by_key(conn, key, active_only=False)
        await accounts.set_active(conn, UUID(account["id"]), active)
        await audit.record(
            conn,
            action="agent.reactivated" if active else "agent.deactivated",
            actor_id=actor_id,
            actor_label=actor,
            target_kind="agent",
            target_id=account["id"],
            address=address,
        )
    return agent_of(account)


class AgentStore:
    """The AgentDirectory and SessionDirectory the console uses, over the agents and
    console_sessions tables."""

    def __init__(
        self,
        pool: Pool,
        *,
        idle_seconds: float = 2 * 3600,
        absolute_seconds: float = 12 * 3600,
        clock: Clock = utcnow,
    ) -> None:
        self._pool = pool
        self._idle = timedelta(seconds=idle_seconds)
        self._absolute = timedelta(seconds=absolute_seconds)
        self._clock = clock

    def _limits(self) -> tuple[datetime, datetime]:
        """(seen after, made after): what a live session must be, now."""
        now = self._clock()
        return now - self._idle, now - self._absolute

    async def log_in(self, email: str, password: str, code: str | None, client: Client) -> SignIn:
        async with self._pool.acquire() as conn:
            account = await accounts.active_agent_by_email(conn, email)
        if not await password_matches(account["password_hash"] if account else None, password):
            await self._failed(email, account, client, "wrong password" if account else "no agent")
            return SignIn()
        assert account is not None
        agent = agent_of(account)
        async with self._pool.acquire() as conn, conn.transaction():
            used = None
            if account["totp"]:
                if not code:
                    return SignIn(second_factor="totp")
                used = await spend_code(conn, UUID(agent.id), code, self._clock())
                if used is None:
                    await self._failed(email, account, client, "wrong code")
                    return SignIn(second_factor="totp", wrong_code=True)
            secret = new_secret()
            idle_since, made_since = self._limits()
            await store.insert(
                conn,
                agent_id=UUID(agent.id),
                secret_hash=digest(secret),
                version=agent.session_version,
                now=self._clock(),
                user_agent=client.user_agent[:USER_AGENT_CHARS],
                address=client.address,
                idle_since=idle_since,
                made_since=made_since,
            )
            await note(conn, "agent.login", agent, client, {"second_factor": used})
        return SignIn(agent=agent, secret=secret)

    async def _failed(
        self,
        email: str,
        account: AgentAccount | None,
        client: Client,
        reason: str,
    ) -> None:
        """A failed login in the audit log: the email tried and the address, never the
        password. Written outside the attempt's transaction, which rolls back."""
        async with self._pool.acquire() as own:
            await audit.record(
                own,
                action="agent.login_failed",
                actor_label=email.strip().lower()[:320] or "?",
                target_kind="agent" if account else None,
                target_id=account["id"] if account else None,
                detail={"email": email[:320], "reason": reason},
                address=client.address,
            )

    async def session(self, secret: str) -> LiveSession | None:
        now = self._clock()
        idle_since, made_since = self._limits()
        async with self._pool.acquire() as conn:
            found = await store.holder(
                conn, digest(secret), idle_since=idle_since, made_since=made_since
            )
            if found is None:
                return None
            if now - found["last_seen_at"] >= SEEN_EVERY:
                await store.touch(conn, found["session_id"], now)
        return LiveSession(agent_of(found["account"]), found["session_id"])

    async def log_out(self, secret: str, client: Client) -> LiveSession | None:
        async with self._pool.acquire() as conn, conn.transaction():
            ended = await store.delete_by_secret(conn, digest(secret))
            if ended is None:
                return None
            account = await accounts.active_agent(conn, UUID(ended[0]))
            if account is None:
                return None
            agent = agent_of(account)
            await note(conn, "agent.logout", agent, client, {"session_id": ended[1]})
        return LiveSession(agent, ended[1])

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
        return agent_of(account) if account else None

    # The SessionDirectory: an agent's own sessions.

    async def sessions(self, agent: Agent, current: str) -> list[SessionView]:
        idle_since, made_since = self._limits()
        async with self._pool.acquire() as conn:
            rows = await store.of_agent(
                conn, UUID(agent.id), idle_since=idle_since, made_since=made_since
            )
        return [SessionView(**row, current=row["id"] == current) for row in rows]

    async def end_session(self, agent: Agent, session_id: str, client: Client) -> None:
        try:
            key = UUID(session_id)
        except ValueError:
            raise Unknown(f"no session {session_id}") from None
        async with self._pool.acquire() as conn, conn.transaction():
            if not await store.delete(conn, UUID(agent.id), key):
                raise Unknown(f"no session {session_id}")
            await note(conn, "agent.session_revoked", agent, client, {"session_id": session_id})

    async def end_other_sessions(self, agent: Agent, keep: str, client: Client) -> list[str]:
        async with self._pool.acquire() as conn, conn.transaction():
            ended = await store.delete_others(conn, UUID(agent.id), UUID(keep))
            await note(
                conn, "agent.sessions_revoked", agent, client, {"kept": keep, "ended": len(ended)}
            )
        return ended
