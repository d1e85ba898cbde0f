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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from server.payloads import MessageView
from server.store.conversations import NO_OPEN_CONVERSATION, Appended
from server.store.views import Conn, Inbox, conversation_row_of, message_view


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


async def append_many(conn: Conn, items: list[Append]) -> list[Appended]:
    """Store each item in its sender's open conversation, in one statement; for each, in
    order: (the conversation as it was, the message or None for a
    redelivery, its event id or None), or NO_OPEN_CONVERSATION. At most one item per sender
    and inbox."""
    if not items:
        return []
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::jsonb[])
                   WITH ORDINALITY AS i(inbox_id, channel, sender, external_id, text, meta, n)),
           -- Locked in id order: two batches never wait for each other in a circle.
           conv AS (
               SELECT c.id, c.inbox_id, c.contact_id, c.channel, c.status, c.assignee_id,
                      c.last_seq, i.n
                 FROM input i
                 JOIN contact_identities ci
                   ON ci.channel = i.channel AND ci.external_id = i.sender
                 JOIN conversations c ON c.contact_id = ci.contact_id
                WHERE c.inbox_id = i.inbox_id AND c.status <> 'resolved'
                  AND c.thread_key IS NULL
                ORDER BY c.id
                  FOR NO KEY UPDATE OF c),
           msg AS (
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     external_id, text, meta)
               SELECT conv.id, conv.last_seq + 1, 'in', 'customer', i.channel, i.external_id,
                      i.text, i.meta
                 FROM conv JOIN input i ON i.n = conv.n
                ORDER BY conv.n
               ON CONFLICT (channel, external_id) DO NOTHING
            RETURNING *),
           bump AS (
               UPDATE conversations c
                  SET last_seq = msg.seq, last_message_at = msg.created_at, updated_at = now()
                 FROM msg WHERE c.id = msg.conversation_id),
           evt AS (
               INSERT INTO events (name, conversation_id, data)
               SELECT 'message.created', msg.conversation_id,
                      jsonb_build_object('message_id', msg.id, 'inbox_id', conv.inbox_id,
                                         'contact_id', conv.contact_id)
                 FROM msg
                 JOIN input i ON i.channel = msg.channel AND i.external_id = msg.external_id
                 JOIN conv ON conv.n = i.n
                ORDER BY msg.id
            RETURNING id, (data->>'message_id')::bigint AS message_id)
           SELECT conv.n AS c_n, conv.id AS c_id, conv.inbox_id AS c_inbox_id,
                  conv.contact_id AS c_contact_id, conv.channel AS c_channel,
                  conv.status AS c_status, conv.assignee_id AS c_assignee_id,
                  conv.last_seq AS c_last_seq, msg.*, evt.id AS event_id
             FROM conv JOIN input i ON i.n = conv.n
             LEFT JOIN msg ON msg.channel = i.channel AND msg.external_id = i.external_id
             LEFT JOIN evt ON evt.message_id = msg.id""",
        [UUID(item.inbox["id"]) for item in items],
        [item.inbox["channel"] for item in items],
        [item.sender_external_id for item in items],
        [item.external_id for item in items],
        [item.text for item in items],
        [item.meta for item in items],
    )
    by_n = {row["c_n"]: row for row in rows}
    outcomes: list[Appended] = []
    for n in range(1, len(items) + 1):
        row = by_n.get(n)
        if row is None:
            outcomes.append(NO_OPEN_CONVERSATION)
            continue
        message: MessageView | None = message_view(row) if row["id"] is not None else None
        outcomes.append((conversation_row_of(row, prefix="c_"), message, row["event_id"]))
    return outcomes
