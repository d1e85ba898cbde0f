"""Passwords: an agent changes theirs; an admin invites an agent, or an agent who forgot
theirs asks for a reset, and a single-use, expiring link by mail sets a new one (the
console's Passwords port).

A link's token is 32 random bytes, stored hashed; it lives 72 hours for an invite and one hour
for a reset, and a newer link makes the older ones void. The link carries the token in its
fragment (``/console/password#token=...``), which browsers never send to a server, so it
stays out of access logs and Referer headers. Setting a password from a link, or changing it,
ends the agent's other sessions; every new password meets the policy
(``password_policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from server.errors import InvalidInput
from server.services.account_audit import note
from server.services.account_mail import AccountMailer
from server.services.agents import agent_of, checked_password
from server.services.hashing import (
    Clock,
    digest,
    hash_password,
    new_secret,
    password_matches,
    utcnow,
)
from server.store import Pool, audit, sessions
from server.store import agents as accounts
from server.store import credentials as store
from server.store.views import Conn, iso
from web_console.account_port import LinkView, WrongPassword
from web_console.port import Agent, BadValue, Client, Unknown

INVITE_LIFETIME = timedelta(hours=72)
RESET_LIFETIME = timedelta(hours=1)
RESET_PAUSE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invite made: its link (for the admin to hand over when no mail could go) and
    whether the mail was sent."""

    email: str
    link: str
    mailed: bool
    expires_at: str


class PasswordService:
    """The console's Passwords port, and invites for the admin API and the CLI."""

    def __init__(
        self, pool: Pool, mailer: AccountMailer, base_url: str, *, clock: Clock = utcnow
    ) -> None:
        self._pool = pool
        self._mailer = mailer
        self._base_url = base_url.rstrip("/")
        self._clock = clock

    async def change_password(
        self, agent: Agent, current: str, new: str, keep: str, client: Client
    ) -> list[str]:
        try:
            await checked_password(new, email=agent.email, name=agent.name)
        except InvalidInput as exc:
            raise BadValue(f"new_password: {exc}") from None
        if new == current:
            raise BadValue("new_password: must differ from the current password")
        async with self._pool.acquire() as conn:
            account = await accounts.active_agent(conn, UUID(agent.id))
        if account is None:
            raise Unknown("no such agent")
        if not await password_matches(account["password_hash"], current):
            raise WrongPassword("current_password: wrong password")
        password_hash = await hash_password(new)
        async with self._pool.acquire() as conn, conn.transaction():
            await accounts.set_password(conn, UUID(agent.id), password_hash, self._clock())
            ended = await sessions.delete_others(conn, UUID(agent.id), UUID(keep))
            await conn.execute(
                "DELETE FROM password_links WHERE agent_id = $1 AND used_at IS NULL",
                UUID(agent.id),
            )
            await note(
                conn, "agent.password_changed", agent, client, {"sessions_ended": len(ended)}
            )
        return ended

    async def request_reset(self, email: str, client: Client) -> None:
        async with self._pool.acquire() as conn:
            account = await accounts.active_agent_by_email(conn, email)
            if account is None:
                return
            agent = agent_of(account)
            if await store.link_made_since(conn, UUID(agent.id), self._clock() - RESET_PAUSE):
                return  # one mail a minute at most: asking again is no way to flood a mailbox
            link, _ = await self._new_link(conn, agent, "reset")
            await note(conn, "agent.password_reset_requested", agent, client)
        self._mailer.send(
            agent.email,
            "Reset your Switchboard password",
            f"Hello {agent.name},\n\n"
            "Someone (we hope you) asked to reset the password of your Switchboard account.\n"
            f"Set a new one here within the hour:\n\n{link}\n\n"
            "If it was not you, ignore this mail: your password stays as it is.\n",
        )

    async def invite(
        self, key: str, *, actor: str, actor_id: str | None = None, address: str | None = None
    ) -> Invitation:
        """Make an invite link for the agent (id or email) and mail it; recorded as done by
        ``actor``. Raise NotFound."""
        async with self._pool.acquire() as conn:
            agent = agent_of(await accounts.account_by_key(conn, key))
            link, expires = await self._new_link(conn, agent, "invite")
            await audit.record(
                conn,
                action="agent.invited",
                actor_id=actor_id,
                actor_label=actor,
                target_kind="agent",
                target_id=agent.id,
                detail={"expires_at": iso(expires)},
                address=address,
            )
        mailed = self._mailer.send(
            agent.email,
            "You are invited to Switchboard",
            f"Hello {agent.name},\n\n"
            "You have been given an account on the Switchboard support console.\n"
            f"Choose your password here (the link works once, for 72 hours):\n\n{link}\n\n"
            f"Then log in at {self._base_url}/console with {agent.email}.\n",
        )
        return Invitation(agent.email, link, mailed, iso(expires) or "")

    async def _new_link(self, conn: Conn, agent: Agent, purpose: str) -> tuple[str, datetime]:
        """A new link for the agent (their earlier ones stop working); (URL, expiry)."""
        token = new_secret()
        now = self._clock()
        expires = now + (INVITE_LIFETIME if purpose == "invite" else RESET_LIFETIME)
        await store.insert_link(conn, UUID(agent.id), digest(token), purpose, now, expires)
        return f"{self._base_url}/console/password#token={token}", expires

    async def link(self, token: str) -> LinkView:
        async with self._pool.acquire() as conn:
            found = await store.live_link(conn, digest(token), self._clock())
            account = await accounts.active_agent(conn, UUID(found["agent_id"])) if found else None
        if found is None or account is None:
            raise Unknown("this link was used, has expired, or is not one of ours")
        return LinkView(
            email=account["email"],
            name=account["name"],
            purpose=found["purpose"],
            expires_at=iso(found["expires_at"]) or "",
        )

    async def set_password_by_link(self, token: str, new: str, client: Client) -> Agent:
        view = await self.link(token)
        try:
            await checked_password(new, email=view["email"], name=view["name"])
        except InvalidInput as exc:
            raise BadValue(f"new_password: {exc}") from None
        password_hash = await hash_password(new)
        async with self._pool.acquire() as conn, conn.transaction():
            used = await store.use_link(conn, digest(token), self._clock())
            account = await accounts.active_agent(conn, UUID(used["agent_id"])) if used else None
            if used is None or account is None:
                raise Unknown("this link was used, has expired, or is not one of ours")
            await accounts.set_password(conn, UUID(account["id"]), password_hash, self._clock())
            # Whoever held a session (or the old password) is out.
            await accounts.end_sessions(conn, UUID(account["id"]))
            agent = agent_of(account)
            await note(conn, "agent.password_set", agent, client, {"by": used["purpose"]})
        return agent
