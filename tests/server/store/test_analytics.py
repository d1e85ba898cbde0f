"""The reports' figures over a scripted history on a real Postgres, each checked against the
value docs/metrics.md's definitions give by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from server.services import demo
from server.store import analytics, analytics_live, database
from server.store.analytics import Scope
from tests.server.store.history import T0, Story, brand_parts, write

DAY = 86400.0
NOW = T0 + timedelta(days=3)
STORIES = [
    # Answered by the bot alone, quiet since: contained.
    Story(0, bot_reply=2, channel="telegram", intent="order_status"),
    # Handed off, answered by an agent in 300 s, resolved, rated 5.
    Story(
        3600,
        bot_reply=3,
        handoff=60,
        assigned=120,
        agent_reply=300,
        resolved=3600,
        rating=5,
        band="normal",
        intent="refund",
    ),
    # Handed off for low confidence, answered late (a first-response breach), rated 3.
    Story(
        7200,
        bot_reply=5,
        handoff=30,
        reason="low_confidence",
        assigned=60,
        agent_reply=600,
        resolved=7200,
        rating=3,
        comment="slow",
        band="high",
        breaches=("first_response",),
        channel="email",
        intent="refund",
    ),
    # The next day: answered in 900 s, resolved, reopened and resolved again; not rated.
    Story(
        DAY,
        bot_reply=1,
        handoff=10,
        assigned=30,
        agent_reply=900,
        resolved=1800,
        reopened=True,
        asked=True,
        band="normal",
        language="fr",
    ),
    # Two days on, still talking to the bot five minutes ago: not contained yet.
    Story(2 * DAY, bot_reply=4, last_message=3 * DAY - 2 * DAY - 300),
    # Another brand's: never counted.
    Story(
        0,
        bot_reply=1,
        handoff=5,
        assigned=5,
        agent_reply=5,
        resolved=60,
        rating=1,
        band="normal",
        brand=demo.OTHER_BRAND_SLUG,
    ),
]


@pytest.fixture
async def scope(pool: asyncpg.Pool) -> Scope:
    await demo.seed_other_brand(pool)
    async with pool.acquire() as conn:
        for story in STORIES:
            await write(conn, story)
        brand, _inbox, _agent = await brand_parts(conn, demo.BRAND_SLUG)
    return Scope(brand, T0, T0 + timedelta(days=7), "UTC", NOW)


async def test_the_totals_match_the_definitions(pool: asyncpg.Pool, scope: Scope) -> None:
    async with pool.acquire() as conn:
        f = await analytics.totals(conn, scope)
    assert f.conversations == 5
    # Human first responses 300, 600, 900: median 600, p90 600 + 0.8 x 300.
    assert (f.frt_human_p50, f.frt_human_p90) == (600.0, 840.0)
    # Any first reply 2, 3, 5, 1, 4.
    assert (f.frt_any_p50, f.frt_any_p90) == (3.0, 4.6)
    assert (f.wait_p50, f.resolution_p50, f.handle_p50) == (60.0, 3600.0, 3420.0)
    assert (f.contained, f.containment_rate, f.handoff_rate) == (1, 0.2, 0.6)
    assert (f.csat_average, f.csat_response_rate, f.csat_comments) == (4.0, 0.6667, 1)
    assert (f.with_sla, f.frt_attainment, f.resolution_attainment) == (3, 0.6667, 1.0)
    assert (f.reopened, f.reopen_rate) == (1, 0.3333)
    assert f.fallback_rate == 0.2  # the low-confidence handoff: the bot did not understand
    assert f.kb_answer_rate == 0.0
    assert f.kb_helpful_rate is None


async def test_sla_attainment_per_band(pool: asyncpg.Pool, scope: Scope) -> None:
    async with pool.acquire() as conn:
        bands = await analytics.breakdown(conn, scope, "band")
    got = {g.key: (g.figures.with_sla, g.figures.frt_attainment) for g in bands}
    assert got == {"normal": (2, 1.0), "high": (1, 0.0), "none": (0, None)}


async def test_breakdowns_label_and_filter(pool: asyncpg.Pool, scope: Scope) -> None:
    async with pool.acquire() as conn:
        channels = await analytics.breakdown(conn, scope, "channel")
        agents = await analytics.breakdown(conn, scope, "agent")
        refunds = await analytics.totals(
            conn, Scope(scope.brand_id, scope.start, scope.end, "UTC", NOW, ("intent", "refund"))
        )
    assert [(g.key, g.figures.conversations) for g in channels] == [
        ("webchat", 3),
        ("email", 1),
        ("telegram", 1),
    ]
    named = {g.label: g.figures.conversations for g in agents}
    assert named.pop("none") == 2
    assert list(named.values()) == [3]
    assert (refunds.conversations, refunds.frt_human_p50, refunds.csat_average) == (2, 450.0, 4.0)


async def test_series_heat_map_reasons_and_ratings(pool: asyncpg.Pool, scope: Scope) -> None:
    async with pool.acquire() as conn:
        days = await analytics.series(conn, scope, "day")
        cells = await analytics.heat_map(conn, scope)
        reasons = await analytics.handoff_reasons(conn, scope)
        rated = await analytics.handoff_rates(conn, scope)
        ratings = await analytics.csat_distribution(conn, scope)
    assert [(p.at.day, p.figures.conversations, p.messages, p.breaches) for p in days] == [
        (2, 3, 8, 1),
        (3, 1, 3, 0),
        (4, 1, 2, 0),
    ]
    assert [(c.weekday, c.hour, c.conversations) for c in cells] == [
        (1, 9, 1),
        (1, 10, 1),
        (1, 11, 1),
        (2, 9, 1),
        (3, 9, 1),
    ]
    assert [(r.value, r.count) for r in reasons] == [("requested_human", 2), ("low_confidence", 1)]
    # Of the range's 5 conversations, 2 and 1 handed off for each reason; of its 3 handoffs,
    # two thirds and one third.
    rates = [(r.value, r.count, r.rate, r.share) for r in rated]
    assert rates == [("requested_human", 2, 0.4, 0.6667), ("low_confidence", 1, 0.2, 0.3333)]
    assert [r.count for r in ratings] == [0, 0, 1, 0, 1]


async def test_a_time_zone_moves_the_buckets(pool: asyncpg.Pool, scope: Scope) -> None:
    tokyo = Scope(scope.brand_id, scope.start, scope.end, "Asia/Tokyo", NOW)
    async with pool.acquire() as conn:
        cells = await analytics.heat_map(conn, tokyo)
    assert [(c.weekday, c.hour) for c in cells][:3] == [(1, 18), (1, 19), (1, 20)]


async def test_the_conversations_behind_a_bar(pool: asyncpg.Pool, scope: Scope) -> None:
    monday = T0.replace(tzinfo=None, hour=0)
    async with pool.acquire() as conn:
        page, total = await analytics_live.conversations(conn, scope, ("day", monday), 2, 0)
        rest, _ = await analytics_live.conversations(conn, scope, ("day", monday), 2, 2)
        email, n = await analytics_live.conversations(
            conn,
            Scope(scope.brand_id, scope.start, scope.end, "UTC", NOW, ("channel", "email")),
            None,
            10,
            0,
        )
    assert total == 3
    assert len(page) == 2
    assert len(rest) == 1
    assert [b.channel for b in page + rest] == ["telegram", "webchat", "email"]
    assert n == 1
    assert email[0].band == "high"


async def test_the_conversations_behind_a_breaches_bar(pool: asyncpg.Pool, scope: Scope) -> None:
    """The SLA breaches chart counts breaches by when they happened: its bar's conversations
    are those breached in the bucket, one that started before the range included."""
    monday = T0.replace(tzinfo=None, hour=0)
    async with pool.acquire() as conn:
        # Started two hours before the range, handed over 2 h later: breached at T0 + 5 min.
        early = await write(conn, Story(-7200, handoff=7200, breaches=("first_response",)))
        points = {p.at: p.breaches for p in await analytics.series(conn, scope, "day")}
        bar, total = await analytics_live.conversations(
            conn, scope, ("day", monday), 10, 0, breached=True
        )
        tuesday, none = await analytics_live.conversations(
            conn, scope, ("day", monday + timedelta(days=1)), 10, 0, breached=True
        )
        started, _ = await analytics_live.conversations(conn, scope, ("day", monday), 10, 0)
        # Paged: the second alone, then past the end; each page still says how many in all.
        second = await analytics_live.conversations(
            conn, scope, ("day", monday), 1, 1, breached=True
        )
        past = await analytics_live.conversations(conn, scope, None, 10, 5, breached=True)
    assert points[monday] == total == 2
    assert ([b.channel for b in second[0]], second[1]) == (["email"], 2)
    assert past == ([], 2)
    assert bar[0].id == early
    assert [b.channel for b in bar] == ["webchat", "email"]
    assert (tuesday, none) == ([], 0)
    assert early not in [b.id for b in started]


async def test_the_conversations_behind_a_ratings_bar(pool: asyncpg.Pool, scope: Scope) -> None:
    """The ratings chart's bar of 5 lists the web chat rated 5, the bar of 3 the email rated
    3; each bar's total is the chart's count. The other brand's rating of 1 is not theirs."""
    async with pool.acquire() as conn:
        counts = [r.count for r in await analytics.csat_distribution(conn, scope)]
        found = {
            n: await analytics_live.conversations(conn, scope, None, 10, 0, rating=n)
            for n in range(1, 6)
        }
        email = Scope(scope.brand_id, scope.start, scope.end, "UTC", NOW, ("channel", "email"))
        filtered, none = await analytics_live.conversations(conn, email, None, 10, 0, rating=5)
    assert [total for _rows, total in found.values()] == counts == [0, 0, 1, 0, 1]
    assert [b.channel for b in found[5][0]] == ["webchat"]
    assert [(b.channel, b.band) for b in found[3][0]] == [("email", "high")]
    assert (filtered, none) == ([], 0)


async def test_the_csat_comments_the_figures_count(pool: asyncpg.Pool, scope: Scope) -> None:
    """The comments of the ratings counted (csat_comments), newest first: the rated-3
    email's 'slow', and one added to the rated-5 web chat; a comment without a rating (the
    customer never rated) is not a rating's comment; another brand's never shows."""
    async with pool.acquire() as conn:
        rated_five = await conn.fetchval(
            "SELECT conversation_id FROM csat WHERE brand_id = $1 AND rating = 5", scope.brand_id
        )
        await conn.execute(
            "UPDATE csat SET comment = 'quick and kind' WHERE conversation_id = $1", rated_five
        )
        await conn.execute(
            "UPDATE csat SET comment = 'never rated' WHERE brand_id = $1 AND rating IS NULL",
            scope.brand_id,
        )
        await conn.execute(
            "UPDATE csat SET comment = 'theirs' WHERE brand_id <> $1", scope.brand_id
        )
        figures = await analytics.totals(conn, scope)
        found, total = await analytics_live.csat_comments(conn, scope, 10, 0)
        second, _ = await analytics_live.csat_comments(conn, scope, 1, 1)
        email = Scope(scope.brand_id, scope.start, scope.end, "UTC", NOW, ("channel", "email"))
        only_email, n = await analytics_live.csat_comments(conn, email, 10, 0)
    assert total == figures.csat_comments == 2
    # The rated 3 was answered at 13:00, the rated 5 at 11:00.
    assert [(c.rating, c.comment, c.channel, c.intent) for c in found] == [
        (3, "slow", "email", "refund"),
        (5, "quick and kind", "webchat", "refund"),
    ]
    assert found[0].answered_at == T0 + timedelta(seconds=7200 + 7200)
    assert found[0].agent is not None
    assert [c.comment for c in second] == ["quick and kind"]
    assert (n, [c.comment for c in only_email]) == (1, ["slow"])


async def test_now_counts_the_queue_and_the_agents(pool: asyncpg.Pool, scope: Scope) -> None:
    async with pool.acquire() as conn:
        await write(conn, Story(3 * DAY, bot_reply=1, handoff=2))
        await conn.execute(
            "UPDATE conversations SET queued_at = handoff_at,"
            " team_id = (SELECT id FROM teams WHERE brand_id = $1 ORDER BY name LIMIT 1),"
            " first_response_due = handoff_at + interval '1 minute' WHERE status = 'queued'",
            scope.brand_id,
        )
        # Another brand's conversation at risk: never in this brand's figures or list.
        theirs = await write(
            conn, Story(3 * DAY, bot_reply=1, handoff=2, brand=demo.OTHER_BRAND_SLUG)
        )
        await conn.execute(
            "UPDATE conversations SET first_response_due = handoff_at WHERE id = $1", theirs
        )
        now = await analytics_live.now(conn, scope.brand_id, NOW + timedelta(minutes=1))
        listed = await analytics_live.at_risk(conn, scope.brand_id, NOW + timedelta(minutes=1), 10)
        later = await analytics_live.at_risk(conn, scope.brand_id, NOW - timedelta(minutes=5), 10)
    # Due a minute after the handoff at NOW + 2 s; at risk from 5 minutes before that.
    assert [(r.due, r.status, r.team, r.agent) for r in listed] == [
        (NOW + timedelta(seconds=62), "queued", "Billing", None)
    ]
    assert listed[0].contact == f"Customer {3 * DAY:g}"
    assert later == []
    waiting = [t for t in now.teams if t.queued]
    assert len(waiting) == 1
    assert waiting[0].queued == 1
    assert waiting[0].oldest_queued_at == NOW + timedelta(seconds=2)
    assert now.at_risk == 1
    assert (now.unrouted, now.unrouted_since) == (0, None)


async def test_now_counts_the_wait_of_a_conversation_with_no_team(
    pool: asyncpg.Pool, scope: Scope
) -> None:
    """Waiting with no team yet is waiting: counted apart, with when its wait began (the
    dashboard's longest wait reads it too)."""
    async with pool.acquire() as conn:
        await write(conn, Story(3 * DAY, bot_reply=1, handoff=2))
        await write(conn, Story(3 * DAY + 60, bot_reply=1, handoff=2))
        await conn.execute(
            "UPDATE conversations SET queued_at = handoff_at, team_id = NULL"
            " WHERE status = 'queued'"
        )
        now = await analytics_live.now(conn, scope.brand_id, NOW + timedelta(minutes=5))
    assert (now.unrouted, now.unrouted_since) == (2, NOW + timedelta(seconds=2))
    assert [t for t in now.teams if t.queued] == []


async def test_the_migrations_backfill_gives_the_figures_the_triggers_recorded(
    pool: asyncpg.Pool, scope: Scope
) -> None:
    """Migration 0028 fills conversation_facts for the conversations already there from their
    messages, activities and breaches: the same facts its triggers record as they happen."""
    migration = Path(database.__file__).parent / "migrations" / "0028_analytics.sql"
    backfill = migration.read_text().split("-- The facts of the conversations already there")[1]
    backfill = backfill.split("\n", 1)[1]
    async with pool.acquire() as conn:
        recorded = await conn.fetch("SELECT * FROM conversation_facts ORDER BY conversation_id")
        before = await analytics.totals(conn, scope)
        await conn.execute("DELETE FROM conversation_facts")
        await conn.execute(backfill)
        filled = await conn.fetch("SELECT * FROM conversation_facts ORDER BY conversation_id")
        after = await analytics.totals(conn, scope)
    assert [dict(r) for r in filled] == [dict(r) for r in recorded]
    assert after == before


async def test_time_online_and_away_comes_from_the_recorded_status_changes(
    pool: asyncpg.Pool, scope: Scope
) -> None:
    async with pool.acquire() as conn:
        _brand, _inbox, agent = await brand_parts(conn, demo.BRAND_SLUG)
        for status, minutes in (("online", 0), ("away", 60), ("online", 90), ("offline", 180)):
            await conn.execute(
                "UPDATE agents SET status = $2, status_at = $3 WHERE id = $1",
                agent,
                status,
                T0 + timedelta(minutes=minutes),
            )
        # Unchanged: not a change, nothing recorded.
        await conn.execute("UPDATE agents SET status = 'offline' WHERE id = $1", agent)
        found = await analytics_live.agent_time(conn, scope.brand_id, scope.start, scope.end, NOW)
        recorded = await conn.fetchval(
            "SELECT count(*) FROM agent_status_changes WHERE agent_id = $1 AND at < $2",
            agent,
            scope.end,
        )
    mine = next(a for a in found if a.id == agent)
    assert (mine.online, mine.away) == (150 * 60.0, 30 * 60.0)
    assert recorded == 4


async def test_the_range_opens_with_the_last_status_set_before_it(
    pool: asyncpg.Pool, scope: Scope
) -> None:
    """Of the changes before the range only the last counts, from the range's start: online
    ten days before, away five days before (twice at one instant, away the later row), then
    online an hour into the range; the range's time away is that hour."""
    async with pool.acquire() as conn:
        _brand, _inbox, agent = await brand_parts(conn, demo.BRAND_SLUG)
        await conn.execute("DELETE FROM agent_status_changes WHERE agent_id = $1", agent)
        await conn.execute(
            "INSERT INTO agent_status_changes (agent_id, status, at)"
            " SELECT $1, s, $2::timestamptz + d FROM (VALUES ('online', interval '-10 days'),"
            " ('online', interval '-5 days'), ('away', interval '-5 days'),"
            " ('online', interval '1 hour')) v(s, d)",
            agent,
            T0,
        )
        found = await analytics_live.agent_time(conn, scope.brand_id, scope.start, scope.end, NOW)
    mine = next(a for a in found if a.id == agent)
    assert (mine.away, mine.online) == (3600.0, (NOW - T0).total_seconds() - 3600)
