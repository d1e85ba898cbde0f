"""The agents' load over time, from the assignment spans migration 0032 records, over the
scripted history of test_analytics.py plus one conversation overlapping another: each
average and peak worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from server.services import demo
from server.store import analytics_fold, analytics_load, database
from server.store.analytics import Bucket, Scope
from server.store.views import Conn
from tests.server.store.history import T0, Story, brand_parts, write
from tests.server.store.test_analytics import DAY, NOW, scope  # noqa: F401

# Assigned at 10:01:42 (3,600 + 100 + 2 s), resolved at 10:16:40: beside the 10:03 one.
INFINITY = datetime.max  # how asyncpg reads 'infinity'

OVERLAP = Story(3700, bot_reply=1, handoff=100, assigned=2, agent_reply=10, resolved=1000)


@pytest.fixture
async def loaded(pool: asyncpg.Pool, scope: Scope) -> Scope:  # noqa: F811
    async with pool.acquire() as conn:
        await write(conn, OVERLAP)
    return scope


async def test_average_and_peak_per_hour(pool: asyncpg.Pool, loaded: Scope) -> None:
    async with pool.acquire() as conn:
        _b, _i, agent = await brand_parts(conn, demo.BRAND_SLUG)
        hours = await analytics_load.agent_load(
            conn, loaded.brand_id, loaded.start, loaded.end, "UTC", NOW, "hour"
        )
    got = [(r.at - T0.replace(tzinfo=None), r.average, r.peak) for r in hours]
    assert {r.agent_id for r in hours} == {agent}
    assert got == [
        # 10:03 -> 11:00 (3,420 s) and 10:01:42 -> 10:16:40 (898 s): 4,318 / 3,600.
        (timedelta(hours=1), round(4318 / 3600, 3), 2),
        # 11:01:30 -> 13:00
        (timedelta(hours=2), round(3510 / 3600, 3), 1),
        (timedelta(hours=3), 1.0, 1),
        # The next day: 09:00:40 -> 09:15:00, when it was first resolved (then reopened).
        (timedelta(days=1), round(860 / 3600, 3), 1),
    ]


async def test_days_in_a_zone_an_agent_filter_and_a_span_still_held(
    pool: asyncpg.Pool, loaded: Scope
) -> None:
    async with pool.acquire() as conn:
        _b, _i, agent = await brand_parts(conn, demo.BRAND_SLUG)
        # Assigned two days on at 09:00:30 and still held at NOW (a day later, 09:00).
        await write(conn, Story(2 * DAY, bot_reply=1, handoff=10, assigned=20))
        days = await analytics_load.agent_load(
            conn, loaded.brand_id, loaded.start, loaded.end, "UTC", NOW, "day", agent
        )
        nobody = await analytics_load.agent_load(
            conn, loaded.brand_id, loaded.start, loaded.end, "UTC", NOW, "day", loaded.brand_id
        )
    assert [(r.at.day, r.average, r.peak) for r in days] == [
        # The range starts at 09:00: the day's 15 hours in it.
        (2, round((4318 + 3510 + 3600) / (15 * 3600), 3), 2),
        (3, round(860 / 86400, 3), 1),
        (4, round((15 * 3600 - 30) / 86400, 3), 1),
        # Held all day until NOW (09:00): the day's elapsed part only.
        (5, 1.0, 1),
    ]
    assert nobody == []


async def test_the_migrations_backfill_gives_the_spans_the_trigger_recorded(
    pool: asyncpg.Pool, loaded: Scope
) -> None:
    migration = Path(database.__file__).parent / "migrations" / "0032_analytics_rollups.sql"
    backfill = migration.read_text().split("-- The spans of the assignments already recorded.")[1]
    backfill = backfill.split(";", 1)[0]
    columns = "conversation_id, brand_id, agent_id, started_at, ended_at"
    async with pool.acquire() as conn:
        recorded = await conn.fetch(f"SELECT {columns} FROM analytics_held ORDER BY 1, 4")
        await conn.execute("DELETE FROM analytics_held")
        await conn.execute(backfill)
        filled = await conn.fetch(f"SELECT {columns} FROM analytics_held ORDER BY 1, 4")
    assert len(recorded) == 5  # four stories of the brand and the other brand's one
    assert [dict(r) for r in filled] == [dict(r) for r in recorded]


async def _both_ways(conn: Conn, s: Scope, agent: UUID | None = None) -> None:
    """Every bucket, in zones of whole hours and one of half hours: the roll-up's answer is
    the spans' own."""
    buckets: tuple[Bucket, ...] = ("hour", "day", "week")
    for bucket in buckets:
        for zone in ("UTC", "Asia/Tokyo", "Asia/Kolkata"):
            rolled = await analytics_load.agent_load(
                conn, s.brand_id, s.start, s.end, zone, NOW, bucket, agent
            )
            exact = await analytics_load.exact(
                conn, s.brand_id, s.start, s.end, zone, NOW, bucket, agent
            )
            assert rolled == exact, (bucket, zone)


async def test_the_hourly_rollup_gives_the_spans_answer_and_a_late_span_marks_its_hours(
    pool: asyncpg.Pool, loaded: Scope
) -> None:
    async with pool.acquire() as conn:
        _b, _i, agent = await brand_parts(conn, demo.BRAND_SLUG)
        # Still held at NOW; folded up to a day after it (held to the fold's horizon).
        await write(conn, Story(2 * DAY, bot_reply=1, handoff=10, assigned=20))
        await analytics_fold.rebuild(conn, T0 + timedelta(days=4))
        rows = await conn.fetchval("SELECT count(*) FROM analytics_load_hours")
        await _both_ways(conn, loaded)
        await _both_ways(conn, loaded, agent)
        # A conversation recorded late, held 13:30 -> 15:10 on day one. Its assignment is
        # written first, a span still open: every folded hour from 13:00 on could have
        # counted it (a range to the watermark); then its end marks 15:00 on.
        await write(conn, Story(4.5 * 3600, bot_reply=1, handoff=10, assigned=20, resolved=6000))
        marked = await conn.fetch(
            "SELECT from_at, to_at FROM analytics_load_stale ORDER BY from_at"
        )
        await _both_ways(conn, loaded)
        done = await analytics_fold.fold(conn, T0 + timedelta(days=4))
        await _both_ways(conn, loaded)
        left = await conn.fetchval("SELECT count(*) FROM analytics_load_stale")
    assert rows > 0
    assert [(m["from_at"] - T0, m["to_at"]) for m in marked] == [
        (timedelta(hours=4), INFINITY),
        (timedelta(hours=6), INFINITY),
    ]
    assert done.load_hours == 4 * 24 - 4  # 13:00 on day one to the watermark, merged
    assert left == 0
