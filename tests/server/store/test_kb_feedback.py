"""What the knowledge base learns from, over a real Postgres: uses with their positions,
verdicts where an agent's mark outranks an inference, the resolution prior, and the
no-handoff inference on resolve and for idle conversations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from server.services import demo
from server.services.embedder import WordLlamaEmbedder
from server.services.kb import Author, KnowledgeBase
from server.store import kb_feedback
from server.store.kb import Draft

EDITOR = Author(None, "Editor")


async def article(pool: asyncpg.Pool, title: str) -> UUID:
    base = KnowledgeBase(pool, WordLlamaEmbedder())
    draft = Draft("en", "", title, f"All about {title.lower()}.", "", [], "published")
    return (await base.create(demo.BRAND_SLUG, draft, EDITOR)).id


async def conversation(pool: asyncpg.Pool, status: str = "bot") -> tuple[UUID, UUID]:
    """A web chat conversation of the demo brand: (its id, the brand's id)."""
    async with pool.acquire() as conn:
        contact = await conn.fetchval(
            "INSERT INTO contacts (brand_id, name) SELECT id, 'Ann' FROM brands"
            " WHERE slug = 'demo' RETURNING id"
        )
        row = await conn.fetchrow(
            "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status)"
            " SELECT brand_id, id, $1, 'webchat', $2 FROM inboxes WHERE address = 'demo-web'"
            " RETURNING id, brand_id",
            contact,
            status,
        )
    assert row is not None
    return row["id"], row["brand_id"]


async def test_uses_keep_their_positions_and_verdicts_show_beside_them(
    pool: asyncpg.Pool,
) -> None:
    a, b = await article(pool, "Returns"), await article(pool, "Shipping")
    conv, brand = await conversation(pool)
    async with pool.acquire() as conn:
        await kb_feedback.record_uses(conn, brand, conv, [a, b], "shown_by_bot")
        assert await kb_feedback.last_shown_by_bot(conn, conv) == [a, b]
        await kb_feedback.set_outcome(conn, b, conv, brand, "not_helpful", "customer")
        shown = await kb_feedback.shown_in(conn, conv)
    assert [(s["title"], s["position"], s["kind"], s["outcome"]) for s in shown] == [
        ("Returns", 0, "shown_by_bot", None),
        ("Shipping", 1, "shown_by_bot", "not_helpful"),
    ]
    assert shown[0]["url"] == "/help/demo/en/returns"


async def test_an_agents_mark_outranks_an_inference(pool: asyncpg.Pool) -> None:
    a = await article(pool, "Returns")
    conv, brand = await conversation(pool)
    async with pool.acquire() as conn:
        assert await kb_feedback.set_outcome(conn, a, conv, brand, "not_helpful", "agent")
        assert not await kb_feedback.set_outcome(conn, a, conv, brand, "resolved", "no_handoff")
        assert not await kb_feedback.set_outcome(conn, a, conv, brand, "resolved", "customer")
        assert await kb_feedback.set_outcome(conn, a, conv, brand, "resolved", "agent")
        source = await conn.fetchval("SELECT source FROM kb_article_outcomes")
    assert source == "agent"


async def test_the_prior_is_laplaces_rule_over_verdicts(pool: asyncpg.Pool) -> None:
    a, b = await article(pool, "Returns"), await article(pool, "Shipping")
    async with pool.acquire() as conn:
        for outcome in ("resolved", "resolved", "not_helpful"):
            conv, brand = await conversation(pool)
            await kb_feedback.set_outcome(conn, a, conv, brand, outcome, "customer")
        priors = await kb_feedback.resolution_prior(conn, brand)
    assert priors[a] == kb_feedback.Prior(resolved=2, verdicts=3)
    assert priors[a].value == 3 / 5
    assert b not in priors
    assert kb_feedback.prior_of(0, 0) == 0.5


async def test_resolving_without_a_handoff_after_the_articles_marks_them_resolved(
    pool: asyncpg.Pool,
) -> None:
    a, b = await article(pool, "Returns"), await article(pool, "Shipping")
    quiet, brand = await conversation(pool)
    handed, _ = await conversation(pool)
    async with pool.acquire() as conn:
        await kb_feedback.record_uses(conn, brand, quiet, [a, b], "shown_by_bot")
        await kb_feedback.set_outcome(conn, b, quiet, brand, "not_helpful", "follow_up")
        await kb_feedback.record_uses(conn, brand, handed, [a], "shown_by_bot")
        await conn.execute(
            "UPDATE conversations SET handoff_at = now() + interval '1 minute' WHERE id = $1",
            handed,
        )
        assert await kb_feedback.infer_no_handoff(conn, quiet) == 1
        assert await kb_feedback.infer_no_handoff(conn, handed) == 0
        rows = await conn.fetch(
            "SELECT article_id, outcome, source FROM kb_article_outcomes"
            " WHERE conversation_id = $1 ORDER BY source",
            quiet,
        )
    assert [(r["article_id"], r["outcome"], r["source"]) for r in rows] == [
        (b, "not_helpful", "follow_up"),
        (a, "resolved", "no_handoff"),
    ]


async def test_idle_bot_conversations_count_as_resolved(pool: asyncpg.Pool) -> None:
    a = await article(pool, "Returns")
    idle, brand = await conversation(pool)
    active, _ = await conversation(pool)
    async with pool.acquire() as conn:
        await kb_feedback.record_uses(conn, brand, idle, [a], "shown_by_bot")
        await kb_feedback.record_uses(conn, brand, active, [a], "shown_by_bot")
        await conn.execute(
            "UPDATE conversations SET last_message_at = now() - interval '2 days' WHERE id = $1",
            idle,
        )
        await conn.execute("UPDATE conversations SET last_message_at = now() WHERE id = $1", active)
        marked = await kb_feedback.infer_idle(conn, datetime.now(UTC) - timedelta(days=1))
        judged = await conn.fetch("SELECT conversation_id, source FROM kb_article_outcomes")
    assert marked == 1
    assert [(r["conversation_id"], r["source"]) for r in judged] == [(idle, "no_handoff")]
