"""The bot's knowledge-base figures (docs/metrics.md, "Bot"): the knowledge-base answer rate
and the helpful rate over a scripted history, computed by hand, read from the facts and from
the folded roll-ups alike, in total, per day and per channel."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg
import pytest

from server.services import demo
from server.store import analytics, analytics_fold, analytics_rollups, kb_feedback
from server.store.analytics import Scope
from server.store.views import Conn
from tests.server.store.history import T0, Story, brand_parts, write

DAY = 86400.0
NOW = T0 + timedelta(days=3)
HORIZON = T0 + timedelta(days=4)


async def article(conn: Conn, brand_id: UUID, slug: str) -> UUID:
    found: UUID = await conn.fetchval(
        "INSERT INTO kb_articles (brand_id, language, slug, title, body, status)"
        " VALUES ($1, 'en', $2, $2, 'How to', 'published') RETURNING id",
        brand_id,
        slug,
    )
    return found


@pytest.fixture
async def scope(pool: asyncpg.Pool) -> Scope:
    """Four conversations the bot replied in and one it never did, in the demo brand:

    - day 1, web chat: the bot showed article A; the customer said it helped;
    - day 1, web chat: the bot showed A and B; A helped, B did not;
    - day 1, email: the bot replied without an article, then handed over; the agent sent
      article B, which helped (a verdict in a conversation the bot did not answer from
      the knowledge base: it counts for "helpful", not for the answer rate);
    - day 2, web chat: the bot showed B, no verdict yet (not counted as helpful or not);
    - day 2, email: handed over before the bot said anything (not among those the bot
      replied in).

    And one in the other brand, where its bot showed an article that did not help: never
    counted.
    """
    await demo.seed_other_brand(pool)
    async with pool.acquire() as conn:
        brand, _inbox, _agent = await brand_parts(conn, demo.BRAND_SLUG)
        other, _inbox, _agent = await brand_parts(conn, demo.OTHER_BRAND_SLUG)
        a, b = await article(conn, brand, "returns"), await article(conn, brand, "sizes")
        theirs = await article(conn, other, "tents")
        one = await write(conn, Story(0, bot_reply=2))
        two = await write(conn, Story(600, bot_reply=2))
        three = await write(
            conn,
            Story(1200, bot_reply=2, handoff=30, assigned=30, agent_reply=60, channel="email"),
        )
        four = await write(conn, Story(DAY, bot_reply=2))
        await write(conn, Story(DAY + 60, handoff=5, channel="email"))
        elsewhere = await write(conn, Story(0, bot_reply=1, brand=demo.OTHER_BRAND_SLUG))
        await kb_feedback.record_uses(conn, brand, one, [a], "shown_by_bot")
        await kb_feedback.set_outcome(conn, a, one, brand, "resolved", "customer")
        await kb_feedback.record_uses(conn, brand, two, [a, b], "shown_by_bot")
        await kb_feedback.set_outcome(conn, a, two, brand, "resolved", "customer")
        await kb_feedback.set_outcome(conn, b, two, brand, "not_helpful", "customer")
        await kb_feedback.record_uses(conn, brand, three, [b], "sent_by_agent")
        await kb_feedback.set_outcome(conn, b, three, brand, "resolved", "agent")
        await kb_feedback.record_uses(conn, brand, four, [b], "shown_by_bot")
        await kb_feedback.record_uses(conn, other, elsewhere, [theirs], "shown_by_bot")
        await kb_feedback.set_outcome(conn, theirs, elsewhere, other, "not_helpful", "customer")
    return Scope(brand, T0, T0 + timedelta(days=7), "UTC", NOW)


async def check(conn: Conn, scope: Scope) -> None:
    f = await analytics.totals(conn, scope)
    # The bot replied in 4 conversations and showed an article in 3 of them.
    assert (f.bot_replied, f.kb_answered, f.kb_answer_rate) == (4, 3, 0.75)
    # Verdicts: helped in one, two and three; not helpful once in two; four's is pending.
    assert (f.kb_helpful, f.kb_not_helpful, f.kb_helpful_rate) == (3, 1, 0.75)
    days = {p.at.day: p.figures for p in await analytics.series(conn, scope, "day")}
    assert (days[2].kb_answer_rate, days[2].kb_helpful_rate) == (round(2 / 3, 4), 0.75)
    assert (days[3].kb_answer_rate, days[3].kb_helpful_rate) == (1.0, None)
    channels = {g.key: g.figures for g in await analytics.breakdown(conn, scope, "channel")}
    assert (channels["webchat"].kb_answer_rate, channels["webchat"].kb_helpful_rate) == (
        1.0,
        round(2 / 3, 4),
    )
    assert (channels["email"].kb_answer_rate, channels["email"].kb_helpful_rate) == (0.0, 1.0)


async def test_the_knowledge_base_rates_from_the_facts(
    pool: asyncpg.Pool, scope: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", 10**9)
    async with pool.acquire() as conn:
        await check(conn, scope)


async def test_the_knowledge_base_rates_from_the_rollups_and_a_late_verdict(
    pool: asyncpg.Pool, scope: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, HORIZON)
        assert await analytics_rollups.plan(conn, scope) is not None
        await check(conn, scope)
        # The pending verdict arrives after the fold: its hour is read again, then folded.
        four = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 AND created_at = $2",
            scope.brand_id,
            T0 + timedelta(seconds=DAY),
        )
        sizes = await conn.fetchval("SELECT id FROM kb_articles WHERE slug = 'sizes'")
        await kb_feedback.set_outcome(conn, sizes, four, scope.brand_id, "resolved", "no_handoff")
        marked = await analytics.totals(conn, scope)
        await analytics_fold.fold(conn, HORIZON)
        folded = await analytics.totals(conn, scope)
    assert (marked.kb_helpful, marked.kb_not_helpful) == (4, 1)
    assert folded == marked
