"""Interpretations recorded together: the routing write of messages to conversations that
wait for (or have) a person, many messages in one statement.

Such a message needs no decision beyond "wait" (``routing.decide``): its write is
``nlu.record_understanding``'s, guarded by the conversation's status and language as its
last routing left them. Routing runs in order per conversation, but across conversations
the writes of the messages that arrive together are one statement here (through
``group_commit.GroupCommit``): one plan, one executor start and one commit for many,
instead of one of each per message. Derived data only, committed without waiting for the
WAL flush (``nlu.commit_without_flush``): the start-up sweep re-derives what a crash loses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

import orjson

from nlu.base import Interpretation
from server.payloads import MessageView
from server.store.views import Conn, message_view


class _Changed(Enum):
    CHANGED = "the conversation's status or language changed"


# The conversation moved on since its last routing: the message goes the long way.
CHANGED = _Changed.CHANGED


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message to a conversation its last routing left in ``status`` with ``language``
    (the conversation's, which the NLU read), and its interpretation."""

    message_id: int
    conversation_id: str
    status: str
    language: str | None
    interpretation: Interpretation


Outcome = tuple[MessageView, int] | None | _Changed


async def record(conn: Conn, items: list[Waiting]) -> list[Outcome]:
    """Record each item's interpretation (and the conversation's new language, and a
    message.interpreted event) provided its conversation still has the status and language
    it was understood for, in one statement. For each item, in order: the message as it now
    reads and its event id; None when it was interpreted already (another node routed it);
    CHANGED, writing nothing for it, when its conversation moved on. At most one item per
    conversation (routing is in order per conversation)."""
    if not items:
        return []
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[],
                                    $5::text[], $6::text[], $7::float8[])
                   AS i(message_id, conversation_id, status, seen_language, nlu, language,
                        sentiment)),
           -- Locked in id order: two batches never wait for each other in a circle.
           conv AS (
               SELECT c.id, c.status, c.language FROM conversations c
                WHERE c.id IN (SELECT conversation_id FROM input)
                ORDER BY c.id FOR NO KEY UPDATE),
           understood AS (
               UPDATE messages m
                  SET nlu = i.nlu::jsonb, language = i.language, sentiment = i.sentiment
                 FROM input i JOIN conv ON conv.id = i.conversation_id
                WHERE m.id = i.message_id AND m.nlu IS NULL AND conv.status = i.status
                  AND conv.language IS NOT DISTINCT FROM i.seen_language
            RETURNING m.*),
           state AS (
               UPDATE conversations c SET language = u.language
                 FROM understood u
                WHERE c.id = u.conversation_id AND u.language IS NOT NULL
                  AND c.language IS DISTINCT FROM u.language),
           evt AS (
               INSERT INTO events (name, conversation_id, data)
               SELECT 'message.interpreted', u.conversation_id,
                      jsonb_build_object('message_id', u.id)
                 FROM understood u ORDER BY u.id
            RETURNING id, (data->>'message_id')::bigint AS message_id)
           SELECT i.message_id AS input_id, conv.status AS c_status,
                  conv.language AS c_language, evt.id AS event_id,
                  set_config('synchronous_commit', 'off', true) AS lazy_commit, u.*
             FROM input i JOIN conv ON conv.id = i.conversation_id
             LEFT JOIN understood u ON u.id = i.message_id
             LEFT JOIN evt ON evt.message_id = i.message_id""",
        [w.message_id for w in items],
        [UUID(w.conversation_id) for w in items],
        [w.status for w in items],
        [w.language for w in items],
        [orjson.dumps(w.interpretation.to_json()).decode() for w in items],
        [w.interpretation.language for w in items],
        [w.interpretation.sentiment for w in items],
    )
    by_id = {row["input_id"]: row for row in rows}
    outcomes: list[Outcome] = []
    for item in items:
        row = by_id[item.message_id]  # conversations are never deleted
        if row["c_status"] != item.status or row["c_language"] != item.language:
            outcomes.append(CHANGED)
        elif row["id"] is None:
            outcomes.append(None)
        else:
            outcomes.append((message_view(row), int(row["event_id"])))
    return outcomes
