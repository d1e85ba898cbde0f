"""A day's pairs are computed from its facts, its single breakdowns added up from its hours
(migration 0052): a change of the facts that marked no hour (a KB article deleted, its uses
going by ON DELETE CASCADE, which 0032 did not mark) made the two disagree for that day at its
next fold ("KB answered, only English" against "by band, only English"). Found by review."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
import pytest

from server.store import analytics, analytics_fold, analytics_rollups
from server.store.analytics import Scope
from server.store.views import Conn
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


async def test_the_current_days_hours_keep_their_pairs_until_the_day_is_folded(
    pool: asyncpg.Pool,
    scope: Scope,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Migration 0054: the hours of the day the watermark is in have their pairs' rows, so a
    live filtered breakdown reads today's hours from them, not from the facts; the
    watermark completing the day drops them for the day's pair rows."""
    wednesday = T0.replace(hour=0) + timedelta(days=2)  # its conversation at 09:00
    noon, thursday = wednesday + timedelta(hours=12), wednesday + timedelta(days=1, hours=1)
    pair_hours = """SELECT DISTINCT hour FROM analytics_hours WHERE strpos(dim, '|') > 0
                    UNION SELECT DISTINCT hour FROM analytics_hour_durations
                     WHERE strpos(dim, '|') > 0"""
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)

    async def same_as_the_facts(conn: Conn, end: datetime) -> None:
        for only in (("language", "en"), ("channel", "webchat"), ("band", "none")):
            s = replace(scope, end=end, only=only)
            found = []
            for read_days in (True, False):  # False: a pair's hours all from the facts
                monkeypatch.setattr(analytics_rollups, "READ_DAYS", read_days)
                found.append(
                    [await analytics.breakdown(conn, s, by) for by in analytics.BREAKDOWNS]
                )
            assert found[0] == found[1]

    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, noon)
        assert [r["hour"] for r in await conn.fetch(pair_hours)] == [T0 + timedelta(days=2)]
        plan = await analytics_rollups.plan(
            conn, replace(scope, end=noon, only=("language", "en")), "agent"
        )
        assert plan is not None
        assert plan.hours == [(wednesday, noon)]
        await same_as_the_facts(conn, noon)
        # A change in today's hour: folded again with its pairs.
        conversation = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 AND created_at >= $2",
            scope.brand_id,
            wednesday,
        )
        await conn.execute(
            "INSERT INTO csat (conversation_id, brand_id, rating) VALUES ($1, $2, 4)",
            conversation,
            scope.brand_id,
        )
        await analytics_fold.fold(conn, noon)
        rated = await conn.fetchval(
            "SELECT sum(csat_answered) FROM analytics_hours WHERE dim = 'agent|language'"
        )
        assert rated == 1
        await same_as_the_facts(conn, noon)
        # The watermark completes Wednesday: its pairs are the day's rows now.
        await analytics_fold.fold(conn, thursday)
        assert await conn.fetch(pair_hours) == []
        assert (
            await conn.fetchval(
                "SELECT sum(csat_answered) FROM analytics_days"
                " WHERE dim = 'agent|language' AND day = $1",
                wednesday,
            )
            == 1
        )
        await same_as_the_facts(conn, thursday)
