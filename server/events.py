"""Event names and the event value carried on the bus.

Events are written to Postgres in the transaction that caused them and published after the
commit (by the pipeline, the router, the sweeps, the mailroom and the outbox). Their ids grow,
so a console can resume from the last id it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import orjson

from server.payloads import EventData

MESSAGE_CREATED = "message.created"
# A customer's message has been understood: the message again, now with its interpretation.
MESSAGE_INTERPRETED = "message.interpreted"
# How an outgoing message's delivery went (sent, retrying, failed, bounced, ...): stored.
MESSAGE_DELIVERY = "message.delivery"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_UPDATED = "conversation.updated"
# A conversation entered the ranked queue, moved in it or left it (stored): its rank, score
# and band now, so consoles keep their queue without reading it again.
QUEUE_CHANGED = "queue.changed"
# A deadline passed: stored, shown in the console, counted in /metrics.
SLA_BREACHED = "sla.breached"
# An agent's status, load or capacity changed: live-only, like typing (the console re-reads
# the agents on reconnect).
AGENT_UPDATED = "agent.updated"
# An agent wrote an internal note (stored; consoles only, never the customer).
NOTE_CREATED = "note.created"
# Typing is live-only: it is published but never stored, so it has no id.
TYPING = "typing"
# An agent has a conversation open in their console (active) or no longer (live-only; each
# console says so again every 30 s, so a node that dies does not leave a viewer behind).
VIEWING = "viewing"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, addressed to a conversation."""

    name: str
    conversation_id: str
    data: EventData = field(default_factory=lambda: EventData())
    id: int | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "name": self.name,
                "conversation_id": self.conversation_id,
                "data": self.data,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        obj = orjson.loads(raw)
        return cls(
            name=obj["name"],
            conversation_id=obj["conversation_id"],
            # Written by to_json on another node of the same version.
            data=cast(EventData, obj["data"]),
            id=obj["id"],
        )


def left_queue(conversation_id: str) -> Event:
    """The queue.changed of a conversation taken out of the queue (claimed by a reply, handed
    back to the bot): no rank to compute, so no router needed."""
    return Event(QUEUE_CHANGED, conversation_id, {"queue": None})
