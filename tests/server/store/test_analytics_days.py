"""The per-day roll-ups (migration 0041, server/store/analytics_days.py): which part of a
range each tier answers, and that the reports read with them give the very answers the
per-hour tier alone gives, on the scripted history of test_analytics.py, after late changes
(a rating, a reopened conversation, a conversation and messages recorded late) and after
the fold has folded them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from server.store import analytics, analytics_fold, analytics_rollups, database
from server.store.analytics import Scope
from server.store.analytics_days import Split, split
from server.store.views import Conn
from tests.server.store.history import T0, Story, write
from tests.server.store.test_analytics import DAY, NOW, STORIES, scope  # noqa: F401

HORIZON = T0 + timedelta(days=4)  # Friday 6 March, 09:00 UTC
ZONES = ("UTC", "Asia/Tokyo", "America/New_York")  # New York moves to summer time on 8 March


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


# --- the split ------------------------------------------------------------------------------


def test_whole_utc_days_from_the_days_and_the_edges_from_the_hours() -> None:
    assert split(at(2, 9), at(6, 9), [], "UTC", None) == Split(
        days=[(at(3), at(6))], hours=[(at(2, 9), at(3)), (at(6), at(6, 9))]
    )
    # Days in UTC lie in one local day each; hours never do.
    assert split(at(2, 9), at(6, 9), [], "UTC", "day").days == [(at(3), at(6))]
    assert split(at(2, 9), at(6, 9), [], "UTC", "hour") == Split([], [(at(2, 9), at(6, 9))])


def test_a_marked_hour_sends_its_day_to_the_hours_and_itself_to_the_facts() -> None:
    assert split(at(2, 9), at(6, 9), [at(4, 10)], "UTC", None) == Split(
        days=[(at(3), at(4)), (at(5), at(6))],
        hours=[(at(2, 9), at(3)), (at(4), at(4, 10)), (at(4, 11), at(5)), (at(6), at(6, 9))],
    )


def test_a_day_is_read_whole_only_when_it_lies_in_one_local_bucket() -> None:
    # A UTC day is two local days in New York; a week there starts at 05:00 UTC on Monday
    # (04:00 once on summer time, from Sunday 8 March): that Monday's UTC day straddles it.
    assert split(at(2), at(16), [], "America/New_York", "day").days == []
    assert split(at(2), at(16), [], "America/New_York", "week").days == [
        (at(3), at(9)),
        (at(10), at(16)),
    ]
    # London is on UTC until 29 March 01:00 UTC: from then its days straddle the UTC ones.
    london = split(at(27), at(31), [], "Europe/London", "day")
    assert london.days == [(at(27), at(29))]
    assert london.hours == [(at(29), at(31))]


# --- the same answers ---------------------------------------------------------------------


async def answers(conn: Conn, s: Scope) -> list[object]:
    """Every roll-up read of the dashboard over ``s``: the totals, each breakdown, each
    series in three zones, the heat map, handoff reasons and ratings."""
    found: list[object] = [await analytics.totals(conn, s)]
    for by in analytics.BREAKDOWNS:
        found.append(await analytics.breakdown(conn, s, by))
    for zone in ZONES:
        zoned = Scope(s.brand_id, s.start, s.end, zone, s.now, s.only)
        for bucket in analytics.BUCKETS:
            found.append(await analytics.series(conn, zoned, bucket))
        found.append(await analytics.heat_map(conn, zoned))
    found.append(await analytics.handoff_rates(conn, s))
    found.append(await analytics.csat_distribution(conn, s))
    return found


async def tiered_and_hourly(
    conn: Conn, s: Scope, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[object], list[object]]:
    """``answers`` read with the days' tier, then from the hours alone."""
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    monkeypatch.setattr(analytics_rollups, "READ_DAYS", True)
    tiered = await answers(conn, s)
    monkeypatch.setattr(analytics_rollups, "READ_DAYS", False)
    hourly = await answers(conn, s)
    monkeypatch.setattr(analytics_rollups, "READ_DAYS", True)
    return tiered, hourly


# Each day's row is the sum of its hours' rows, for the days whole before the watermark:
# per table, its day rows and its hours' sums (the columns compared), each less the other.
SUMS = {
    "analytics_days": (
        "analytics_hours",
        "conversations, contained_settled, bot_open, handed, resolved, reopened, csat_sum,"
        " ratings, reasons",
        "sum(conversations)::int, sum(contained_settled)::int, sum(bot_open)::int,"
        " sum(handed)::int, sum(resolved)::int, sum(reopened)::int, sum(csat_sum)::int,"
        " ARRAY[sum(ratings[1]), sum(ratings[2]), sum(ratings[3]), sum(ratings[4]),"
        " sum(ratings[5])]::int[],"
        " coalesce((SELECT jsonb_object_agg(e.key, e.n) FROM (SELECT e.key, sum(e.value::int)"
        " AS n FROM unnest(array_agg(reasons)) j(r), jsonb_each_text(j.r) e GROUP BY 1) e),"
        " '{}')",
        "1, 2, 3, 4",
    ),
    "analytics_day_durations": (
        "analytics_hour_durations",
        "metric, bucket, n",
        "metric, bucket, sum(n)::int",
        "1, 2, 3, 4, 5, 6",
    ),
    "analytics_activity_days": (
        "analytics_activity_hours",
        "messages, breaches",
        "sum(messages)::int, sum(breaches)::int",
        "1, 2, 3, 4",
    ),
}
UNTIL = "(SELECT date_trunc('day', folded_until, 'UTC') FROM analytics_fold_state)"


# The pairs' day rows are the facts' (migration 0052: no hour rows), by the function the fold
# computes them with.
PAIRS = {
    "analytics_days": "analytics_rows_of",
    "analytics_day_durations": "analytics_row_durations_of",
}


async def assert_days_are_their_hours(conn: Conn) -> None:
    for days, (hours, columns, sums, grouped) in SUMS.items():
        kept = (
            f"SELECT brand_id, day, dim, key, {columns} FROM {days}"
            f" WHERE day < {UNTIL} AND strpos(dim, '|') = 0"
        )
        summed = (
            f"SELECT brand_id, date_trunc('day', hour, 'UTC'), dim, key, {sums}"
            f" FROM {hours} WHERE hour < {UNTIL} GROUP BY {grouped}"
        )
        differ = await conn.fetchval(
            f"SELECT count(*) FROM (({kept} EXCEPT {summed}) UNION ALL ({summed} EXCEPT {kept})) x"
        )
        assert (days, differ) == (days, 0)
    for days, function in PAIRS.items():
        kept = f"SELECT * FROM {days} WHERE day < {UNTIL} AND strpos(dim, '|') > 0"
        facts = f"SELECT * FROM {function}(NULL, '-infinity', {UNTIL}, true, true, NULL)"
        differ = await conn.fetchval(
            f"SELECT count(*) FROM (({kept} EXCEPT {facts}) UNION ALL ({facts} EXCEPT {kept})) x"
        )
        pairs = await conn.fetchval(f"SELECT count(*) FROM ({kept}) x")
        assert (days, differ) == (days, 0)
        assert pairs > 0


@pytest.fixture
async def folded(pool: asyncpg.Pool, scope: Scope) -> Scope:  # noqa: F811
    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, HORIZON)
    return scope


async def test_the_days_give_the_hours_answers(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with pool.acquire() as conn:
        plan = await analytics_rollups.plan(conn, folded)
        refunds = Scope(folded.brand_id, folded.start, folded.end, "UTC", NOW, ("intent", "refund"))
        for s in (folded, refunds):
            tiered, hourly = await tiered_and_hourly(conn, s, monkeypatch)
            assert tiered == hourly
        totals = await analytics.totals(conn, folded)
        days = await conn.fetch(
            "SELECT day, conversations FROM analytics_days"
            " WHERE brand_id = $1 AND dim = 'all' ORDER BY day",
            folded.brand_id,
        )
        await assert_days_are_their_hours(conn)
    assert plan is not None
    # Tuesday to Thursday from the days: two of the five conversations; the rest from hours.
    assert plan.days == [(at(3), at(6))]
    assert plan.hours == [(at(2, 9), at(3)), (at(6), at(6, 9))]
    # Monday to Thursday are whole before the watermark (Friday 09:00); none on Thursday.
    assert [(d["day"], d["conversations"]) for d in days] == [(at(2), 3), (at(3), 1), (at(4), 1)]
    # The known answers (test_analytics.py): five conversations, three handed, one
    # contained, one reopened, two ratings (5 and 3), the median first response 600 s.
    assert (totals.conversations, totals.handed, totals.contained) == (5, 3, 1)
    assert (totals.reopened, totals.csat_answered, totals.csat_sum) == (1, 2, 8)
    assert totals.frt_human_p50 is not None
    assert abs(totals.frt_human_p50 - 600.0) <= 0.045 * 600


async def test_late_changes_are_read_from_the_hours_until_their_day_is_folded_again(
    pool: asyncpg.Pool, folded: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rating changed, the Tuesday conversation reopened (not resolved again), a
    conversation recorded late on Thursday and messages imported into Wednesday: each marks
    an hour of a day the days' tier holds; until the fold, those days are read from their
    hours (the marked hours from the facts), then from their days folded again."""
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with pool.acquire() as conn:
        before = await analytics.totals(conn, folded)
        tuesday = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 AND created_at = $2",
            folded.brand_id,
            T0 + timedelta(seconds=DAY),
        )
        wednesday = await conn.fetchval(
            "SELECT id FROM conversations WHERE brand_id = $1 AND created_at = $2",
            folded.brand_id,
            T0 + timedelta(seconds=2 * DAY),
        )
        await conn.execute("UPDATE csat SET rating = 2 WHERE conversation_id = $1", tuesday)
        await conn.execute(
            "INSERT INTO activities (conversation_id, kind, created_at)"
            " VALUES ($1, 'reopened', $2)",
            tuesday,
            T0 + timedelta(seconds=DAY + 2400),
        )
        await conn.execute(
            "UPDATE conversations SET status = 'assigned', resolved_at = NULL WHERE id = $1",
            tuesday,
        )
        await write(conn, Story(3 * DAY + 3600, bot_reply=1, resolved=120))
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,"
                " text, created_at) SELECT $1, max(seq) + 1, 'in', 'customer', 'webchat',"
                " 'imported', $2 FROM messages WHERE conversation_id = $1",
                [(wednesday, at(4, 15) + timedelta(minutes=m)) for m in (5, 20)],
            )
        plan = await analytics_rollups.plan(conn, folded)
        marked_tiered, marked_hourly = await tiered_and_hourly(conn, folded, monkeypatch)
        marked = await analytics.totals(conn, folded)
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", 10**9)
        exact_days = await analytics.series(conn, folded, "day")
        monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
        # Their hours folded again, the three days wait on hold (migration 0052), read by
        # their hours meanwhile; once held long enough, a round folds them again.
        holding = await analytics_fold.fold(conn, HORIZON)
        held_plan = await analytics_rollups.plan(conn, folded)
        held_tiered, _hourly = await tiered_and_hourly(conn, folded, monkeypatch)
        again = await analytics_fold.fold(conn, HORIZON)
        done = await analytics_fold.fold(conn, HORIZON, hold_days_for=timedelta(0))
        after_plan = await analytics_rollups.plan(conn, folded)
        after_tiered, after_hourly = await tiered_and_hourly(conn, folded, monkeypatch)
        rolled_days = await analytics.series(conn, folded, "day")
        await assert_days_are_their_hours(conn)
    assert plan is not None
    assert plan.days == []  # Tuesday, Wednesday and Thursday each have a marked hour
    assert marked_tiered == marked_hourly
    assert (before.conversations, before.resolved, before.csat_sum) == (5, 3, 8)
    # Tuesday's reopened (not resolved) and rated 2; Thursday's new one resolved.
    assert (marked.conversations, marked.resolved, marked.csat_sum) == (6, 3, 10)
    assert marked_tiered[0] == marked
    assert (holding.held_days, holding.refolded_days) == (3, 0)
    assert held_plan is not None
    assert held_plan.days == []
    assert held_tiered == marked_tiered
    assert (again.held_days, again.refolded_days) == (0, 0)
    assert (done.held_days, done.refolded_days) == (0, 3)
    assert after_plan is not None
    assert after_plan.days == [(at(3), at(6))]
    assert after_tiered == after_hourly == marked_tiered
    # The day series' counts are the facts' (Wednesday's two imported messages included).
    assert [(p.at, p.figures.conversations, p.messages) for p in rolled_days] == [
        (p.at, p.figures.conversations, p.messages) for p in exact_days
    ]


async def test_the_watermark_folds_a_day_once_it_has_passed_it(
    pool: asyncpg.Pool,
    scope: Scope,  # noqa: F811
) -> None:
    async with pool.acquire() as conn:
        await analytics_fold.rebuild(conn, T0)
        await analytics_fold.fold(conn, at(3, 12))
        first = await conn.fetch(
            "SELECT day, conversations FROM analytics_days"
            " WHERE brand_id = $1 AND dim = 'all' ORDER BY day",
            scope.brand_id,
        )
        await analytics_fold.fold(conn, at(4))
        second = await conn.fetch(
            "SELECT day, conversations FROM analytics_days"
            " WHERE brand_id = $1 AND dim = 'all' ORDER BY day",
            scope.brand_id,
        )
        await assert_days_are_their_hours(conn)
    # Monday is whole behind a watermark at Tuesday 12:00, Tuesday is not yet.
    assert [(d["day"], d["conversations"]) for d in first] == [(at(2), 3)]
    assert [(d["day"], d["conversations"]) for d in second] == [(at(2), 3), (at(3), 1)]


async def test_the_migrations_backfill_gives_the_days_the_fold_gives(
    pool: asyncpg.Pool, folded: Scope
) -> None:
    migration = Path(database.__file__).parent / "migrations" / "0041_analytics_days.sql"
    backfill = migration.read_text().split("-- The backfill:")[1].split("\n", 1)[1]
    tables = ("analytics_days", "analytics_day_durations", "analytics_activity_days")
    async with pool.acquire() as conn:
        read = [f"SELECT * FROM {t} ORDER BY {SUMS[t][3]}" for t in tables]
        folded_rows = [await conn.fetch(q) for q in read]
        await conn.execute(f"TRUNCATE {', '.join(tables)}")
        await conn.execute(backfill)
        filled = [await conn.fetch(q) for q in read]
    assert all(folded_rows)
    assert [[dict(r) for r in t] for t in filled] == [[dict(r) for r in t] for t in folded_rows]


async def test_migration_0052_keeps_0051s_pair_days_and_drops_their_hours(
    pool: asyncpg.Pool, folded: Scope
) -> None:
    """0051 kept the pairs per hour and added them up into days; 0052 drops those hour rows
    and keeps the day rows, which must be what its own fold computes from the facts."""
    text = (
        Path(database.__file__).parent / "migrations" / "0052_analytics_pair_days.sql"
    ).read_text()
    tail = text[text.index("-- The pairs' hour rows go;") :]
    drop = "\n".join(line for line in tail.splitlines() if not line.startswith("--"))
    watermark = "(SELECT folded_until FROM analytics_fold_state)"
    async with pool.acquire() as conn:
        # The pairs' hour rows 0051's fold kept.
        await conn.execute(
            "INSERT INTO analytics_hours SELECT * FROM"
            f" analytics_rows_of(NULL, '-infinity', {watermark}, true, false, NULL)"
        )
        await conn.execute(
            "INSERT INTO analytics_hour_durations SELECT * FROM"
            f" analytics_row_durations_of(NULL, '-infinity', {watermark}, true, false, NULL)"
        )
        for days in ("analytics_days", "analytics_day_durations"):
            hours, columns, sums, grouped = SUMS[days]
            pairs = "strpos(dim, '|') > 0"
            kept = (
                f"SELECT brand_id, day, dim, key, {columns} FROM {days}"
                f" WHERE day < {UNTIL} AND {pairs}"
            )
            summed = (
                f"SELECT brand_id, date_trunc('day', hour, 'UTC'), dim, key, {sums}"
                f" FROM {hours} WHERE hour < {UNTIL} AND {pairs} GROUP BY {grouped}"
            )
            differ = await conn.fetchval(
                f"SELECT count(*) FROM (({kept} EXCEPT {summed}) UNION ALL"
                f" ({summed} EXCEPT {kept})) x"
            )
            assert (days, differ) == (days, 0)
        day_rows = await conn.fetchval("SELECT count(*) FROM analytics_days")
        await conn.execute(drop)
        left = await conn.fetchval(
            "SELECT (SELECT count(*) FROM analytics_hours WHERE strpos(dim, '|') > 0)"
            " + (SELECT count(*) FROM analytics_hour_durations WHERE strpos(dim, '|') > 0)"
        )
        assert left == 0
        assert await conn.fetchval("SELECT count(*) FROM analytics_days") == day_rows
        await assert_days_are_their_hours(conn)
