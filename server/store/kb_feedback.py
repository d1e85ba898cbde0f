"""What the knowledge base learns from (migration 0024): every article put in front of
someone (``kb_article_uses``), how it turned out in each conversation
(``kb_article_outcomes``), and the resolution prior that ranking reads from them.

Used by the bot's knowledge-base step (server/pipeline/decide.py), the resolve path and
the idle sweep (an article the bot showed in a conversation that ended without a handoff
resolved it), the context card (``shown_in``), and the console's Knowledge area.

Who decides an outcome, strongest first: an agent's mark, the customer's yes/no, a
follow-up that showed it did not help, and the inference from a conversation that ended
without a handoff. A verdict replaces an earlier one only from an equal or stronger source
(``set_outcome``): an agent's mark is never overwritten by an inference.

**The resolution prior.** Per article and brand, the posterior mean of a Beta(1, 1) prior
(uniform: nothing known) after the verdicts: (resolved + 1) / (verdicts + 2), Laplace's
rule of succession. An article never judged sits at 0.5; three "resolved" make it 0.8,
three "not helpful" 0.2, so a few verdicts move it, and one lucky one does not make it the
best article there is. It counts verdicts, not views: a view still open (the customer has
not answered, the conversation has not ended) says nothing yet either way. Search multiplies
an article's relevance by (0.5 + prior), between 0.5 and 1.5 and exactly 1 with no
verdicts: it can swap articles of close relevance, never lift an unrelated one over the
answer (``server/store/kb.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict
from uuid import UUID

from server.store.views import Conn, iso

Kind = Literal["shown_by_bot", "suggested_to_agent", "sent_by_agent"]
Outcome = Literal["resolved", "not_helpful"]
Source = Literal["customer", "agent", "no_handoff", "follow_up"]

# The Beta prior's pseudo-counts (resolved, not helpful): Beta(1, 1), the uniform prior.
PRIOR_RESOLVED = 1
PRIOR_NOT_HELPFUL = 1
# The meta action of the bot's message that shows articles (server/pipeline/knowledge.py).
KB_ANSWER = "kb_answer"
# Which source may replace which: a verdict replaces one of equal or lower rank.
RANKS: dict[str, int] = {"no_handoff": 0, "follow_up": 1, "customer": 2, "agent": 3}


def prior_of(resolved: int, verdicts: int) -> float:
    """The smoothed resolution rate (see the module's docstring)."""
    return (resolved + PRIOR_RESOLVED) / (verdicts + PRIOR_RESOLVED + PRIOR_NOT_HELPFUL)


def prior_sql(resolved: str, verdicts: str) -> str:
    """The same formula as SQL over two count expressions (search applies it in its one
    round trip)."""
    return (
        f"(({resolved}) + {PRIOR_RESOLVED})::float8"
        f" / (({verdicts}) + {PRIOR_RESOLVED + PRIOR_NOT_HELPFUL})"
    )


@dataclass(frozen=True, slots=True)
class Prior:
    """An article's verdicts in its brand and the prior they give."""

    resolved: int
    verdicts: int

    @property
    def value(self) -> float:
        return prior_of(self.resolved, self.verdicts)


class ShownArticle(TypedDict):
    """An article used in a conversation, for the agent's context card: how it was used
    (shown by the bot, suggested, sent), where, and the verdict on it, if any."""

    article_id: str
    title: str
    url: str  # the help center's path, /help/<brand>/<language>/<slug>
    kind: str
    position: int
    message_id: int | None
    shown_at: str | None
    outcome: str | None
    source: str | None


async def record_uses(
    conn: Conn,
    brand_id: UUID,
    conversation_id: UUID,
    article_ids: Sequence[UUID],
    kind: Kind,
    message_id: int | None = None,
) -> None:
    """One row per article, its position its place in ``article_ids`` (0 first)."""
    if not article_ids:
        return
    await conn.execute(
        """INSERT INTO kb_article_uses
               (article_id, brand_id, conversation_id, kind, position, message_id)
           SELECT a.id, $1, $2, $4, (a.n - 1)::int, $5
             FROM unnest($3::uuid[]) WITH ORDINALITY AS a(id, n)""",
        brand_id,
        conversation_id,
        list(article_ids),
        kind,
        message_id,
    )


async def set_outcome(
    conn: Conn,
    article_id: UUID,
    conversation_id: UUID,
    brand_id: UUID,
    outcome: Outcome,
    source: Source,
    agent_id: UUID | None = None,
) -> bool:
    """Record how the article did in the conversation. It replaces an earlier verdict only
    from an equal or stronger source (agent > customer > follow_up > no_handoff). Returns
    whether it was written."""
    written = await conn.fetchval(
        f"""INSERT INTO kb_article_outcomes
                (article_id, conversation_id, brand_id, outcome, source, agent_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (article_id, conversation_id) DO UPDATE
               SET outcome = EXCLUDED.outcome, source = EXCLUDED.source,
                   agent_id = EXCLUDED.agent_id, decided_at = now()
             WHERE {_rank("EXCLUDED.source")} >= {_rank("kb_article_outcomes.source")}
            RETURNING true""",
        article_id,
        conversation_id,
        brand_id,
        outcome,
        source,
        agent_id,
    )
    return bool(written)


def _rank(column: str) -> str:
    cases = " ".join(f"WHEN '{s}' THEN {r}" for s, r in RANKS.items())
    return f"(CASE {column} {cases} END)"


async def resolution_prior(
    conn: Conn, brand_id: UUID, article_ids: Sequence[UUID] | None = None
) -> dict[UUID, Prior]:
    """The verdicts and prior of the brand's articles (of ``article_ids`` only, when given);
    an article without verdicts is absent (its prior is ``prior_of(0, 0)``, 0.5)."""
    rows = await conn.fetch(
        """SELECT article_id, count(*) FILTER (WHERE outcome = 'resolved') AS resolved,
                  count(*) AS verdicts
             FROM kb_article_outcomes
            WHERE brand_id = $1 AND ($2::uuid[] IS NULL OR article_id = ANY($2))
            GROUP BY article_id""",
        brand_id,
        list(article_ids) if article_ids is not None else None,
    )
    return {r["article_id"]: Prior(r["resolved"], r["verdicts"]) for r in rows}


async def shown_in(conn: Conn, conversation_id: UUID) -> list[ShownArticle]:
    """The articles used in the conversation, in the order they were used, with their
    verdicts."""
    rows = await conn.fetch(
        """SELECT u.article_id, a.title, b.slug AS brand, a.language, a.slug, u.kind,
                  u.position, u.message_id, u.created_at, o.outcome, o.source
             FROM kb_article_uses u
             JOIN kb_articles a ON a.id = u.article_id
             JOIN brands b ON b.id = a.brand_id
             LEFT JOIN kb_article_outcomes o
                    ON o.article_id = u.article_id AND o.conversation_id = u.conversation_id
            WHERE u.conversation_id = $1
            ORDER BY u.created_at, u.id""",
        conversation_id,
    )
    return [
        ShownArticle(
            article_id=str(r["article_id"]),
            title=r["title"],
            url=f"/help/{r['brand']}/{r['language']}/{r['slug']}",
            kind=r["kind"],
            position=r["position"],
            message_id=r["message_id"],
            shown_at=iso(r["created_at"]),
            outcome=r["outcome"],
            source=r["source"],
        )
        for r in rows
    ]


async def last_shown_by_bot(conn: Conn, conversation_id: UUID) -> list[UUID]:
    """The articles of the bot's latest knowledge-base answer in the conversation, first
    shown first (none if it never showed any)."""
    rows = await conn.fetch(
        """WITH latest AS (SELECT message_id, created_at FROM kb_article_uses
                             WHERE conversation_id = $1 AND kind = 'shown_by_bot'
                             ORDER BY id DESC LIMIT 1)
           SELECT u.article_id FROM kb_article_uses u, latest l
            WHERE u.conversation_id = $1 AND u.kind = 'shown_by_bot'
              AND u.message_id IS NOT DISTINCT FROM l.message_id
              AND u.created_at = l.created_at
            ORDER BY u.position""",
        conversation_id,
    )
    return [r["article_id"] for r in rows]


async def judge_shown(
    conn: Conn,
    conversation_id: UUID,
    article_ids: Sequence[UUID],
    outcome: Outcome,
    source: Source,
) -> None:
    """The same verdict on several articles shown in one conversation (the customer's yes
    or no to an answer of up to three)."""
    brand_id = await conn.fetchval(
        "SELECT brand_id FROM conversations WHERE id = $1", conversation_id
    )
    for article_id in article_ids:
        await set_outcome(conn, article_id, conversation_id, brand_id, outcome, source)


# The articles the bot showed in a conversation that has no verdict, when no handoff came
# after them: the conversation ended with the customer's question answered.
_UNHANDED = """SELECT DISTINCT u.article_id, u.conversation_id, u.brand_id
                 FROM kb_article_uses u
                 JOIN conversations c ON c.id = u.conversation_id
                WHERE u.kind = 'shown_by_bot'
                  AND (c.handoff_at IS NULL OR c.handoff_at < u.created_at)
                  AND NOT EXISTS (SELECT 1 FROM kb_article_outcomes o
                                   WHERE o.article_id = u.article_id
                                     AND o.conversation_id = u.conversation_id)"""


async def infer_no_handoff(conn: Conn, conversation_id: UUID) -> int:
    """On resolving a conversation: the articles the bot showed with no handoff after them
    and no verdict resolved it (source no_handoff). Returns how many were marked."""
    status = await conn.execute(
        f"""INSERT INTO kb_article_outcomes
                (article_id, conversation_id, brand_id, outcome, source)
            SELECT article_id, conversation_id, brand_id, 'resolved', 'no_handoff'
              FROM ({_UNHANDED} AND u.conversation_id = $1) found
            ON CONFLICT (article_id, conversation_id) DO NOTHING""",
        conversation_id,
    )
    return int(status.split()[-1])


async def infer_idle(conn: Conn, idle_before: datetime, limit: int = 1000) -> int:
    """Conversations still with the bot whose last message is older than ``idle_before``
    ended there: the articles the bot showed in them with no handoff after and no verdict
    resolved them (source no_handoff). Returns how many were marked."""
    status = await conn.execute(
        f"""INSERT INTO kb_article_outcomes
                (article_id, conversation_id, brand_id, outcome, source)
            SELECT found.article_id, found.conversation_id, found.brand_id, 'resolved',
                   'no_handoff'
              FROM ({_UNHANDED} AND c.status IN ('bot', 'resolved')
                      AND coalesce(c.last_message_at, c.updated_at) < $1) found
             LIMIT $2
            ON CONFLICT (article_id, conversation_id) DO NOTHING""",
        idle_before,
        limit,
    )
    return int(status.split()[-1])


@dataclass(frozen=True, slots=True)
class Asked:
    """What the bot's knowledge-base step needs of a conversation before a customer's
    message: its brand, and the articles of the bot's last message when that was a
    knowledge-base answer still waiting for "Did this answer your question?"."""

    brand_id: UUID
    brand: str  # the brand's slug, which search and the help center's links use
    awaiting: tuple[UUID, ...]


async def asked(conn: Conn, conversation_id: str, before_seq: int) -> Asked:
    """The conversation's brand, and the articles the bot's latest message before
    ``before_seq`` showed, if it was a knowledge-base answer (meta action ``kb_answer``)."""
    row = await conn.fetchrow(
        "SELECT b.id, b.slug, "
        + LAST_BOT_META_SQL
        + """ AS meta
             FROM conversations c JOIN brands b ON b.id = c.brand_id
            WHERE c.id = $1""",
        UUID(conversation_id),
        before_seq,
    )
    assert row is not None  # the message being routed is in this conversation
    return asked_of(row["id"], row["slug"], row["meta"])


# The bot's latest message's meta before seq $2 in conversation c (routing_facts reads it
# with the rest of the facts, saving the round trip of ``asked``).
LAST_BOT_META_SQL = """(SELECT m.meta FROM messages m
                         WHERE m.conversation_id = c.id AND m.seq < $2 AND m.author_kind = 'bot'
                         ORDER BY m.seq DESC LIMIT 1)"""


def asked_of(brand_id: UUID, brand: str, meta: dict[str, Any] | None) -> Asked:
    """``Asked`` from the brand and the bot's latest message's meta."""
    meta = meta or {}
    awaiting: tuple[UUID, ...] = ()
    if meta.get("action") == KB_ANSWER:
        awaiting = tuple(UUID(a["id"]) for a in meta.get("kb", {}).get("articles", []))
    return Asked(brand_id, brand, awaiting)


async def answer_language(conn: Conn, message_id: int) -> str | None:
    """The language of the bot's knowledge-base answer ``message_id`` (its yes/no buttons'
    words), or None when the message is not one."""
    language: str | None = await conn.fetchval(
        "SELECT coalesce(meta->'kb'->>'language', 'en') FROM messages"
        " WHERE id = $1 AND meta->>'action' = $2",
        message_id,
        KB_ANSWER,
    )
    return language
