"""What the console's Knowledge area reads about how articles did (migration 0024): each
article's figures, the conversations behind them, and the questions no article answers (the
content gaps' raw material). Reads only: what is written (uses, outcomes) goes through
server/store/kb_feedback.py, the bot's and the console's one writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from server.store.conversations import reach_filter, reach_params
from server.store.views import Conn
from web_console.access import Reach

# Handoff reasons that say the bot had no answer: the customer said an article did not help,
# no article came close (routing/knowledge.py), or no intent covered the message
# (routing/decision.py's OUT_OF_SCOPE).
GAP_REASONS = ("kb_not_helpful", "kb_no_answer", "out_of_scope")
# A question shorter than this says nothing an article could answer ("no", "?", "help").
MIN_QUESTION_CHARS = 8


@dataclass(frozen=True, slots=True)
class Figures:
    """How often an article was put in front of someone, and how it turned out."""

    shown_by_bot: int
    suggested_to_agent: int
    sent_by_agent: int
    conversations: int
    resolved: int
    not_helpful: int

    @property
    def views(self) -> int:
        return self.shown_by_bot + self.suggested_to_agent + self.sent_by_agent


NO_FIGURES = Figures(0, 0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class UsedIn:
    """A conversation an article was shown or sent in, or got a verdict in."""

    conversation_id: UUID
    subject: str | None
    contact: str | None
    status: str
    kinds: list[str]
    outcome: str | None
    outcome_source: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Question:
    """A customer's question the bot could not answer from an article."""

    message_id: int
    conversation_id: UUID
    text: str
    language: str | None
    reason: str
    at: datetime
    vector: NDArray[np.float32]
    # The nearest published chunk's cosine similarity in the question's language (None: the
    # brand has no published article in that language).
    best: float | None


@dataclass(frozen=True, slots=True)
class ConversationScope:
    """What an article suggestion for a conversation needs: its brand and language."""

    brand_id: UUID
    brand: str
    language: str | None


async def figures(conn: Conn, article_ids: Sequence[UUID]) -> dict[UUID, Figures]:
    """Each article's figures (articles never used are absent: NO_FIGURES)."""
    rows = await conn.fetch(
        """WITH uses AS (
               SELECT article_id,
                      count(*) FILTER (WHERE kind = 'shown_by_bot') AS bot,
                      count(*) FILTER (WHERE kind = 'suggested_to_agent') AS suggested,
                      count(*) FILTER (WHERE kind = 'sent_by_agent') AS sent
                 FROM kb_article_uses WHERE article_id = ANY($1::uuid[]) GROUP BY article_id),
           verdicts AS (
               SELECT article_id,
                      count(*) FILTER (WHERE outcome = 'resolved') AS resolved,
                      count(*) FILTER (WHERE outcome = 'not_helpful') AS not_helpful
                 FROM kb_article_outcomes WHERE article_id = ANY($1::uuid[])
                GROUP BY article_id),
           seen AS (
               SELECT article_id, count(DISTINCT conversation_id) AS conversations
                 FROM (SELECT article_id, conversation_id FROM kb_article_uses
                        WHERE article_id = ANY($1::uuid[])
                       UNION ALL
                       SELECT article_id, conversation_id FROM kb_article_outcomes
                        WHERE article_id = ANY($1::uuid[])) both_kinds
                GROUP BY article_id)
           SELECT s.article_id, coalesce(u.bot, 0) AS bot, coalesce(u.suggested, 0) AS suggested,
                  coalesce(u.sent, 0) AS sent, s.conversations,
                  coalesce(v.resolved, 0) AS resolved, coalesce(v.not_helpful, 0) AS not_helpful
             FROM seen s LEFT JOIN uses u USING (article_id)
             LEFT JOIN verdicts v USING (article_id)""",
        list(article_ids),
    )
    return {
        r["article_id"]: Figures(
            r["bot"], r["suggested"], r["sent"], r["conversations"], r["resolved"], r["not_helpful"]
        )
        for r in rows
    }


async def used_in(
    conn: Conn, article_id: UUID, reach: Reach, limit: int
) -> tuple[list[UsedIn], int]:
    """The conversations behind an article's figures that ``reach`` lets its agent open,
    latest first (up to ``limit``), and how many others there are (not theirs to open)."""
    rows = await conn.fetch(
        _USED_IN + " WHERE " + reach_filter(3) + " ORDER BY e.at DESC LIMIT $2",
        article_id,
        limit,
        *reach_params(reach),
    )
    hidden = await conn.fetchval(
        "SELECT count(*) FROM (" + _USED_IN + " WHERE NOT " + reach_filter(2) + ") hidden",
        article_id,
        *reach_params(reach),
    )
    shown = [
        UsedIn(
            r["conversation_id"],
            r["subject"],
            r["contact"],
            r["status"],
            list(r["kinds"]),
            r["outcome"],
            r["source"],
            r["at"],
        )
        for r in rows
    ]
    return shown, int(hidden)


# Each conversation an article ($1) was used in or judged in, with what happened there.
_USED_IN = """WITH touched AS (
        SELECT conversation_id, array_agg(DISTINCT kind ORDER BY kind) AS kinds,
               max(created_at) AS at
          FROM kb_article_uses WHERE article_id = $1 GROUP BY conversation_id),
    everything AS (
        SELECT coalesce(t.conversation_id, o.conversation_id) AS conversation_id,
               coalesce(t.kinds, '{}') AS kinds, o.outcome, o.source,
               greatest(t.at, o.decided_at) AS at
          FROM touched t
          FULL JOIN (SELECT * FROM kb_article_outcomes WHERE article_id = $1) o
            ON o.conversation_id = t.conversation_id)
    SELECT e.*, c.subject, coalesce(k.name, k.email) AS contact, c.status
      FROM everything e JOIN conversations c ON c.id = e.conversation_id
      JOIN contacts k ON k.id = c.contact_id"""


async def unanswered(
    conn: Conn, brand_id: UUID, language: str | None, model: str, limit: int
) -> list[Question]:
    """The latest questions (up to ``limit``) of the brand's conversations handed over for
    one of GAP_REASONS, or where an article was judged not helpful: in each, the customer's
    last message (with text and a vector) before the bot first showed an article, else
    before the handoff; each with its best similarity to a published chunk."""
    rows = await conn.fetch(
        """WITH asked AS (
               SELECT DISTINCT ON (conversation_id) conversation_id, reason, asked_by FROM (
                   SELECT c.id AS conversation_id, c.handoff_reason AS reason,
                          coalesce((SELECT min(u.created_at) FROM kb_article_uses u
                                     WHERE u.conversation_id = c.id AND u.kind = 'shown_by_bot'),
                                   c.handoff_at) AS asked_by
                     FROM conversations c
                    WHERE c.brand_id = $1 AND c.handoff_reason = ANY($2::text[])
                      AND c.handoff_at IS NOT NULL AND c.anonymised_at IS NULL
                   UNION ALL
                   SELECT o.conversation_id, 'not_helpful',
                          coalesce((SELECT min(u.created_at) FROM kb_article_uses u
                                     WHERE u.conversation_id = o.conversation_id
                                       AND u.article_id = o.article_id),
                                   o.decided_at)
                     FROM kb_article_outcomes o JOIN conversations c ON c.id = o.conversation_id
                    WHERE o.brand_id = $1 AND o.outcome = 'not_helpful'
                      AND c.anonymised_at IS NULL) found
               ORDER BY conversation_id, asked_by),
           -- The latest only: each costs a look-up of its message and a scan of the brand's
           -- chunks in its language.
           latest AS (SELECT * FROM asked ORDER BY asked_by DESC LIMIT $5)
           SELECT q.id, a.conversation_id, q.text, q.language, a.reason, q.created_at,
                  q.embedding,
                  (SELECT max(1 - (k.embedding <=> q.embedding)) FROM kb_chunks k
                     JOIN kb_articles p ON p.id = k.article_id AND p.status = 'published'
                    WHERE k.brand_id = $1 AND k.language = q.language AND k.model = $4) AS best
             FROM latest a
             JOIN LATERAL (
                 SELECT m.id, m.text, m.created_at, e.embedding,
                        coalesce(m.language, c.language) AS language
                   FROM messages m
                   JOIN message_embeddings e ON e.message_id = m.id AND e.model = $4
                   JOIN conversations c ON c.id = m.conversation_id
                  WHERE m.conversation_id = a.conversation_id AND m.author_kind = 'customer'
                    AND m.created_at <= a.asked_by AND length(m.text) >= $6
                  ORDER BY m.seq DESC LIMIT 1) q ON true
            WHERE $3::text IS NULL OR q.language = $3
            ORDER BY q.created_at DESC LIMIT $5""",
        brand_id,
        list(GAP_REASONS),
        language,
        model,
        limit,
        MIN_QUESTION_CHARS,
    )
    return [
        Question(
            r["id"],
            r["conversation_id"],
            r["text"],
            r["language"],
            r["reason"],
            r["created_at"],
            np.asarray(r["embedding"].to_numpy(), dtype=np.float32),
            None if r["best"] is None else float(r["best"]),
        )
        for r in rows
    ]


async def conversation_scope(conn: Conn, conversation_id: UUID) -> ConversationScope | None:
    row = await conn.fetchrow(
        """SELECT c.brand_id, b.slug,
                  coalesce(c.language,
                           (SELECT m.language FROM messages m
                             WHERE m.conversation_id = c.id AND m.author_kind = 'customer'
                               AND m.language IS NOT NULL
                             ORDER BY m.seq DESC LIMIT 1)) AS language
             FROM conversations c JOIN brands b ON b.id = c.brand_id WHERE c.id = $1""",
        conversation_id,
    )
    if row is None:
        return None
    return ConversationScope(row["brand_id"], row["slug"], row["language"])


async def customer_lines(conn: Conn, conversation_id: UUID, turns: int) -> list[str]:
    """The customer's latest messages with text, latest first."""
    rows = await conn.fetch(
        """SELECT text FROM messages
            WHERE conversation_id = $1 AND author_kind = 'customer' AND text <> ''
            ORDER BY seq DESC LIMIT $2""",
        conversation_id,
        turns,
    )
    return [r["text"] for r in rows]


async def hold_suggestions(conn: Conn, conversation_id: UUID) -> None:
    """Until the transaction ends, the conversation's suggestions are this caller's to record:
    two consoles reading them at once would otherwise both find an article new."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('kb-suggested:' || $1::uuid::text))", conversation_id
    )


async def already_suggested(
    conn: Conn, conversation_id: UUID, article_ids: Sequence[UUID]
) -> set[UUID]:
    """Those of the articles already suggested to an agent in this conversation."""
    rows = await conn.fetch(
        """SELECT DISTINCT article_id FROM kb_article_uses
            WHERE conversation_id = $1 AND kind = 'suggested_to_agent'
              AND article_id = ANY($2::uuid[])""",
        conversation_id,
        list(article_ids),
    )
    return {r["article_id"] for r in rows}


async def agent_message(conn: Conn, conversation_id: UUID, message_id: int) -> str | None:
    """The text of an agent's message of this conversation, or None."""
    text = await conn.fetchval(
        """SELECT text FROM messages
            WHERE id = $1 AND conversation_id = $2 AND author_kind = 'agent'""",
        message_id,
        conversation_id,
    )
    return None if text is None else str(text)


async def verdicts(conn: Conn, conversation_id: UUID) -> dict[UUID, str]:
    """The outcome recorded for each article in this conversation."""
    rows = await conn.fetch(
        "SELECT article_id, outcome FROM kb_article_outcomes WHERE conversation_id = $1",
        conversation_id,
    )
    return {r["article_id"]: r["outcome"] for r in rows}


@dataclass(frozen=True, slots=True)
class BrandRow:
    id: UUID
    slug: str
    name: str


async def brands(conn: Conn, brand_ids: Sequence[UUID] | None) -> list[BrandRow]:
    """These brands (None: every one), by name."""
    rows = await conn.fetch(
        """SELECT id, slug, name FROM brands
            WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[]) ORDER BY name""",
        None if brand_ids is None else list(brand_ids),
    )
    return [BrandRow(r["id"], r["slug"], r["name"]) for r in rows]
