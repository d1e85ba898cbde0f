"""Ranking learns: after conversations where one article resolved the question and another
did not, the first ranks above the second for the same question (issue 18)."""

from __future__ import annotations

import asyncpg

from server.services import demo
from server.services.embedder import WordLlamaEmbedder
from server.services.kb import Author, KnowledgeBase
from server.store import kb_feedback
from server.store.kb import Draft
from tests.server.store.test_kb_feedback import conversation

EDITOR = Author(None, "Editor")
QUESTION = "how do I send back an item I bought?"


def draft(title: str, body: str) -> Draft:
    return Draft("en", "", title, body, "Returns", [], "published")


async def test_the_article_that_resolves_rises_above_the_one_that_does_not(
    pool: asyncpg.Pool,
) -> None:
    base = KnowledgeBase(pool, WordLlamaEmbedder())
    one = await base.create(
        demo.BRAND_SLUG,
        draft("Returning an item", "Send an item back within 30 days from your account."),
        EDITOR,
    )
    two = await base.create(
        demo.BRAND_SLUG,
        draft("Sending back an item you bought", "Post the item back to us within 30 days."),
        EDITOR,
    )
    before = await base.search(demo.BRAND_SLUG, "en", QUESTION, limit=5)
    assert {h.article.id for h in before[:2]} == {one.id, two.id}
    assert [h.prior for h in before[:2]] == [0.5, 0.5]
    # The one search put second resolves; the one it put first does not.
    second, first = before[1].article.id, before[0].article.id
    async with pool.acquire() as conn:
        for _ in range(3):
            conv, brand = await conversation(pool)
            await kb_feedback.record_uses(conn, brand, conv, [first, second], "shown_by_bot")
            await kb_feedback.set_outcome(conn, first, conv, brand, "not_helpful", "customer")
            await kb_feedback.set_outcome(conn, second, conv, brand, "resolved", "customer")
    after = await base.search(demo.BRAND_SLUG, "en", QUESTION, limit=5)
    assert [h.article.id for h in after[:2]] == [second, first]
    assert after[0].prior == 4 / 5
    assert after[1].prior == 1 / 5
    # Relevance is untouched: what the brand learnt only reorders.
    assert after[0].similarity == before[1].similarity


async def test_another_brands_verdicts_do_not_count(pool: asyncpg.Pool) -> None:
    base = KnowledgeBase(pool, WordLlamaEmbedder())
    one = await base.create(
        demo.BRAND_SLUG, draft("Returning an item", "Send an item back within 30 days."), EDITOR
    )
    await demo.seed_other_brand(pool)
    other_brand = await base.brand_id(demo.OTHER_BRAND_SLUG)
    assert other_brand is not None
    conv, _ = await conversation(pool)
    async with pool.acquire() as conn:
        # A row filed under another brand (by a bug or a moved conversation) is not this
        # brand's experience of the article.
        await kb_feedback.set_outcome(conn, one.id, conv, other_brand, "resolved", "customer")
    found = await base.search(demo.BRAND_SLUG, "en", QUESTION)
    assert found[0].prior == 0.5
