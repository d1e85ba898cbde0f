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

# How far back from a conversation's last message the statement looks for its customer's
# last one (to know it is understood): after this many messages of others since, the next
# customer message goes the long way (routed after the commit), which is always correct.
GUARD_WINDOW = 16


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
           -- Each sender's open conversation, found by two index look-ups a message,
           -- whatever the planner believes of the tables' sizes: joined as tables, a fresh
           -- table's estimate of one row made it join every message with every
           -- conversation of the inbox and look each pair's sender up (10,000 look-ups
           -- for a batch of 100: most of the statement's time). Then locked in id order,
           -- so two batches never wait for each other in a circle; a conversation resolved
           -- meanwhile drops out under the lock (its message goes the longer way).
           found AS MATERIALIZED (
               SELECT i.n,
                      (SELECT c.id FROM conversations c
                        WHERE c.inbox_id = i.inbox_id
                          AND c.contact_id = (
                              SELECT ci.contact_id FROM contact_identities ci
                               WHERE ci.channel = i.channel AND ci.external_id = i.sender)
                          AND c.status <> 'resolved' AND c.thread_key IS NULL) AS id
                 FROM input i),
           conv AS (
               SELECT c.id, c.inbox_id, c.contact_id, c.channel, c.status, c.assignee_id,
                      c.last_seq, c.language, found.n
                 FROM found JOIN conversations c ON c.id = found.id
                WHERE c.status <> 'resolved' AND c.thread_key IS NULL
                ORDER BY c.id
                  FOR NO KEY UPDATE OF c),
           -- Each message, with its interpretation if that holds (``decided``): the
           -- conversation waits for or has a person, in the language it assumed, which the
           -- message does not change, and no earlier message of its customer waits to be
           -- understood: the customer's last one (an agent's reply may follow it) is
           -- understood. The messages are read in the statement's snapshot, and the lock
           -- re-reads the conversation as the last append committed it: a message appended
           -- while this statement waited for the lock is not in the snapshot, so unless the
           -- conversation's last_seq is still the snapshot's, the message goes the long way.
           msg AS (
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     external_id, text, meta, nlu, language, sentiment)
               SELECT conv.id, conv.last_seq + 1, 'in', 'customer', i.channel, i.external_id,
                      i.text, i.meta,
                      CASE WHEN plan.decided THEN i.nlu::jsonb END,
                      CASE WHEN plan.decided THEN i.language END,
                      CASE WHEN plan.decided THEN i.sentiment END
                 FROM conv JOIN input i ON i.n = conv.n
                 -- A lateral subquery kept apart by OFFSET 0, so the guard runs once a row:
                 -- pulled up, it ran once for each of the three CASEs above, and as a CTE
                 -- joined back, its scan ran once for every row (a nested loop).
                 CROSS JOIN LATERAL (
                     SELECT i.understood
                            AND conv.status IN ('queued', 'assigned')
                            AND conv.language IS NOT DISTINCT FROM i.seen_language
                            AND (i.language IS NULL OR i.language = conv.language)
                            AND conv.last_seq = (SELECT s.last_seq FROM conversations s
                                                  WHERE s.id = conv.id)
                            -- Within the conversation's last GUARD_WINDOW messages, so the
                            -- walk back reads a bounded range of the (conversation_id, seq)
                            -- key however the planner sees the table: with a fresh table's
                            -- statistics its plan read every message of the conversation
                            -- (bitmap) and sorted them, three times for every message
                            -- stored, a cost that grows with the conversation (issue 14:
                            -- the statement was on the CPU in 34 of 40 samples at 2,500
                            -- msg/s, PostgreSQL near a core, until autoanalyze ran). No
                            -- customer message in the window: the long way, unless the
                            -- window holds the whole conversation.
                            AND coalesce((SELECT p.nlu IS NOT NULL FROM messages p
                                           WHERE p.conversation_id = conv.id
                                             AND p.seq > conv.last_seq - $12
                                             AND p.author_kind = 'customer'
                                           ORDER BY p.seq DESC LIMIT 1),
                                         conv.last_seq <= $12) AS decided
                     OFFSET 0) plan
                ORDER BY conv.n
               ON CONFLICT (channel, external_id) DO NOTHING
            -- What the message's view reads (views.message_view): not its search words,
            -- whose text form each row would otherwise be turned into and sent back.
            RETURNING id, conversation_id, seq, direction, author_kind, author_id, channel,
                      external_id, text, created_at, meta, nlu),
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
                              jsonb_build_object('message_id', msg.id, 'inbox_id', c.inbox_id,
                                                 'contact_id', c.contact_id) AS data
                         FROM msg JOIN conversations c ON c.id = msg.conversation_id
                       UNION ALL
                       SELECT msg.id, 1, 'message.interpreted', msg.conversation_id,
                              jsonb_build_object('message_id', msg.id)
                         FROM msg WHERE msg.nlu IS NOT NULL) e
                ORDER BY e.message_id, e.k
            RETURNING id, name, (data->>'message_id')::bigint AS message_id)
           -- The conversations, the messages and the events as rows of their own, each CTE
           -- read once (matched in Python): joined here, each join of two of them read one
           -- of them again for every row of the other (a batch of 100, 10,000 rows).
           SELECT conv.n AS c_n, conv.id AS c_id, conv.inbox_id AS c_inbox_id,
                  conv.contact_id AS c_contact_id, conv.channel AS c_channel,
                  conv.status AS c_status, conv.assignee_id AS c_assignee_id,
                  conv.last_seq AS c_last_seq, conv.language AS c_language,
                  NULL::bigint AS id, NULL::uuid AS conversation_id, NULL::int AS seq,
                  NULL::text AS direction, NULL::text AS author_kind, NULL::uuid AS author_id,
                  NULL::text AS channel, NULL::text AS external_id, NULL::text AS text,
                  NULL::timestamptz AS created_at, NULL::jsonb AS meta, NULL::jsonb AS nlu,
                  NULL::bigint AS event_id, NULL::text AS event_name,
                  NULL::bigint AS event_message_id
             FROM conv
           UNION ALL
           SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, msg.id,
                  msg.conversation_id, msg.seq, msg.direction, msg.author_kind, msg.author_id,
                  msg.channel, msg.external_id, msg.text, msg.created_at, msg.meta, msg.nlu,
                  NULL, NULL, NULL
             FROM msg
           UNION ALL
           SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, evt.id, evt.name,
                  evt.message_id
             FROM evt
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
        GUARD_WINDOW,
    )
    convs: dict[int, Any] = {}
    # Each message by its channel id, never by its conversation: when two senders of one
    # contact share a batch and one of them is a redelivery (not inserted), the other's
    # message must not be taken for it.
    messages: dict[tuple[str, str], Any] = {}
    # message id -> event name -> event id
    stored: dict[int, dict[str, int]] = {}
    for row in rows:
        if row["c_n"] is not None:
            convs[row["c_n"]] = row
        elif row["id"] is not None:
            messages[(row["channel"], row["external_id"])] = row
        else:
            stored.setdefault(row["event_message_id"], {})[row["event_name"]] = row["event_id"]
    outcomes: list[Appended] = []
    for n, item in enumerate(items, 1):
        conv = convs.get(n)
        if conv is None:
            outcomes.append(NO_OPEN_CONVERSATION)
            continue
        found = messages.get((item.inbox["channel"], item.external_id))
        message: MessageView | None = message_view(found) if found is not None else None
        events = stored.get(found["id"], {}) if found is not None else {}
        outcomes.append(
            AppendedMessage(
                conversation_row_of(conv, prefix="c_"),
                conv["c_language"],
                message,
                events.get("message.created"),
                events.get("message.interpreted"),
            )
        )
    return outcomes


def _nlu(understood: Understood | None) -> str | None:
    """The interpretation as the messages' nlu column keeps it (as nlu.record_understanding
    writes it)."""
    if understood is None:
        return None
    return orjson.dumps(understood.interpretation.to_json()).decode()
