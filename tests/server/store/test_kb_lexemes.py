"""The word counts search reads (migration 0029): after any save, edit, language change,
deletion or brand deletion, kb_lexemes and kb_chunk_counts equal a fresh count of the chunks."""

from __future__ import annotations

import asyncpg

from server.services import demo
from server.services.embedder import WordLlamaEmbedder
from server.services.kb import Author, KnowledgeBase
from server.store.kb import Draft

EDITOR = Author(None, "Dana")


def _draft(language: str, title: str, body: str) -> Draft:
    return Draft(language, "", title, body, "", [], "published")


async def _counts_match(pool: asyncpg.Pool) -> None:
    kept = await pool.fetch(
        "SELECT brand_id, language, lexeme, chunks FROM kb_lexemes ORDER BY 1, 2, 3"
    )
    fresh = await pool.fetch(
        """SELECT c.brand_id, c.language, w.lexeme, count(*)::int AS chunks
             FROM kb_chunks c, unnest(c.words) w GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    )
    assert [tuple(r) for r in kept] == [tuple(r) for r in fresh]
    kept_totals = await pool.fetch(
        "SELECT brand_id, language, chunks FROM kb_chunk_counts ORDER BY 1, 2"
    )
    fresh_totals = await pool.fetch(
        "SELECT brand_id, language, count(*)::int FROM kb_chunks GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert [tuple(r) for r in kept_totals] == [tuple(r) for r in fresh_totals]


async def test_counts_follow_every_change_of_the_chunks(pool: asyncpg.Pool) -> None:
    base = KnowledgeBase(pool, WordLlamaEmbedder())
    returns = await base.create(
        demo.BRAND_SLUG,
        _draft("en", "Returning an item", "Print the label.\n\n## Refunds\n\nWithin 30 days."),
        EDITOR,
    )
    await base.create(
        demo.BRAND_SLUG, _draft("en", "Tracking", "Follow the tracking link."), EDITOR
    )
    await _counts_match(pool)
    assert (
        await pool.fetchval(
            "SELECT chunks FROM kb_lexemes WHERE language = 'en' AND lexeme = 'label'"
        )
        == 1
    )
    # An edit replaces the article's chunks; a word no chunk holds any more is forgotten.
    await base.update(
        returns.id, _draft("en", "Returning an item", "Drop the parcel at a post office."), EDITOR
    )
    await _counts_match(pool)
    assert await pool.fetchval("SELECT count(*) FROM kb_lexemes WHERE lexeme = 'label'") == 0
    # Moving an article to another language moves its counts.
    await base.update(returns.id, _draft("fr", "Retourner un article", "Déposez le colis."), EDITOR)
    await _counts_match(pool)
    await base.delete(returns.id, EDITOR)
    await _counts_match(pool)
    assert await pool.fetchval("SELECT count(*) FROM kb_chunk_counts WHERE language = 'fr'") == 0


async def test_deleting_a_brand_deletes_its_counts(pool: asyncpg.Pool) -> None:
    base = KnowledgeBase(pool, WordLlamaEmbedder())
    await pool.execute("INSERT INTO brands (slug, name) VALUES ('other', 'Other')")
    await base.create("other", _draft("en", "Tracking", "Follow the link."), EDITOR)
    await base.create(demo.BRAND_SLUG, _draft("en", "Tracking", "Follow the link."), EDITOR)
    await pool.execute("DELETE FROM brands WHERE slug = 'other'")
    await _counts_match(pool)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM kb_chunk_counts k JOIN brands b ON b.id = k.brand_id"
        )
        == 1
    )
