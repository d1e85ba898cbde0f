"""A day's pairs are computed from its facts, its single breakdowns added up from its hours
(migration 0052): a change of the facts that marked no hour (a KB article deleted, its uses
going by ON DELETE CASCADE, which 0032 did not mark) made the two disagree for that day at its
next fold ("KB answered, only English" against "by band, only English"). Found by review."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest

from server.store import analytics, analytics_fold, analytics_rollups
from server.store.analytics import Scope
from tests.server.store.history import T0, Story, write
from tests.server.store.test_analytics import scope  # noqa: F401

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


async def test_a_pairs_partial_day_reads_its_row_less_the_rest_of_the_day(
    pool: asyncpg.Pool,
    scope: Scope,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pair's day more than half inside the range is read from its row less the facts of
    the rest of the day (analytics_days.pair_edges): the same figures as the facts of the
    part inside, and a key whose only conversations lie in the rest is not listed."""
    monday, tuesday, wednesday = (T0.replace(hour=0) + timedelta(days=n) for n in range(3))
    # Monday 09:30 (the 09:00 conversation, telegram's only one, before it) to Tuesday 20:30.
    start, end = T0 + timedelta(minutes=30), tuesday + timedelta(hours=20, minutes=30)
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    found: dict[bool, list[list[analytics.Group]]] = {}
    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, HORIZON)
        english = replace(scope, start=start, end=end, only=("language", "en"))
        plan = await analytics_rollups.plan(conn, english, "channel")
        for read_days in (True, False):  # False: a pair's hours all from the facts
            monkeypatch.setattr(analytics_rollups, "READ_DAYS", read_days)
            found[read_days] = [
                await analytics.breakdown(conn, replace(english, only=only), by)
                for only in (("language", "en"), ("intent", "refund"), ("channel", "webchat"))
                for by in analytics.BREAKDOWNS
            ]
    assert plan is not None
    assert plan.days == [(monday, wednesday)]
    assert plan.less == [(monday, start), (end, wednesday)]
    assert found[True] == found[False]
    by_channel = found[True][analytics.BREAKDOWNS.index("channel")]
    assert sorted(g.key for g in by_channel) == ["email", "webchat"]  # no telegram
