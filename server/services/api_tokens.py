"""Personal API tokens (the console's ApiTokens port): an agent makes a token with scopes and
an expiry, sees it once, lists and revokes it.

Scopes: ``conversations:read`` and ``conversations:write`` let the token stand for its agent
on the console's REST API (``Authorization: Bearer sbp_...``; reads and writes, each within
what the agent may see); ``admin`` lets an admin's token call the admin API
(``server/http/auth.py``), where its changes are recorded as the agent's. A token works only
while its agent is active and, for ``admin``, an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from server.services.account_audit import note
from server.services.agents import agent_of
from server.services.hashing import Clock, digest, new_secret, utcnow
from server.store import Pool
from server.store import api_tokens as store
from web_console.account_port import SCOPES, TokenView
from web_console.port import ActionRefused, Agent, BadValue, Client, Forbidden, Unknown

PREFIX = "sbp_"
MAX_DAYS = 366


def looks_like_token(secret: str) -> bool:
    """Whether a bearer value is meant as a personal token (not the bootstrap token)."""
    return secret.startswith(PREFIX)


class TokenService:
    """The console's ApiTokens port."""

    def __init__(self, pool: Pool, *, clock: Clock = utcnow) -> None:
        self._pool = pool
        self._clock = clock

    async def tokens(self, agent: Agent) -> list[TokenView]:
        async with self._pool.acquire() as conn:
            rows = await store.of_agent(conn, UUID(agent.id), self._clock())
        return [TokenView(**row) for row in rows]

    async def create_token(
        self, agent: Agent, name: str, scopes: Sequence[str], days: int, client: Client
    ) -> tuple[TokenView, str]:
        wanted = sorted(set(scopes))
        if not wanted:
            raise BadValue(f"scopes: name at least one of {', '.join(SCOPES)}")
        if unknown := [s for s in wanted if s not in SCOPES]:
            raise BadValue(f"scopes: {unknown[0]!r} is not one of {', '.join(SCOPES)}")
        if not 1 <= days <= MAX_DAYS:
            raise BadValue(f"expires_in_days: must be between 1 and {MAX_DAYS}")
        if "admin" in wanted and not agent.admin:
            raise Forbidden("only an admin may make a token with the admin scope")
        secret = PREFIX + new_secret()
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            if await store.live_count(conn, UUID(agent.id), now) >= store.MAX_PER_AGENT:
                raise ActionRefused(f"you hold {store.MAX_PER_AGENT} live tokens; revoke one first")
            row = await store.insert(
                conn,
                agent_id=UUID(agent.id),
                name=name,
                token_hash=digest(secret),
                hint=secret[: len(PREFIX) + 6],
                scopes=wanted,
                now=now,
                expires_at=now + timedelta(days=days),
            )
            await note(
                conn,
                "agent.token_created",
                agent,
                client,
                {
                    "token_id": row["id"],
                    "name": name,
                    "scopes": wanted,
                    "expires_at": row["expires_at"],
                },
            )
        return TokenView(**row), secret

    async def revoke_token(self, agent: Agent, token_id: str, client: Client) -> None:
        try:
            key = UUID(token_id)
        except ValueError:
            raise Unknown(f"no token {token_id}") from None
        async with self._pool.acquire() as conn, conn.transaction():
            row = await store.revoke(conn, UUID(agent.id), key, self._clock())
            if row is None:
                raise Unknown(f"no token {token_id}")
            await note(
                conn,
                "agent.token_revoked",
                agent,
                client,
                {"token_id": token_id, "name": row["name"]},
            )

    async def token_agent(self, secret: str, scope: str) -> Agent | None:
        if not looks_like_token(secret) or len(secret) > 200:
            return None
        async with self._pool.acquire() as conn:
            found = await store.holder(conn, digest(secret), self._clock())
        if found is None or scope not in found["scopes"]:
            return None
        agent = agent_of(found["account"])
        if scope == "admin" and not agent.admin:
            return None
        return agent
