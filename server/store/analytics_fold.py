"""Keeping the reports' roll-ups (server/store/analytics_rollups.py reads them): the sweeps'
lease holder folds the hours a change marked stale, the agents' load over its marked ranges,
and moves the watermark over the hours no transaction can still write into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from server.store.analytics_days import DAY, floor_day
from server.store.analytics_rollups import HOUR
from server.store.views import Conn

# Folded again per transaction: each (brand, hour) is tens of milliseconds at a busy hour.
FOLD_BATCH = 50
# How far the watermark moves in one round (a node back after a long pause catches up in
# steps, each its own transaction).
ADVANCE_MAX = timedelta(days=2)
# How long a day whose hours were folded again waits on hold before it is folded again itself
# (migration 0052: a day's fold reads its conversations' facts, seconds for a busy day; while
# it waits, reads take its hours, and its pairs from the facts).
HOLD_DAYS_FOR = timedelta(minutes=5)
# Held days folded again per transaction, and per round at most (a change that touched many
# past days holds them all; each fold reads a day's facts, seconds for a busy day, and the
# round shares the sweeps' lease with the SLA and presence sweeps): the rest wait a round.
DAYS_BATCH = 4
DAYS_PER_ROUND = 8


@dataclass(frozen=True, slots=True)
class Folded:
    """What one round did: hours folded again after a change, hours the watermark passed."""

    refolded: int
    advanced: int
    folded_until: datetime | None
    load_hours: int = 0  # hours of the agents' load folded again (migration 0034's marks)
    refolded_days: int = 0  # whole days folded again after their hold (migrations 0041, 0052)
    held_days: int = 0  # whole days put on hold this round (their hours folded again)


HORIZON = """
SELECT date_trunc('hour', least(now(), (
         SELECT min(xact_start) FROM pg_stat_activity
          WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
            AND datname = current_database())), 'UTC')
"""


# The agents' load's marks, taken: per brand, the ranges of hours merged and clipped to the
# watermark $1 (the hours after it are folded when it passes them).
LOAD_MARKS = """
WITH gone AS (DELETE FROM analytics_load_stale RETURNING brand_id, from_at, to_at)
SELECT x.brand_id, lower(r) AS a, upper(r) AS b
  FROM (SELECT brand_id, range_agg(tstzrange(from_at, least(to_at, $1))) AS m
          FROM gone WHERE from_at < $1 GROUP BY brand_id) x, unnest(x.m) r
 ORDER BY 1, 2
"""


async def fold(
    conn: Conn, horizon: datetime | None = None, hold_days_for: timedelta = HOLD_DAYS_FOR
) -> Folded:
    """One round of the fold (the sweeps' lease holder calls it): the marked hours folded
    again, a batch a transaction, their whole days put on hold, and the days held for
    ``hold_days_for`` folded again; the agents' load over its marked ranges; then the
    watermark moved to ``horizon`` (default: the hour no running transaction started before,
    so none can still write into an earlier one), folding the hours it passes and the days it
    completes (migration 0041's analytics_fold)."""
    refolded = held = 0
    while True:
        async with conn.transaction():
            until = await conn.fetchval("SELECT folded_until FROM analytics_fold_state")
            taken = await conn.fetch(
                """WITH picked AS (SELECT ctid FROM analytics_stale LIMIT $1 * 20),
                        gone AS (DELETE FROM analytics_stale s USING picked
                                  WHERE s.ctid = picked.ctid RETURNING s.brand_id, s.hour)
                   SELECT DISTINCT brand_id, hour FROM gone""",
                FOLD_BATCH,
            )
            days: set[tuple[UUID, datetime]] = set()
            for r in taken:
                # Hours past the watermark are folded when it passes them.
                if until is not None and r["hour"] < until:
                    await conn.execute(
                        "SELECT analytics_fold_hours($1, $2, $3)",
                        r["brand_id"],
                        r["hour"],
                        r["hour"] + HOUR,
                    )
                    refolded += 1
                    # A day not yet complete is folded when the watermark completes it.
                    if floor_day(r["hour"]) + DAY <= until:
                        days.add((r["brand_id"], floor_day(r["hour"])))
            # On hold in the same transaction as its hours: no read takes the day's old row
            # beside its hours' new ones. A day already held keeps the time it was first held.
            if days:
                brands, starts = zip(*sorted(days), strict=True)
                await conn.execute(
                    """INSERT INTO analytics_held_days (brand_id, day)
                       SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
                       ON CONFLICT DO NOTHING""",
                    list(brands),
                    list(starts),
                )
            held += len(days)
        if not taken:
            break
    refolded_days = await _fold_held_days(conn, hold_days_for)
    load_hours = 0
    async with conn.transaction():
        until = await conn.fetchval("SELECT folded_until FROM analytics_fold_state")
        for r in await conn.fetch(LOAD_MARKS, until):
            await conn.execute(
                "SELECT analytics_fold_load($1, $2, $3)", r["brand_id"], r["a"], r["b"]
            )
            load_hours += int((r["b"] - r["a"]) / HOUR)
    target = horizon if horizon is not None else await conn.fetchval(HORIZON)
    advanced = 0
    async with conn.transaction():
        until = await conn.fetchval("SELECT folded_until FROM analytics_fold_state FOR UPDATE")
        if until is not None and target > until:
            to = min(target, until + ADVANCE_MAX)
            # Brand by brand: each reads its own indexes (all at once would scan them all).
            for brand in await conn.fetch("SELECT id FROM brands ORDER BY id"):
                await conn.execute("SELECT analytics_fold($1, $2, $3)", brand["id"], until, to)
            await conn.execute("UPDATE analytics_fold_state SET folded_until = $1", to)
            advanced = int((to - until) / HOUR)
            until = to
    return Folded(refolded, advanced, until, load_hours, refolded_days, held)


async def _fold_held_days(conn: Conn, held_for: timedelta) -> int:
    """Fold again the days on hold for ``held_for`` or longer (DAYS_PER_ROUND at most), a
    few a transaction, each in the transaction that takes it off hold."""
    folded = 0
    while folded < DAYS_PER_ROUND:
        async with conn.transaction():
            due = await conn.fetch(
                """DELETE FROM analytics_held_days
                    WHERE (brand_id, day) IN (
                          SELECT brand_id, day FROM analytics_held_days
                           WHERE held_at <= now() - $1::interval
                           ORDER BY held_at LIMIT $2)
                RETURNING brand_id, day""",
                held_for,
                DAYS_BATCH,
            )
            for r in due:
                await conn.execute(
                    "SELECT analytics_fold_days($1, $2, $3)",
                    r["brand_id"],
                    r["day"],
                    r["day"] + DAY,
                )
        folded += len(due)
        if len(due) < DAYS_BATCH:
            break
    return folded


async def rebuild(conn: Conn, horizon: datetime) -> None:
    """Fold every hour before ``horizon`` again from the facts, and every whole day before it
    (from its hours; its pairs from its facts), marks dropped (after a bulk load that wrote
    history behind the watermark, as the bench does). A UTC day and brand a statement: one
    statement for the whole history grouped tens of millions of rows at once and spilled to
    disk; a day's groups fit in memory. Brand by brand, because a fold for every brand at once
    deletes the range's old rows by a scan of each roll-up table (their keys start with the
    brand), which, a day at a time, made the rebuild grow with the square of the history (a
    day of 228 conversations took 0.5 s at 20,000). Nothing before the first conversation's
    day can have a row (messages, breaches and assignments come after their conversation
    starts)."""
    async with conn.transaction():
        await conn.execute("TRUNCATE analytics_stale, analytics_load_stale, analytics_held_days")
        # The watermark first: the folds below then know the day it lies in, whose hours
        # keep their pairs' rows (migration 0054), and leave that day without a day's row.
        await conn.execute("UPDATE analytics_fold_state SET folded_until = $1", horizon)
        first = await conn.fetchval("SELECT min(created_at) FROM conversations")
        at = floor_day(first) + DAY if first is not None else horizon
        await conn.execute("SELECT analytics_fold(NULL, '-infinity', $1)", min(at, horizon))
        brands = [r["id"] for r in await conn.fetch("SELECT id FROM brands ORDER BY id")]
        while at < horizon:
            for brand in brands:
                await conn.execute(
                    "SELECT analytics_fold($1, $2, $3)", brand, at, min(at + DAY, horizon)
                )
            at += DAY


__all__ = [
    "ADVANCE_MAX",
    "DAYS_BATCH",
    "DAYS_PER_ROUND",
    "FOLD_BATCH",
    "HOLD_DAYS_FOR",
    "Folded",
    "fold",
    "rebuild",
]
