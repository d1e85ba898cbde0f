"""Two of docs/metrics.md's clocks read at the moment they stop, for the Prometheus
histograms (server/metrics.py): the human first response (when an agent's first message is
written) and the resolution. The reports read the same clocks from conversation_facts
(server/store/analytics.py); these reads give the operator's live view of them."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from server.store.views import Conn


@dataclass(frozen=True, slots=True)
class Stopped:
    """A clock that just stopped: the conversation's brand slug and channel, and how long
    it ran in seconds."""

    brand: str
    channel: str
    seconds: float


async def first_human_response(conn: Conn, conversation_id: str, message_id: int) -> Stopped | None:
    """The human first response time, when ``message_id`` is the conversation's first agent
    message and the conversation was handed to a human (docs/metrics.md: from the first
    handoff); None otherwise. Called in the message's transaction, after its insert (the
    facts' trigger has stamped ``first_agent_at``)."""
    row = await conn.fetchrow(
        """SELECT b.slug, c.channel,
                  extract(epoch FROM f.first_agent_at - coalesce(f.handed_at, c.handoff_at))
                    AS seconds
             FROM conversations c
             JOIN brands b ON b.id = c.brand_id
             JOIN conversation_facts f ON f.conversation_id = c.id
            WHERE c.id = $1
              AND NOT EXISTS (SELECT 1 FROM messages m
                               WHERE m.conversation_id = c.id AND m.author_kind = 'agent'
                                 AND m.id <> $2)""",
        UUID(conversation_id),
        message_id,
    )
    if row is None or row["seconds"] is None:
        return None
    return Stopped(row["slug"], row["channel"], max(0.0, float(row["seconds"])))


async def resolution(conn: Conn, conversation_id: str) -> Stopped | None:
    """The resolution time of a conversation just resolved: from its start to now (a
    reopened one resolved again runs from its start, as the reports count it)."""
    row = await conn.fetchrow(
        """SELECT b.slug, c.channel, extract(epoch FROM c.resolved_at - c.created_at) AS seconds
             FROM conversations c JOIN brands b ON b.id = c.brand_id
            WHERE c.id = $1 AND c.status = 'resolved'""",
        UUID(conversation_id),
    )
    if row is None or row["seconds"] is None:
        return None
    return Stopped(row["slug"], row["channel"], max(0.0, float(row["seconds"])))
