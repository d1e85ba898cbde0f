"""A day's pairs are computed from its facts, its single breakdowns added up from its hours
(migration 0052): a change of the facts that marked no hour (a KB article deleted, its uses
going by ON DELETE CASCADE, which 0032 did not mark) made the two disagree for that day at its
next fold ("KB answered, only English" against "by band, only English"). Found by review."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from server.store import analytics_fold
from tests.server.store.history import T0, Story, write

HORIZON = T0 + timedelta(days=2)


async def test_a_day_folded_again_keeps_its_singles_and_pairs_alike(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        shown = await write(conn, Story(0, bot_reply=5))  # 09:00 Monday, the bot answers
        other = await write(conn, Story(3 * 3600, bot_reply=5))  # 12:00 the same day
        brand = await conn.fetchval("SELECT brand_id FROM conversations WHERE id = $1", shown)
        article = await conn.fetchval(
            "INSERT INTO kb_articles (brand_id, language, slug, title, body)"
            " VALUES ($1, 'en', 'returns', 'Returns', 'How to') RETURNING id",
            brand,
        )
        await conn.execute(
            "INSERT INTO kb_article_uses (article_id, brand_id, conversation_id, kind)"
            " VALUES ($1, $2, $3, 'shown_by_bot')",
            article,
            brand,
            shown,
        )
        await analytics_fold.rebuild(conn, HORIZON)

        single = """SELECT coalesce(sum(kb_answered), 0) FROM analytics_days
                     WHERE brand_id = $1 AND dim = 'language' AND key = 'en'"""
        paired = """SELECT coalesce(sum(kb_answered), 0) FROM analytics_days
                     WHERE brand_id = $1 AND dim = 'language|band' AND key LIKE 'en|%'"""
        before = (await conn.fetchval(single, brand), await conn.fetchval(paired, brand))
        assert before == (1, 1)

        # The article goes (an admin's delete; now marked). Then another conversation of the
        # same day changes (a rating: marked), and the fold folds its hour, holds the day and,
        # held long enough (0 here), folds the day again.
        await conn.execute("DELETE FROM kb_articles WHERE id = $1", article)
        await conn.execute(
            "INSERT INTO csat (conversation_id, brand_id, rating) VALUES ($1, $2, 5)", other, brand
        )
        done = await analytics_fold.fold(conn, HORIZON, hold_days_for=timedelta(0))
        assert done.refolded_days == 1
        facts = await conn.fetchval(
            "SELECT count(*) FILTER (WHERE bot_replied AND kb_shown) FROM analytics_values"
            " WHERE brand_id = $1",
            brand,
        )
        got = (await conn.fetchval(single, brand), await conn.fetchval(paired, brand))
    assert got == (facts, facts) == (0, 0)
