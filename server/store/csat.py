"""CSAT: the survey a customer gets when their conversation is resolved, and their answer."""

from __future__ import annotations

import re
from typing import TypedDict
from uuid import UUID

from server.store.views import Conn, ConversationRow, conversation_row_of, iso

# How long after the question a bare number still answers it rather than opening a new
# conversation.
ANSWER_WITHIN_HOURS = 24
# "5", "4 - quick and kind", "3/5", "2.", " 1 " (what people type when asked for a number).
ANSWER = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!:,-]?\s*(.*)$", re.DOTALL)


class CsatView(TypedDict):
    asked_at: str | None
    rating: int | None
    comment: str | None
    answered_at: str | None


def answer_of(text: str) -> tuple[int, str | None] | None:
    """(rating, comment) when the text answers the survey, else None."""
    found = ANSWER.match(text)
    if found is None:
        return None
    comment = found.group(2).strip()
    return int(found.group(1)), comment[:2000] or None


async def ask(conn: Conn, conversation_id: str, agent_id: str | None) -> bool:
    """Note that the customer is asked; False when they were already (a resolve retried)."""
    inserted = await conn.fetchval(
        "INSERT INTO csat (conversation_id, brand_id, agent_id)"
        " SELECT id, brand_id, $2 FROM conversations WHERE id = $1"
        " ON CONFLICT (conversation_id) DO NOTHING RETURNING true",
        UUID(conversation_id),
        UUID(agent_id) if agent_id else None,
    )
    return bool(inserted)


async def waiting_answer(
    conn: Conn, inbox_id: str, contact_id: str, thread: str | None
) -> ConversationRow | None:
    """The resolved conversation a message from the contact would answer the survey of: the
    thread's (mail), or the contact's latest in the inbox; its survey asked within
    ANSWER_WITHIN_HOURS and not answered yet. Row-locked; None otherwise."""
    row = await conn.fetchrow(
        """SELECT c.* FROM conversations c JOIN csat s ON s.conversation_id = c.id
            WHERE c.status = 'resolved' AND s.rating IS NULL
              AND s.asked_at > now() - make_interval(hours => $4)
              AND c.id = (SELECT id FROM conversations
                           WHERE inbox_id = $1
                             AND CASE WHEN $3::text IS NULL
                                      THEN contact_id = $2 AND thread_key IS NULL
                                      ELSE thread_key = $3 END
                           ORDER BY created_at DESC LIMIT 1)
            FOR NO KEY UPDATE OF c""",
        UUID(inbox_id),
        UUID(contact_id),
        thread,
        ANSWER_WITHIN_HOURS,
    )
    return conversation_row_of(row) if row is not None else None


async def answer(conn: Conn, conversation_id: str, rating: int, comment: str | None) -> None:
    await conn.execute(
        "UPDATE csat SET rating = $2, comment = $3, answered_at = now() WHERE conversation_id = $1",
        UUID(conversation_id),
        rating,
        comment,
    )


async def add_comment(conn: Conn, conversation_id: str, comment: str) -> bool:
    """Keep a comment sent apart from its rating (a button carries only the number): on a
    rated survey without one, within ANSWER_WITHIN_HOURS of the rating. False otherwise."""
    kept = await conn.fetchval(
        "UPDATE csat SET comment = $2 WHERE conversation_id = $1 AND rating IS NOT NULL"
        " AND comment IS NULL AND answered_at > now() - make_interval(hours => $3)"
        " RETURNING true",
        UUID(conversation_id),
        comment[:2000],
        ANSWER_WITHIN_HOURS,
    )
    return bool(kept)


async def csat_of(conn: Conn, conversation_id: str) -> CsatView | None:
    row = await conn.fetchrow(
        "SELECT asked_at, rating, comment, answered_at FROM csat WHERE conversation_id = $1",
        UUID(conversation_id),
    )
    if row is None:
        return None
    return CsatView(
        asked_at=iso(row["asked_at"]),
        rating=row["rating"],
        comment=row["comment"],
        answered_at=iso(row["answered_at"]),
    )


async def language_of(conn: Conn, conversation_id: str) -> str | None:
    """The conversation's language, for the survey's words."""
    language: str | None = await conn.fetchval(
        "SELECT language FROM conversations WHERE id = $1", UUID(conversation_id)
    )
    return language


async def brand_of(conn: Conn, conversation_id: str) -> str:
    """The conversation's brand, whose closing words the customer gets."""
    return str(
        await conn.fetchval(
            "SELECT brand_id FROM conversations WHERE id = $1", UUID(conversation_id)
        )
    )


async def is_question(conn: Conn, message_id: int) -> bool:
    """Whether the message is a survey's rating question (a channel with buttons adds them)."""
    return bool(
        await conn.fetchval(
            "SELECT meta->>'csat' = 'asked' FROM messages WHERE id = $1", message_id
        )
    )


class Asked(TypedDict):
    """A rating question as a button press finds it: the survey's state."""

    conversation_id: str
    # The answer stored (by a press or a reply), or None.
    rating: int | None
    # Whether a number from the customer would answer it now (as ``waiting_answer`` decides:
    # resolved, asked within ANSWER_WITHIN_HOURS, not answered).
    waiting: bool


async def asked_as(conn: Conn, channel: str, delivered_as: str) -> Asked | None:
    """The survey of the rating question the channel took as ``delivered_as`` (its delivery's
    external id); None when no question was delivered so."""
    row = await conn.fetchrow(
        """SELECT s.conversation_id, s.rating,
                  s.rating IS NULL AND c.status = 'resolved'
                  AND s.asked_at > now() - make_interval(hours => $3) AS waiting
             FROM deliveries d JOIN messages m ON m.id = d.message_id
             JOIN csat s ON s.conversation_id = m.conversation_id
             JOIN conversations c ON c.id = m.conversation_id
            WHERE d.channel = $1 AND d.external_id = $2 AND m.meta->>'csat' = 'asked'""",
        channel,
        delivered_as,
        ANSWER_WITHIN_HOURS,
    )
    if row is None:
        return None
    return Asked(
        conversation_id=str(row["conversation_id"]), rating=row["rating"], waiting=row["waiting"]
    )
