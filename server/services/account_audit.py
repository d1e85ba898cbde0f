"""What account changes write to the audit log (``server/store/audit.py``): each entry names
the agent as actor (their id and email) unless someone else acts, the agent as target, and
the client's address. Never a password, code or token."""

from __future__ import annotations

from collections.abc import Mapping

from server.store import audit
from server.store.views import Conn
from web_console.port import Agent, Client


async def note(
    conn: Conn,
    action: str,
    agent: Agent,
    client: Client,
    detail: Mapping[str, object] | None = None,
) -> None:
    """An entry for the agent's own action on their account."""
    await audit.record(
        conn,
        action=action,
        actor_id=agent.id,
        actor_label=agent.email,
        target_kind="agent",
        target_id=agent.id,
        detail=detail,
        address=client.address,
    )
