"""Conversations: open one, lock it, change its status, list them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from uuid import UUID

from server.errors import NotFound
from server.payloads import ConversationView
from server.store.views import (
    CONVERSATION_VIEW_SQL,
    Conn,
    ConversationRow,
    Inbox,
    conversation_row_of,
    conversation_view,
    optional_str,
    parse_uuid,
)
from web_console.access import Placement, Reach
from web_console.port import EVERYTHING, ListFilter


class _Missing(Enum):
    NO_OPEN_CONVERSATION = "no open conversation"


# What appending to a sender's open conversation gives when the sender is new or has no open
# conversation in the inbox (server/store/appends.py).
NO_OPEN_CONVERSATION = _Missing.NO_OPEN_CONVERSATION


async def lock_open_conversation(
    conn: Conn, inbox: Inbox, contact_id: str
) -> tuple[ConversationRow, bool]:
    """The contact's open conversation in the inbox, row-locked; opened if there is none.

    Returns the row and whether it was opened now. The lock serialises writers of one
    conversation, which keeps its message sequence gap-free.
    """
    while True:
        row = await conn.fetchrow(
            "SELECT * FROM conversations WHERE inbox_id = $1 AND contact_id = $2"
            " AND status <> 'resolved' AND thread_key IS NULL FOR NO KEY UPDATE",
            UUID(inbox["id"]),
            UUID(contact_id),
        )
        if row is not None:
            return conversation_row_of(row), False
        row = await conn.fetchrow(
            "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel)"
            " VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (inbox_id, contact_id)"
            " WHERE status <> 'resolved' AND thread_key IS NULL DO NOTHING"
            " RETURNING *",
            UUID(inbox["brand_id"]),
            UUID(inbox["id"]),
            UUID(contact_id),
            inbox["channel"],
        )
        if row is not None:
            return conversation_row_of(row), True
        # Another transaction opened it first; loop to lock theirs.


async def lock_thread_conversation(
    conn: Conn, inbox: Inbox, contact_id: str, thread: str, subject: str | None
) -> tuple[ConversationRow, str]:
    """The thread's conversation in the inbox, row-locked: opened if new, reopened if it was
    resolved (the customer wrote in the thread again). Returns the row and "opened",
    "reopened" or "open".

    Finding and opening are one statement (one round trip): a new thread, as most mails
    start one, used to cost a SELECT that found nothing before the INSERT (issue 14)."""
    while True:
        row = await conn.fetchrow(
            """WITH found AS (
                   SELECT * FROM conversations WHERE inbox_id = $1 AND thread_key = $2
                      FOR NO KEY UPDATE),
               opened AS (
                   INSERT INTO conversations (brand_id, inbox_id, contact_id, channel,
                                              thread_key, subject, reply_token)
                   SELECT $3, $1, $4, $5, $2, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM found)
                   ON CONFLICT (inbox_id, thread_key) WHERE thread_key IS NOT NULL DO NOTHING
                   RETURNING *)
               SELECT false AS new, * FROM found UNION ALL SELECT true AS new, * FROM opened""",
            UUID(inbox["id"]),
            thread,
            UUID(inbox["brand_id"]),
            UUID(contact_id),
            inbox["channel"],
            subject[:500] if subject else None,
            secrets.token_hex(8),
        )
        if row is None:
            continue  # another transaction opened it first: lock theirs
        if row["new"]:
            return conversation_row_of(row), "opened"
        if row["status"] != "resolved":
            return conversation_row_of(row), "open"
        return await reopen_thread(conn, str(row["id"])), "reopened"


async def reopen_thread(conn: Conn, conversation_id: str) -> ConversationRow:
    """A resolved thread's conversation (row-locked by the caller) back to the start of the
    flow, because the customer wrote in it again; the agent who had it stays on record, so
    the router offers it to them first."""
    reopened = await conn.fetchrow(
        """UPDATE conversations
              SET status = 'bot', previous_agent_id = coalesce(assignee_id,
                  previous_agent_id), assignee_id = NULL, resolved_at = NULL,
                  handoff_reason = NULL, handoff_at = NULL, bot_fallbacks = 0,
                  queued_at = NULL, assigned_at = NULL, first_response_at = NULL,
                  first_response_due = NULL, resolution_due = NULL, escalation = 0,
                  updated_at = now()
            WHERE id = $1 RETURNING *""",
        UUID(conversation_id),
    )
    assert reopened is not None  # the row is locked: it is still there
    return conversation_row_of(reopened)


@dataclass(frozen=True, slots=True)
class Thread:
    """A thread a message of ``contact_id`` is for, in one of our inboxes (``lock_threads``)."""

    inbox: Inbox
    contact_id: str
    thread: str
    subject: str | None


async def lock_threads(
    conn: Conn, threads: list[Thread]
) -> dict[tuple[str, str], tuple[ConversationRow, bool]]:
    """``lock_thread_conversation``'s first step for several threads (each once) in one
    statement: each thread's conversation, row-locked (those found in id order), or opened
    if it has none, by (inbox id, thread): with True when opened now. A resolved one is
    returned as it is (the caller reopens it: ``reopen_thread``); one another transaction
    opened meanwhile is left out (``lock_thread_conversation`` locks theirs)."""
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                                    $6::text[], $7::text[]) WITH ORDINALITY
                   AS i(inbox_id, brand_id, contact_id, channel, thread_key, subject,
                        reply_token, n)),
           found AS (
               SELECT c.* FROM conversations c
                 JOIN input i ON c.inbox_id = i.inbox_id AND c.thread_key = i.thread_key
                ORDER BY c.id FOR NO KEY UPDATE OF c),
           opened AS (
               INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, thread_key,
                                          subject, reply_token)
               SELECT i.brand_id, i.inbox_id, i.contact_id, i.channel, i.thread_key,
                      i.subject, i.reply_token
                 FROM input i
                WHERE NOT EXISTS (SELECT 1 FROM found f
                                   WHERE f.inbox_id = i.inbox_id AND f.thread_key = i.thread_key)
                ORDER BY i.n
               ON CONFLICT (inbox_id, thread_key) WHERE thread_key IS NOT NULL DO NOTHING
               RETURNING *)
           SELECT false AS new, * FROM found UNION ALL SELECT true AS new, * FROM opened""",
        [UUID(t.inbox["id"]) for t in threads],
        [UUID(t.inbox["brand_id"]) for t in threads],
        [UUID(t.contact_id) for t in threads],
        [t.inbox["channel"] for t in threads],
        [t.thread for t in threads],
        [t.subject[:500] if t.subject else None for t in threads],
        [secrets.token_hex(8) for _ in threads],
    )
    return {
        (str(r["inbox_id"]), r["thread_key"]): (conversation_row_of(r), bool(r["new"]))
        for r in rows
    }


async def conversation_row(
    conn: Conn, conversation_id: str, *, lock: bool = False
) -> ConversationRow:
    """One conversation's row; ``lock`` takes its row lock for the rest of the transaction.

    Every writer of a conversation locks it FOR NO KEY UPDATE (so does an UPDATE that leaves
    the key alone): they serialise as with FOR UPDATE, but the key-share lock that inserting
    a row referencing the conversation takes (a message, an event, a vector) is not made to
    wait for a whole routing transaction, as it was (issue 14: seen as lock waits in the mail
    bench). Deleting a conversation still waits for them."""
    row = await conn.fetchrow(
        "SELECT * FROM conversations WHERE id = $1" + (" FOR NO KEY UPDATE" if lock else ""),
        parse_uuid(conversation_id),
    )
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation_row_of(row)


async def locked_rows(conn: Conn, conversation_ids: list[str]) -> dict[str, ConversationRow]:
    """``conversation_row(..., lock=True)`` of several conversations in one statement, locked
    in id order (as every batch writer of conversations locks them, so two batches never wait
    for each other in a circle); by id. A missing one is NotFound."""
    rows = await conn.fetch(
        "SELECT * FROM conversations WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE",
        [parse_uuid(i) for i in conversation_ids],
    )
    found = {str(r["id"]): conversation_row_of(r) for r in rows}
    for conversation_id in conversation_ids:
        if conversation_id not in found:
            raise NotFound(f"no conversation {conversation_id}")
    return found


async def conversation(conn: Conn, conversation_id: str) -> ConversationView:
    row = await conn.fetchrow(
        CONVERSATION_VIEW_SQL + " WHERE c.id = $1", parse_uuid(conversation_id)
    )
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation_view(row)


# The conversations a Reach lets its agent see (web_console/access.py), as SQL over the
# parameters reach_params gives, from $n on.
def reach_filter(n: int) -> str:
    return (
        f"(${n}::bool OR c.brand_id = ANY(${n + 1}::uuid[])"
        f" OR (c.brand_id = ANY(${n + 2}::uuid[])"
        f" AND (c.team_id IS NULL OR c.team_id = ANY(${n + 3}::uuid[])"
        f" OR c.assignee_id = ${n + 4}::uuid)))"
    )


def reach_params(reach: Reach) -> tuple[bool, list[UUID], list[UUID], list[UUID], UUID]:
    return (
        reach.everything,
        [UUID(b) for b in reach.whole_brands],
        [UUID(b) for b in reach.team_brands],
        [UUID(t) for t in reach.teams],
        UUID(reach.agent_id),
    )


async def conversations(
    conn: Conn,
    statuses: list[str],
    reach: Reach,
    limit: int = 200,
    before: tuple[datetime, UUID] | None = None,
    only: ListFilter = EVERYTHING,
) -> tuple[list[ConversationView], tuple[datetime, UUID] | None]:
    """A page of the conversations in these statuses that the reach lets its agent see (and
    the filter keeps), by latest activity (newest first), after the ``before`` cursor; and the
    next page's cursor (None after the last page)."""
    rows = await conn.fetch(
        CONVERSATION_VIEW_SQL
        + " WHERE c.status = ANY($1::text[]) AND "
        + reach_filter(5)
        + " AND ($3::timestamptz IS NULL"
        " OR (coalesce(c.last_message_at, c.created_at), c.id) < ($3, $4::uuid))"
        " AND ($10::text IS NULL OR c.channel = $10)"
        " AND ($11::text IS NULL OR c.brand_id = $11::uuid)"
        " AND ($12::text IS NULL OR c.team_id = $12::uuid)"
        " AND ($13::text IS NULL OR c.language = $13)"
        " AND ($14::text IS NULL OR c.labels @> ARRAY[$14::text])"
        " ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC LIMIT $2",
        statuses,
        limit + 1,
        before[0] if before else None,
        before[1] if before else None,
        *reach_params(reach),
        only.channel,
        only.brand_id,
        only.team_id,
        only.language,
        only.label,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    cursor = (last["last_message_at"] or last["created_at"], last["id"]) if more and last else None
    return [conversation_view(r) for r in rows], cursor


async def placements(conn: Conn, ids: list[str]) -> dict[str, Placement]:
    """Where each of these conversations sits (unknown ids are left out)."""
    rows = await conn.fetch(
        "SELECT id, brand_id, team_id, assignee_id FROM conversations WHERE id = ANY($1)",
        [UUID(i) for i in ids],
    )
    return {
        str(r["id"]): Placement(
            str(r["brand_id"]), optional_str(r["team_id"]), optional_str(r["assignee_id"])
        )
        for r in rows
    }


async def placement_of_message(conn: Conn, message_id: int) -> tuple[str, Placement] | None:
    """The conversation a message belongs to, and where it sits."""
    row = await conn.fetchrow(
        "SELECT c.id, c.brand_id, c.team_id, c.assignee_id FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1",
        message_id,
    )
    if row is None:
        return None
    return str(row["id"]), Placement(
        str(row["brand_id"]), optional_str(row["team_id"]), optional_str(row["assignee_id"])
    )


async def conversations_by_id(conn: Conn, ids: list[str]) -> list[ConversationView]:
    rows = await conn.fetch(
        CONVERSATION_VIEW_SQL + " WHERE c.id = ANY($1::uuid[])", [UUID(i) for i in ids]
    )
    return [conversation_view(r) for r in rows]
