"""Customer messages appended together: the hot path's ingest, many senders in one statement.

A known sender's message goes into their open conversation in one autocommit statement: it
locks the conversation, inserts the message with the next seq, bumps the conversation's seq
only if the insert happened, and writes the message's event, so a redelivered message (same
channel id) changes nothing and leaves no gap in the seqs. The messages that arrive together
(from different senders: ``group_commit.GroupCommit`` keys its batches by sender) share that
statement, so a batch pays one plan, one executor start, one commit and one WAL flush instead
of one each per message; a batch of one is the single message's path. The commit is durable
(the default ``synchronous_commit``): every caller is acknowledged only after it, as before.

Conversations are locked in id order, so two batches never wait for each other in a circle.
Two senders of one contact (a verified visitor on two devices) would share a conversation
and a seq: the statement fails on the (conversation_id, seq) key and the caller stores each
message alone. Each message is matched to its input by its channel id, never by its
conversation, so when one of those two is a redelivery (not inserted) the other is stored
and the redelivery is told so.

A message may also come understood (``Append.understood``): to a conversation waiting for or
with a person the decision is "wait" whatever it says (``routing.decide``), so when no engine
is asked its routing is only its language and sentiment, worked out before the statement.
The statement then writes that interpretation with the message, and its message.interpreted
event after the message.created, provided the conversation, under its lock, is still waiting
for or with a person, in the language the interpretation assumed, and its customer's last
message is understood already (routing stays in order per conversation). Otherwise the
message is stored as any other and routed after the commit. One statement and one durable
commit then store and route the message, where routing took a second statement (its row
lock waited on the appends', and theirs on it) and rewrote the message's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from nlu.base import Interpretation
from server.payloads import MessageView
from server.store.conversations import NO_OPEN_CONVERSATION, _Missing
from server.store.views import Conn, ConversationRow, Inbox, conversation_row_of, message_view


@dataclass(frozen=True, slots=True)
class Understood:
    """A message's interpretation, made before it is stored, for a conversation its last
    routing left waiting for or with a person in ``language`` (the conversation's, which the
    interpretation fell back on)."""

    language: str | None
    interpretation: Interpretation


@dataclass(frozen=True, slots=True)
class AppendedMessage:
    """What appending one message gave: the conversation as it was (and its language), the
    message (None for a redelivery) and its event id; ``interpreted_event_id``: its
    message.interpreted event, when its interpretation was written with it."""

    conversation: ConversationRow
    language: str | None
    message: MessageView | None
    event_id: int | None
    interpreted_event_id: int | None


Appended = AppendedMessage | _Missing


@dataclass(frozen=True, slots=True)
class Append:
    """One customer message for its sender's open conversation in ``inbox``."""

    @property
    def sender(self) -> tuple[str, str]:
        """Whose message it is: a batch holds at most one per sender (their seq is one)."""
        return self.inbox["id"], self.sender_external_id

    inbox: Inbox
    sender_external_id: str
    external_id: str
    text: str
    meta: dict[str, Any]
    understood: Understood | None = None


async def append_many(conn: Conn, items: list[Append]) -> list[Appended]:
    """Store each item in its sender's open conversation, in one statement; for each, in
    order, what became of it (``AppendedMessage``), or NO_OPEN_CONVERSATION. At most one
    item per sender and inbox."""
    if not items:
        return []
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::jsonb[], $7::text[], $8::text[], $9::text[],
                                    $10::float8[], $11::bool[])
                   WITH ORDINALITY AS i(inbox_id, channel, sender, external_id, text, meta,
                                        nlu, seen_language, language, sentiment, understood,
                                        n)),
           -- Locked in id order: two batches never wait for each other in a circle.
           conv AS (
               SELECT c.id, c.inbox_id, c.contact_id, c.channel, c.status, c.assignee_id,
                      c.last_seq, c.language, i.n
                 FROM input i
                 JOIN contact_identities ci
                   ON ci.channel = i.channel AND ci.external_id = i.sender
                 JOIN conversations c ON c.contact_id = ci.contact_id
                WHERE c.inbox_id = i.inbox_id AND c.status <> 'resolved'
                  AND c.thread_key IS NULL
                ORDER BY c.id
                  FOR NO KEY UPDATE OF c),
           -- Whether each message's interpretation, made before the statement, holds: the
           -- conversation waits for or has a person, in the language it assumed, which the
           -- message does not change, and no earlier message of its customer waits to be
           -- understood (its last one is understood, or is not the customer's).
           plan AS (
               SELECT conv.n, i.understood
                      AND conv.status IN ('queued', 'assigned')
                      AND conv.language IS NOT DISTINCT FROM i.seen_language
                      AND (i.language IS NULL OR i.language = conv.language)
                      AND NOT EXISTS (
                          SELECT 1 FROM messages p
                           WHERE p.conversation_id = conv.id AND p.seq = conv.last_seq
                             AND p.author_kind = 'customer' AND p.nlu IS NULL) AS decided
                 FROM conv JOIN input i ON i.n = conv.n),
           msg AS (
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     external_id, text, meta, nlu, language, sentiment)
               SELECT conv.id, conv.last_seq + 1, 'in', 'customer', i.channel, i.external_id,
                      i.text, i.meta,
                      CASE WHEN plan.decided THEN i.nlu::jsonb END,
                      CASE WHEN plan.decided THEN i.language END,
                      CASE WHEN plan.decided THEN i.sentiment END
                 FROM conv JOIN input i ON i.n = conv.n JOIN plan ON plan.n = conv.n
                ORDER BY conv.n
               ON CONFLICT (channel, external_id) DO NOTHING
            RETURNING *),
           bump AS (
               UPDATE conversations c
                  SET last_seq = msg.seq, last_message_at = msg.created_at, updated_at = now()
                 FROM msg WHERE c.id = msg.conversation_id),
           -- Each message's message.created, then its message.interpreted when understood.
           evt AS (
               INSERT INTO events (name, conversation_id, data)
               SELECT e.name, e.conversation_id, e.data
                 FROM (SELECT msg.id AS message_id, 0 AS k, 'message.created' AS name,
                              msg.conversation_id,
                              jsonb_build_object('message_id', msg.id, 'inbox_id',
                                                 conv.inbox_id, 'contact_id', conv.contact_id)
                                  AS data
                         FROM msg
                         JOIN input i
                           ON i.channel = msg.channel AND i.external_id = msg.external_id
                         JOIN conv ON conv.n = i.n
                       UNION ALL
                       SELECT msg.id, 1, 'message.interpreted', msg.conversation_id,
                              jsonb_build_object('message_id', msg.id)
                         FROM msg WHERE msg.nlu IS NOT NULL) e
                ORDER BY e.message_id, e.k
            RETURNING id, name, (data->>'message_id')::bigint AS message_id)
           SELECT conv.n AS c_n, conv.id AS c_id, conv.inbox_id AS c_inbox_id,
                  conv.contact_id AS c_contact_id, conv.channel AS c_channel,
                  conv.status AS c_status, conv.assignee_id AS c_assignee_id,
                  conv.last_seq AS c_last_seq, conv.language AS c_language, msg.*,
                  created.id AS event_id, interpreted.id AS interpreted_event_id
             FROM conv JOIN input i ON i.n = conv.n
             LEFT JOIN msg ON msg.channel = i.channel AND msg.external_id = i.external_id
             LEFT JOIN evt created
               ON created.message_id = msg.id AND created.name = 'message.created'
             LEFT JOIN evt interpreted
               ON interpreted.message_id = msg.id AND interpreted.name = 'message.interpreted'
        """,
        [UUID(item.inbox["id"]) for item in items],
        [item.inbox["channel"] for item in items],
        [item.sender_external_id for item in items],
        [item.external_id for item in items],
        [item.text for item in items],
        [item.meta for item in items],
        [_nlu(item.understood) for item in items],
        [item.understood.language if item.understood else None for item in items],
        [item.understood.interpretation.language if item.understood else None for item in items],
        [item.understood.interpretation.sentiment if item.understood else None for item in items],
        [item.understood is not None for item in items],
    )
    by_n = {row["c_n"]: row for row in rows}
    outcomes: list[Appended] = []
    for n in range(1, len(items) + 1):
        row = by_n.get(n)
        if row is None:
            outcomes.append(NO_OPEN_CONVERSATION)
            continue
        message: MessageView | None = message_view(row) if row["id"] is not None else None
        outcomes.append(
            AppendedMessage(
                conversation_row_of(row, prefix="c_"),
                row["c_language"],
                message,
                row["event_id"],
                row["interpreted_event_id"],
            )
        )
    return outcomes


def _nlu(understood: Understood | None) -> str | None:
    """The interpretation as the messages' nlu column keeps it (as nlu.record_understanding
    writes it)."""
    if understood is None:
        return None
    return orjson.dumps(understood.interpretation.to_json()).decode()
