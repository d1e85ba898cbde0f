"""What the NLU layer stores: interpretations on messages, the bot's state on conversations,
and the dialogue history the embedded engine reads back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from nlu.base import Button, Entity, Interpretation, PastTurn
from server.payloads import MessageView
from server.store.kb_feedback import LAST_BOT_META_SQL, Asked, asked_of
from server.store.views import Conn, ConversationRow, conversation_row_of, message_view

HISTORY_LENGTH = 20
# The customer's earlier messages the handoff detectors read (frustration that builds up), and
# how much of each: the opening says how the customer feels.
EARLIER_TEXTS = 10
EARLIER_TEXT_CHARS = 500
# Other conversations of the same contact within this many days count as repeated contact
# (the queue's priority counts them over the same days).
REPEAT_DAYS = 7
# The customer's sentiments are looked for among their last this many messages: unbounded,
# a conversation whose messages have none (NLU off, or not interpreted yet) was read whole
# for every message routed in it (issue 14). The queue's placement reads the same window.
INTERPRETED_WINDOW = 50


async def store_interpretation(
    conn: Conn,
    message_id: int,
    interpretation: Interpretation,
    *,
    conversation_id: str,
    fallbacks: int,
) -> MessageView | None:
    """Store the interpretation with the message and the bot's state (its fallback count, the
    conversation's language) with the conversation, in one statement. Returns the message as
    it now reads, or None, writing nothing, when it was already interpreted (another node
    routed it first)."""
    row = await conn.fetchrow(
        """WITH understood AS (
               UPDATE messages SET nlu = $2, language = $3, sentiment = $4
                WHERE id = $1 AND nlu IS NULL RETURNING *),
           state AS (
               UPDATE conversations SET bot_fallbacks = $6, language = coalesce($3, language)
                WHERE id = $5 AND EXISTS (SELECT 1 FROM understood))
           SELECT * FROM understood""",
        message_id,
        interpretation.to_json(),
        interpretation.language,
        interpretation.sentiment,
        UUID(conversation_id),
        fallbacks,
    )
    return message_view(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Understood:
    """A message's interpretation and the bot's fallback count after it, to store
    (``store_interpretations``)."""

    message_id: int
    conversation_id: str
    interpretation: Interpretation
    fallbacks: int


async def store_interpretations(conn: Conn, understood: list[Understood]) -> dict[int, MessageView]:
    """``store_interpretation`` of messages of several conversations (one message each) in
    one statement: the messages as they now read, by id; one left out was interpreted already
    (another node routed it first), and its conversation is not written either."""
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::text[], $4::real[],
                                    $5::uuid[], $6::int[])
                   AS i(message_id, nlu, language, sentiment, conversation_id, fallbacks)),
           understood AS (
               UPDATE messages m SET nlu = i.nlu, language = i.language, sentiment = i.sentiment
                 FROM input i
                WHERE m.id = i.message_id AND m.nlu IS NULL RETURNING m.*),
           state AS (
               UPDATE conversations c
                  SET bot_fallbacks = i.fallbacks, language = coalesce(i.language, c.language)
                 FROM input i JOIN understood u ON u.id = i.message_id
                WHERE c.id = i.conversation_id)
           SELECT * FROM understood""",
        [u.message_id for u in understood],
        [u.interpretation.to_json() for u in understood],
        [u.interpretation.language for u in understood],
        [u.interpretation.sentiment for u in understood],
        [UUID(u.conversation_id) for u in understood],
        [u.fallbacks for u in understood],
    )
    return {r["id"]: message_view(r) for r in rows}


async def commit_without_flush(conn: Conn) -> None:
    """Let the current transaction's commit return before its WAL reaches the disk.

    Only for transactions that write derived data alone (an interpretation, the bot's state,
    a priority, their events) and send nothing to a customer: a crash loses at most the last
    few hundred milliseconds of them, and the start-up sweep re-derives each one, because
    its message is left uninterpreted (``unrouted_messages``). The message itself was
    committed durably at ingest, so one fsync per message remains; a later durable commit
    flushes the WAL before it, this one included.
    """
    await conn.execute("SET LOCAL synchronous_commit TO off")


# A customer message stored but never interpreted, in an open conversation, recent enough to
# route (``unrouted_messages``, ``is_unrouted``).
_UNROUTED = (
    "m.author_kind = 'customer' AND m.nlu IS NULL AND c.status <> 'resolved'"
    " AND m.created_at > now() - make_interval(secs => $1)"
)


async def unrouted_messages(conn: Conn, max_age_seconds: float) -> list[MessageView]:
    """Customer messages stored but never interpreted (the node died between the
    acknowledgement and routing), in open conversations, oldest first."""
    rows = await conn.fetch(
        "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        f" WHERE {_UNROUTED} ORDER BY m.conversation_id, m.seq",
        max_age_seconds,
    )
    return [message_view(r) for r in rows]


async def is_unrouted(conn: Conn, message_id: int, max_age_seconds: float) -> bool:
    """Whether this message is one ``unrouted_messages`` would return."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM messages m JOIN conversations c"
        f" ON c.id = m.conversation_id WHERE m.id = $2 AND {_UNROUTED})",
        max_age_seconds,
        message_id,
    )
    return found


@dataclass(frozen=True, slots=True)
class RoutingFacts:
    """What deciding on a customer's message needs besides its interpretation, read before
    the (possibly slow) NLU without a lock."""

    conversation: ConversationRow
    vip: bool
    fallbacks: int
    language: str | None
    # The sentiments of the customer's last messages before this one, oldest first.
    earlier_sentiments: tuple[float, ...]
    # The customer's last messages before this one (their openings), oldest first.
    earlier_texts: tuple[str, ...] = ()
    # The contact's other conversations opened in the last REPEAT_DAYS days.
    earlier_conversations: int = 0
    # The bot's knowledge-base step's look at the conversation (kb_feedback.asked), when
    # the bot has it (status "bot"); None otherwise.
    asked: Asked | None = None
    # Whether the message (at ``before_seq``) is interpreted already: another node routed it
    # (a sweep's copy of a message a living node held), so the NLU is not run twice.
    interpreted: bool = False


# What routing a message needs to know, by the message's seq ($2): ``routing_facts`` reads it
# for one conversation, ``routing_facts_of`` for several (each row's seq in place of $2).
_ROUTING_FACTS_SQL = (
    """SELECT c.id, c.inbox_id, c.contact_id, c.channel, c.status, c.assignee_id,
                  c.last_seq, ct.vip, c.bot_fallbacks, c.language, b.id AS brand_id,
                  b.slug AS brand_slug,
                  CASE WHEN c.status = 'bot' THEN """
    + LAST_BOT_META_SQL
    + """ END AS bot_meta,
                  ARRAY(SELECT w.sentiment FROM (
                             SELECT m.sentiment, m.seq FROM messages m
                              WHERE m.conversation_id = c.id AND m.seq < $2
                                AND m.author_kind = 'customer'
                              ORDER BY m.seq DESC LIMIT $7) w
                         WHERE w.sentiment IS NOT NULL
                         ORDER BY w.seq DESC LIMIT $3) AS sentiments,
                  ARRAY(SELECT left(coalesce(m.text, ''), $5) FROM messages m
                         WHERE m.conversation_id = c.id AND m.seq < $2
                           AND m.author_kind = 'customer'
                         ORDER BY m.seq DESC LIMIT $4) AS texts,
                  (SELECT count(*) FROM conversations o
                    WHERE o.contact_id = c.contact_id AND o.id <> c.id
                      AND o.created_at > now() - make_interval(days => $6)) AS repeats,
                  EXISTS (SELECT 1 FROM messages m
                           WHERE m.conversation_id = c.id AND m.seq = $2
                             AND m.nlu IS NOT NULL) AS interpreted
             FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             JOIN brands b ON b.id = c.brand_id
"""
)


async def routing_facts(
    conn: Conn, conversation_id: str, before_seq: int, window: int
) -> RoutingFacts:
    """The conversation, the contact's VIP flag, the fallback count, the conversation's
    language, the sentiments of the customer's last ``window`` messages before ``before_seq``,
    their last texts, the contact's other recent conversations and, when the bot has the
    conversation, what its knowledge-base step needs (``kb_feedback.asked``), in one
    statement."""
    row = await conn.fetchrow(
        _ROUTING_FACTS_SQL + " WHERE c.id = $1",
        UUID(conversation_id),
        before_seq,
        window,
        EARLIER_TEXTS,
        EARLIER_TEXT_CHARS,
        REPEAT_DAYS,
        INTERPRETED_WINDOW,
    )
    assert row is not None
    return _routing_facts(row)


async def routing_facts_of(
    conn: Conn, wanted: list[tuple[str, int]], window: int
) -> dict[tuple[str, int], RoutingFacts]:
    """``routing_facts`` for several messages at once, ``wanted`` being (conversation id,
    seq) pairs: one statement, by pair (the mails routed together: issue 14)."""
    rows = await conn.fetch(
        "SELECT i.seq AS before_seq, "
        + _ROUTING_FACTS_SQL.replace("$2", "i.seq")
        .removeprefix("SELECT ")
        .replace(
            "FROM conversations c JOIN",
            "FROM unnest($1::uuid[], $2::int[]) AS i(id, seq)"
            " JOIN conversations c ON c.id = i.id JOIN",
        ),
        [UUID(conversation_id) for conversation_id, _ in wanted],
        [seq for _, seq in wanted],
        window,
        EARLIER_TEXTS,
        EARLIER_TEXT_CHARS,
        REPEAT_DAYS,
        INTERPRETED_WINDOW,
    )
    return {(str(row["id"]), row["before_seq"]): _routing_facts(row) for row in rows}


def _routing_facts(row: Any) -> RoutingFacts:
    return RoutingFacts(
        conversation=conversation_row_of(row),
        vip=bool(row["vip"]),
        fallbacks=int(row["bot_fallbacks"]),
        language=row["language"],
        earlier_sentiments=tuple(float(s) for s in reversed(row["sentiments"])),
        earlier_texts=tuple(reversed(row["texts"])),
        earlier_conversations=int(row["repeats"]),
        asked=(
            asked_of(row["brand_id"], row["brand_slug"], row["bot_meta"])
            if row["status"] == "bot"
            else None
        ),
        interpreted=bool(row["interpreted"]),
    )


class StatusChanged(Exception):
    """The conversation's status is no longer the one the decision was made for."""


async def record_understanding(
    conn: Conn,
    message_id: int,
    interpretation: Interpretation,
    *,
    conversation_id: str,
    status: str,
    fallbacks: int,
) -> tuple[MessageView, int] | None:
    """The common routing write in one statement, committed on its own without waiting for
    the WAL flush: the interpretation, the bot's state and the message.interpreted event,
    provided the conversation is still in ``status`` (the decision was made for it; the row
    is locked while the statement checks). Derived data only (see commit_without_flush).

    Returns the message as it now reads and its event id; None, writing nothing, when the
    message was already interpreted (another node routed it). Raises StatusChanged, writing
    nothing, when the status moved on: the caller decides again under a lock.
    """
    row = await conn.fetchrow(
        """WITH conv AS (
               SELECT id, status FROM conversations WHERE id = $5 FOR NO KEY UPDATE),
           understood AS (
               UPDATE messages m SET nlu = $2, language = $3, sentiment = $4
                 FROM conv
                WHERE m.id = $1 AND m.nlu IS NULL AND conv.status = $6
            RETURNING m.*),
           state AS (
               UPDATE conversations c
                  SET bot_fallbacks = $7, language = coalesce($3, c.language)
                 FROM understood WHERE c.id = understood.conversation_id
                  -- Usually nothing changes: then no new row version is written at all.
                  AND (c.bot_fallbacks <> $7
                       OR c.language IS DISTINCT FROM coalesce($3, c.language))),
           evt AS (
               INSERT INTO events (name, conversation_id, data)
               SELECT 'message.interpreted', understood.conversation_id,
                      jsonb_build_object('message_id', understood.id)
                 FROM understood
            RETURNING id)
           SELECT conv.status AS c_status, (SELECT id FROM evt) AS event_id,
                  set_config('synchronous_commit', 'off', true) AS lazy_commit, understood.*
             FROM conv LEFT JOIN understood ON true""",
        message_id,
        interpretation.to_json(),
        interpretation.language,
        interpretation.sentiment,
        UUID(conversation_id),
        status,
        fallbacks,
    )
    assert row is not None  # conversations are never deleted
    if row["c_status"] != status:
        raise StatusChanged(row["c_status"])
    if row["id"] is None:
        return None
    return message_view(row), int(row["event_id"])


async def set_handoff(conn: Conn, conversation_id: str, reason: str) -> None:
    await conn.execute(
        "UPDATE conversations SET status = 'queued', handoff_reason = $2, handoff_at = now(),"
        " updated_at = now() WHERE id = $1",
        UUID(conversation_id),
        reason,
    )


async def return_to_bot(conn: Conn, conversation_id: str) -> None:
    await conn.execute(
        "UPDATE conversations SET status = 'bot', assignee_id = NULL, handoff_reason = NULL,"
        " handoff_at = NULL, bot_fallbacks = 0, queued_at = NULL, first_response_due = NULL,"
        " resolution_due = NULL, updated_at = now() WHERE id = $1",
        UUID(conversation_id),
    )


async def keep_dialogue_slots(
    conn: Conn,
    message_id: int,
    slots: dict[str, Any],
    events: Sequence[dict[str, Any]] = (),
) -> None:
    """Keep the bot's dialogue slots after it answered a customer message, and what its turn
    did to the dialogue's tracker (``BotTurn.events``, bounded by the engine), with the
    message's interpretation (``dialogue_history`` gives them back; an erasure clears them
    with it)."""
    await conn.execute(
        "UPDATE messages SET nlu = nlu || jsonb_build_object('slots', $2::jsonb)"
        " || CASE WHEN $3::jsonb = '[]'::jsonb THEN '{}'::jsonb"
        " ELSE jsonb_build_object('events', $3::jsonb) END"
        " WHERE id = $1 AND nlu IS NOT NULL",
        message_id,
        slots,
        list(events),
    )


async def dialogue_history(conn: Conn, conversation_id: str, before_seq: int) -> list[PastTurn]:
    """The customer's intents and the bot's actions before ``before_seq``, oldest first.
    Agent and system messages are not part of the bot's dialogue."""
    rows = await conn.fetch(
        "SELECT author_kind, nlu, meta, extract(epoch FROM created_at)::float8 AS at"
        " FROM messages WHERE conversation_id = $1 AND seq < $2"
        " AND author_kind IN ('customer', 'bot') ORDER BY seq DESC LIMIT $3",
        UUID(conversation_id),
        before_seq,
        HISTORY_LENGTH,
    )
    turns: list[PastTurn] = []
    for row in reversed(rows):
        if row["author_kind"] == "customer":
            nlu: dict[str, Any] | None = row["nlu"]
            if nlu is None:
                continue
            entities = tuple(Entity(**e) for e in nlu.get("entities") or ())
            text = str(nlu.get("text") or "")
            intent = nlu.get("retrieval_intent") or nlu["intent"]
            slots = nlu.get("slots")
            kept = tuple(slots.items()) if isinstance(slots, dict) else ()
            applied = nlu.get("events")
            record = tuple(applied) if isinstance(applied, list) else ()
            turns.append(
                PastTurn(
                    intent=str(intent),
                    entities=entities,
                    text=text,
                    slots=kept,
                    events=record,
                    at=row["at"],
                )
            )
        else:
            action = (row["meta"] or {}).get("action")
            # One action may say several things; it is one step of the dialogue.
            if action and not (turns and turns[-1].action == action):
                turns.append(PastTurn(action=str(action)))
    return turns


async def offered_buttons(conn: Conn, conversation_id: str, before_seq: int) -> list[Button]:
    """The choices the bot offered since the customer last wrote before ``before_seq`` (its
    buttons, shown as numbered options); none when an agent or the system spoke after them,
    since a number then answers someone else."""
    rows = await conn.fetch(
        """SELECT author_kind, meta FROM messages
            WHERE conversation_id = $1 AND seq < $2 AND direction = 'out'
              AND seq > coalesce((SELECT max(seq) FROM messages WHERE conversation_id = $1
                                     AND seq < $2 AND direction = 'in'), 0)
            ORDER BY seq DESC""",
        UUID(conversation_id),
        before_seq,
    )
    for row in rows:
        buttons = (row["meta"] or {}).get("buttons")
        if buttons:
            return [Button(str(b["title"]), str(b["payload"])) for b in buttons]
        if row["author_kind"] != "bot":
            return []
    return []
