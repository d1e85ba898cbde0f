"""The per-hour roll-ups (migration 0032) give the figures the facts give: the scripted
history of test_analytics.py read once from the facts (exact) and once from the roll-ups;
counts equal, medians and p90s within the histograms' 4.5 %. A change after the fold marks
its hour, which is read from the facts until folded again."""

from __future__ import annotations

import itertools
import math
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from server.store import (
    analytics,
    analytics_fold,
    analytics_live,
    analytics_rollups,
    analytics_volume,
    database,
)
from server.store.analytics import DURATIONS, Figures, Scope
from server.store.views import Conn
from tests.server.store.history import T0, Story, write
from tests.server.store.test_analytics import DAY, NOW, STORIES, scope  # noqa: F401

PRECISION = 0.045
HORIZON = T0 + timedelta(days=4)


def assert_close(rolled: Figures, exact: Figures) -> None:
    for f in fields(Figures):
        a, b = getattr(rolled, f.name), getattr(exact, f.name)
        if f.name in DURATIONS and a is not None and b is not None and b > 0:
            assert abs(a - b) <= PRECISION * b + 0.1, (f.name, a, b)
        else:
            assert a == b, (f.name, a, b)


async def both(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, read: object
) -> tuple[object, object]:
    """``read(conn)`` from the facts, then from the roll-ups."""
    async with pool.acquire() as conn:
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", 10**9)
        exact = await read(conn)  # type: ignore[operator]
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
        rolled = await read(conn)  # type: ignore[operator]
    return exact, rolled


@pytest.fixture
async def folded(pool: asyncpg.Pool, scope: Scope) -> Scope:  # noqa: F811
    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, HORIZON)
    return scope


async def test_totals_and_breakdowns_from_the_rollups(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pool.acquire() as conn:
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
        assert await analytics_rollups.plan(conn, folded) is not None
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", 10)
        assert await analytics_rollups.plan(conn, folded) is None  # 5 conversations: exact
    exact, rolled = await both(pool, monkeypatch, lambda c: analytics.totals(c, folded))
    assert isinstance(exact, Figures)
    assert isinstance(rolled, Figures)
    assert exact.frt_human_p50 == 600.0
    assert_close(rolled, exact)
    assert rolled.contained == 1  # the bot's one still talking is not counted
    for by in analytics.BREAKDOWNS:
        exact_rows, rolled_rows = await both(
            pool, monkeypatch, lambda c, by=by: analytics.breakdown(c, folded, by)
        )
        assert [(g.key, g.label) for g in rolled_rows] == [  # type: ignore[attr-defined]
            (g.key, g.label)
            for g in exact_rows  # type: ignore[attr-defined]
        ]
        for a, b in zip(rolled_rows, exact_rows, strict=True):  # type: ignore[call-overload]
            assert_close(a.figures, b.figures)


async def test_a_filter_series_heat_map_reasons_and_ratings_from_the_rollups(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    refunds = Scope(folded.brand_id, folded.start, folded.end, "UTC", NOW, ("intent", "refund"))
    exact, rolled = await both(pool, monkeypatch, lambda c: analytics.totals(c, refunds))
    assert_close(rolled, exact)  # type: ignore[arg-type]
    for bucket in analytics.BUCKETS:
        for zone in ("UTC", "Asia/Tokyo"):
            s = Scope(folded.brand_id, folded.start, folded.end, zone, NOW)
            exact_points, rolled_points = await both(
                pool, monkeypatch, lambda c, s=s, b=bucket: analytics.series(c, s, b)
            )
            assert [(p.at, p.messages, p.breaches) for p in rolled_points] == [  # type: ignore[attr-defined]
                (p.at, p.messages, p.breaches)
                for p in exact_points  # type: ignore[attr-defined]
            ]
            for a, b in zip(rolled_points, exact_points, strict=True):  # type: ignore[call-overload]
                assert_close(a.figures, b.figures)
    for read in (analytics.heat_map, analytics.handoff_rates, analytics.csat_distribution):
        exact_rows, rolled_rows = await both(pool, monkeypatch, lambda c, r=read: r(c, folded))
        assert rolled_rows == exact_rows
    # A filter's rates are of its own conversations: the refunds' two, one handed off.
    exact_rows, rolled_rows = await both(
        pool, monkeypatch, lambda c: analytics.handoff_rates(c, refunds)
    )
    assert rolled_rows == exact_rows


async def test_a_breakdown_filtered_on_another_reads_the_pairs_rollups(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every filter on one breakdown (each of its values), broken down by every other: the
    pair's roll-ups give the facts' rows, in UTC (whole days) and in Tokyo (hours and days)."""
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with pool.acquire() as conn:
        rolled_plan = await analytics_rollups.plan(
            conn,
            Scope(folded.brand_id, folded.start, folded.end, "UTC", NOW, ("band", "p1")),
            "agent",
        )
    assert rolled_plan is not None
    assert (rolled_plan.dim, rolled_plan.key, rolled_plan.half) == ("agent|band", "p1", 2)
    # Migration 0052: a pair's whole days from their rows, its other hours from the facts;
    # 0054: but the hours of the watermark's day (Friday, to 09:00) from their pairs' rows.
    assert rolled_plan.days
    assert rolled_plan.raw
    assert rolled_plan.hours == [(HORIZON.replace(hour=0), HORIZON)]
    compared = 0
    for zone in ("UTC", "Asia/Tokyo"):
        whole = Scope(folded.brand_id, folded.start, folded.end, zone, NOW)
        for only in analytics.BREAKDOWNS:
            async with pool.acquire() as conn:
                values = [g.key for g in await analytics.breakdown(conn, whole, only)]
            for value in values:
                s = Scope(whole.brand_id, whole.start, whole.end, zone, NOW, (only, value))
                for by in analytics.BREAKDOWNS:
                    if by == only:
                        continue
                    exact_rows, rolled_rows = await both(
                        pool, monkeypatch, lambda c, s=s, by=by: analytics.breakdown(c, s, by)
                    )
                    assert [(g.key, g.label) for g in rolled_rows] == [  # type: ignore[attr-defined]
                        (g.key, g.label)
                        for g in exact_rows  # type: ignore[attr-defined]
                    ], (only, value, by)
                    for a, b in zip(rolled_rows, exact_rows, strict=True):  # type: ignore[call-overload]
                        assert_close(a.figures, b.figures)
                    exact_volume, rolled_volume = await both(
                        pool,
                        monkeypatch,
                        lambda c, s=s, by=by: analytics_volume.volume(c, s, "day", by),
                    )
                    assert rolled_volume == exact_volume, (only, value, by)
                    compared += 1
    assert compared > 100


async def test_a_change_after_the_fold_is_read_from_the_facts_until_folded_again(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM analytics_stale") == 0
        before = await analytics.totals(conn, folded)
        # A late rating of the conversation reopened on day two, and a new conversation.
        reopened = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 AND created_at = $2",
            folded.brand_id,
            T0 + timedelta(seconds=DAY),
        )
        await conn.execute("UPDATE csat SET rating = 2 WHERE conversation_id = $1", reopened)
        await write(conn, Story(DAY + 60, bot_reply=1, resolved=120))
        marked = await analytics.totals(conn, folded)
        done = await analytics_fold.fold(conn, HORIZON)
        after = await analytics.totals(conn, folded)
        left = await conn.fetchval("SELECT count(*) FROM analytics_stale")
    assert (before.csat_answered, before.conversations) == (2, 5)
    assert (marked.csat_answered, marked.csat_sum, marked.conversations) == (3, 10, 6)
    assert marked.contained == before.contained + 1
    assert after == marked
    assert done.refolded == 1
    assert done.advanced == 0
    assert left == 0


async def test_the_watermark_folds_the_hours_it_passes(pool: asyncpg.Pool, scope: Scope) -> None:  # noqa: F811
    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, T0)
        await conn.execute("TRUNCATE analytics_stale")
        done = await analytics_fold.fold(conn, T0 + timedelta(hours=3))
        hours = await conn.fetch(
            "SELECT hour, conversations FROM analytics_hours"
            " WHERE brand_id = $1 AND dim = 'all' ORDER BY hour",
            scope.brand_id,
        )
    assert (done.advanced, done.folded_until) == (3, T0 + timedelta(hours=3))
    assert [(h["hour"] - T0, h["conversations"]) for h in hours] == [
        (timedelta(0), 1),
        (timedelta(hours=1), 1),
        (timedelta(hours=2), 1),
    ]


def test_quantiles_from_a_histogram() -> None:
    values = [3.0, 60.0, 61.0, 600.0, 7200.0]
    histogram: dict[int, int] = {}
    for v in values:
        b = 0 if v < 1 else 1 + int(8 * math.log2(v))
        histogram[b] = histogram.get(b, 0) + 1
    median = analytics_rollups.quantile(histogram, 0.5)
    assert median is not None
    assert abs(median - 61.0) <= PRECISION * 61.0
    assert analytics_rollups.quantile({}, 0.5) is None


async def test_messages_imported_into_a_folded_hour_mark_it_and_the_fold_recounts(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0034: three messages dated into 10:00 on day one, which the fold passed;
    the hour is marked once (not once a message), read from the facts until folded again,
    and then the roll-up's count is the facts' recount: the hour's messages as folded, plus
    three."""
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    hour = T0 + timedelta(hours=1)
    counted = """SELECT coalesce(sum(messages), 0) FROM analytics_activity_hours
                  WHERE brand_id = $1 AND dim = 'all' AND hour = $2"""
    recount = """SELECT coalesce(sum(messages), 0)
                   FROM analytics_activity_of($1::uuid, $2::timestamptz, $2 + interval '1 hour')
                  WHERE dim = 'all'"""
    async with pool.acquire() as conn:
        before = await conn.fetchval(counted, folded.brand_id, hour)
        conversation = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 ORDER BY created_at LIMIT 1",
            folded.brand_id,
        )
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,"
                " text, created_at) SELECT $1, max(seq) + 1, 'in', 'customer', 'webchat',"
                " 'imported', $2 FROM messages WHERE conversation_id = $1",
                [(conversation, hour + timedelta(minutes=m)) for m in (5, 20, 40)],
            )
        marks = await conn.fetch("SELECT brand_id, hour FROM analytics_stale")
        day = Scope(folded.brand_id, T0, T0 + timedelta(days=1), "UTC", NOW)
        marked = await analytics.series(conn, day, "hour")
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", 10**9)
        exact = await analytics.series(conn, day, "hour")
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
        stale_count = await conn.fetchval(counted, folded.brand_id, hour)
        done = await analytics_fold.fold(conn, HORIZON)
        after = await conn.fetchval(counted, folded.brand_id, hour)
        recounted = await conn.fetchval(recount, folded.brand_id, hour)
        rolled = await analytics.series(conn, day, "hour")
    assert [(m["brand_id"], m["hour"]) for m in marks] == [(folded.brand_id, hour)]
    assert stale_count == before  # the roll-up row as folded, not read while marked
    assert [p.messages for p in exact if p.at == hour.replace(tzinfo=None)] == [before + 3]
    assert done.refolded == 1
    assert after == recounted == before + 3
    for read in (marked, rolled):  # while marked, and folded again: the facts' counts
        assert [(p.at, p.messages, p.breaches) for p in read] == [
            (p.at, p.messages, p.breaches) for p in exact
        ]
        for a, b in zip(read, exact, strict=True):
            assert_close(a.figures, b.figures)


async def test_a_live_message_fires_no_mark_function(pool: asyncpg.Pool, folded: Scope) -> None:
    """A message dated now (as every live one) is stopped by the trigger's WHEN: the marking
    function is not called for it, only for the backdated one."""
    async with pool.acquire() as conn:
        conversation = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 ORDER BY created_at LIMIT 1",
            folded.brand_id,
        )
        await conn.execute("SET track_functions = 'pl'")
        insert = (
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text,"
            " created_at) SELECT $1, max(seq) + 1, 'in', 'customer', 'webchat', 'x',"
            " coalesce($2, now()) FROM messages WHERE conversation_id = $1"
        )
        calls = """SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions
                    WHERE funcname = 'analytics_mark_message'"""
        async with conn.transaction():
            await conn.execute(insert, conversation, None)
            live = await conn.fetchval(calls)
            await conn.execute(insert, conversation, T0 + timedelta(hours=2))
            late = await conn.fetchval(calls)
        await conn.execute("RESET track_functions")
    assert (live, late) == (0, 1)


async def test_a_report_read_sees_one_snapshot(pool: asyncpg.Pool) -> None:
    """Its statements share one repeatable-read snapshot, so a fold committing between two
    of them cannot count an hour's change in one and not the other; inside a caller's
    transaction, the caller's serves."""

    @analytics_rollups.one_snapshot
    async def isolation(conn: Conn) -> tuple[str, bool]:
        level = await conn.fetchval("SELECT current_setting('transaction_isolation')")
        read_only = await conn.fetchval("SELECT current_setting('transaction_read_only')")
        return str(level), read_only == "on"

    async with pool.acquire() as conn:
        assert await isolation(conn) == ("repeatable read", True)
        async with conn.transaction():
            assert await isolation(conn) == ("read committed", False)


async def test_a_ratings_bars_count_from_the_rollups_is_its_conversations(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ratings bar's total is the chart's count (read from the roll-ups over a large
    range): the same as its conversations counted one by one."""
    for n in range(1, 6):
        exact, rolled = await both(
            pool,
            monkeypatch,
            lambda c, n=n: analytics_live.conversations(c, folded, None, 10, 0, rating=n),
        )
        assert rolled == exact
        assert isinstance(rolled, tuple)
        assert rolled[1] == len(rolled[0])


async def test_the_pairs_are_every_two_breakdowns_in_one_order(pool: asyncpg.Pool) -> None:
    """The read's order of a pair's halves (PAIRED) is the breakdowns' and migration 0051's:
    a breakdown added to one and not the others fails here, not as a filtered read's 500."""
    assert analytics_rollups.PAIRED == analytics.BREAKDOWNS
    pairs = [
        f"{a}|{b}"
        for i, a in enumerate(analytics.BREAKDOWNS)
        for b in analytics.BREAKDOWNS[i + 1 :]
    ]
    async with pool.acquire() as conn:
        dims = await conn.fetchval("SELECT analytics_dims()")
    assert dims == ["all", *analytics.BREAKDOWNS, *pairs]
    for only, by in itertools.permutations(analytics.BREAKDOWNS, 2):
        dim, half = analytics_rollups.paired(only, by)
        assert dim in pairs
        assert dim.split("|")[half - 1] == only


async def test_the_migrations_backfill_gives_the_pairs_the_fold_gives(
    pool: asyncpg.Pool, folded: Scope
) -> None:
    migration = Path(database.__file__).parent / "migrations" / "0051_analytics_pairs.sql"
    backfill = migration.read_text().split("-- The backfill:")[1].split("\n", 1)[1]
    order = {
        "analytics_hours": "brand_id, dim, hour, key",
        "analytics_hour_durations": "brand_id, dim, hour, key, metric, bucket",
        "analytics_days": "brand_id, dim, day, key",
        "analytics_day_durations": "brand_id, dim, day, key, metric, bucket",
    }
    async with pool.acquire() as conn:
        read = [f"SELECT * FROM {t} ORDER BY {o}" for t, o in order.items()]
        folded_rows = [await conn.fetch(q) for q in read]
        # As before migration 0051: single breakdowns only.
        await conn.execute("DELETE FROM analytics_hours WHERE dim LIKE '%|%'")
        await conn.execute("DELETE FROM analytics_hour_durations WHERE dim LIKE '%|%'")
        await conn.execute("TRUNCATE analytics_days, analytics_day_durations")
        await conn.execute(backfill)
        filled = [await conn.fetch(q) for q in read]
    assert all(folded_rows)
    # Migration 0052: the pairs per day only.
    assert not any("|" in r["dim"] for r in folded_rows[0] + folded_rows[1])
    assert any(r["dim"] == "agent|band" for r in folded_rows[2])
    assert any(r["dim"] == "agent|band" for r in folded_rows[3])
    assert [[dict(r) for r in t] for t in filled] == [[dict(r) for r in t] for t in folded_rows]
