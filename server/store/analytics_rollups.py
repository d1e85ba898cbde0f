"""The reports' per-hour and per-day roll-ups (migrations 0032 and 0041; docs/metrics.md,
"What a report costs"): reading a range from them (folding them: analytics_fold.py).

A range is read as whole UTC hours: the folded ones from the roll-ups, the others (past the
fold's watermark, or marked stale by a change since their fold) computed from the facts by
the same SQL functions the fold uses, and all added up. The roll-ups have two tiers: per hour
(``analytics_hours``, ``analytics_hour_durations``, ``analytics_activity_hours``; migration
0032) and per UTC day, each day the sum of its hours (``analytics_days``,
``analytics_day_durations``, ``analytics_activity_days``; migration 0041). The range's whole
days are read from the days, its other folded hours from the hours (which days, and why:
server/store/analytics_days.py); both tiers give the same sums, so the same figures. Counts
add up exactly; a duration's median and p90 come from the sum of the hours' (or days')
histograms (eight log buckets an octave: within 4.5 % of the exact value; a day's histogram
is its hours' added bucket by bucket, so the quantile is the same whichever tier answers).
A quiet bot conversation's containment depends on the moment of the read, so the roll-ups
keep the bot's open conversations apart and the read subtracts those that spoke in the
last ``quiet`` minutes.

A breakdown filtered on another breakdown ("only English", by agent) reads the rows of the
pair of the two (migration 0051: dimension ``agent|language``, keys ``<agent>|en``), those
whose half of the filter is its value, grouped by their other half; an unfiltered one, or
one by the filter's own breakdown, reads the breakdown's rows. The pairs are kept per UTC
day only (migration 0052: per hour they cost about ninety rows a conversation), so a pair's
range reads its whole days from the days' tier and its other hours from the facts. An
intent's name may hold ``|`` (an imported Rasa project's may); no other value does, so a
pair's key splits one way only (analytics_rows.MATCHES).

When the roll-ups cannot answer (a time zone whose offset is not whole hours) or the range is
small enough to read exactly (``EXACT_UP_TO`` conversations), ``plan`` answers None and
server/store/analytics.py reads the facts as before.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from server.store.analytics_days import Grain, ceil_day, floor_day, merged, pair_edges, split
from server.store.analytics_rows import (
    ACTIVITY,
    COUNTS,
    DURATIONS,
    METRICS,
    OTHER,
    ROWS,
    TZ,
    WHOLE,
    Match,
)
from server.store.views import Conn

if TYPE_CHECKING:
    from server.store.analytics import Scope

P = ParamSpec("P")
T = TypeVar("T")

HOUR = timedelta(hours=1)
# Up to this many conversations in the range, the facts are read (exact medians): under
# about 10 ms of work a read on this machine's bench, so exactness costs nothing there.
EXACT_UP_TO = 5_000
# Whether whole days are read from the per-day tier (False: from their hours, as before
# migration 0041; the tests compare the two).
READ_DAYS = True
# Buckets an octave (migration 0032's analytics_bucket).
PER_OCTAVE = 8
# The breakdowns in migration 0051's order (analytics.BREAKDOWNS; a test keeps the three
# alike): a pair's dimension names the earlier one first.
PAIRED = ("team", "agent", "channel", "intent", "language", "band")


# A report's hours read from the facts (the current hour, marked hours, a pair's edges) join
# each conversation of a range to its facts inside a LATERAL over the ranges, where the
# planner cannot see the range's size: it assumes 0.5 % of the conversations (5,000 at a
# million) and, costing a page read from disk at 4 (the default), prefers a hash join over
# every row of conversation_facts to 5,000 look-ups by its key. At a million conversations a
# summary of 30 days ending half past an hour took 405 ms, 380 of it hashing the million
# facts for 230 conversations; with pages costed as read from memory or SSD (1.1, the usual
# setting there), the look-ups: 39 ms.
# And each statement planned for its own values: asyncpg prepares every statement, and after
# five runs PostgreSQL may keep a generic plan that does not know them. The recent bot
# conversations' read (summed) then chose the range's index (a third of the table, as a
# generic plan guesses for `active_hour >= $4`) over the few hours since `quiet`: a 30-day
# summary at a million conversations took 131 ms at p50 from its sixth run on, 7 ms before.
# A report's statements are few and their plans cost a millisecond or two; their values
# decide them. Only for the read's own transaction.
READ_COSTS = "SET LOCAL random_page_cost = 1.1; SET LOCAL plan_cache_mode = force_custom_plan"


def one_snapshot(
    read: Callable[Concatenate[Conn, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Conn, P], Coroutine[Any, Any, T]]:
    """A report read whose statements (the plan's watermark and marks, the roll-up rows, the
    histograms, the recent bot conversations) all see one snapshot: a fold committing between
    two of them would otherwise count an hour's change in one and not the other. Inside a
    caller's transaction, that one's snapshot serves."""

    @functools.wraps(read)
    async def in_one(conn: Conn, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if conn.is_in_transaction():
            await conn.execute(READ_COSTS)
            return await read(conn, *args, **kwargs)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await conn.execute(READ_COSTS)
            return await read(conn, *args, **kwargs)

    return in_one


def whole_hours(tz: str, start: datetime, end: datetime) -> bool:
    """Whether the zone's offset is whole hours across the range (its buckets are then
    unions of UTC hours); checked every 12 hours, which no zone's changes slip between."""
    zone = ZoneInfo(tz)
    at = start
    while at <= end:
        offset = at.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        at += timedelta(hours=12)
    return True


def floor_hour(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


@dataclass(frozen=True, slots=True)
class Plan:
    """Which parts of a scope come from where: the ``hours`` ranges from the per-hour
    roll-ups, the ``days`` ranges from the per-day ones, the ``raw`` ranges from the facts."""

    hours: list[tuple[datetime, datetime]]
    days: list[tuple[datetime, datetime]]
    raw: list[tuple[datetime, datetime]]
    dim: str
    key: str | None  # the filter's value (None: every value of dim)
    # 0: rows whose key is ``key``; 1 or 2: rows of a pair whose first or second half is.
    half: int = 0
    # Ranges whose facts are subtracted: the rest of a day read whole (pair_edges).
    less: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def match(self) -> Match:
        """Which rows hold the filter's value (analytics_rows.MATCHES): its half of the key,
        and whether it is an intent's, the only value that may hold a '|'."""
        if not self.half:
            return WHOLE
        return self.half, self.dim.split("|")[self.half - 1] == "intent"


def paired(only: str, by: str) -> tuple[str, int]:
    """The pair dimension of a filter on ``only`` broken down by ``by``, and which half of
    its keys is the filter's value (1: the first, 2: the second)."""
    if PAIRED.index(only) < PAIRED.index(by):
        return f"{only}|{by}", 1
    return f"{by}|{only}", 2


async def plan(conn: Conn, scope: Scope, by: str | None = None, grain: Grain = None) -> Plan | None:
    """How to read ``scope`` (grouped by breakdown ``by``, or by local buckets ``grain``)
    from the roll-ups; None when the facts should be read instead (see the module's
    docstring)."""
    if not whole_hours(scope.tz, scope.start, scope.end):
        return None
    half = 0
    if scope.only and by and scope.only[0] != by:
        dim, half = paired(scope.only[0], by)
    else:
        dim = by or (scope.only[0] if scope.only else "all")
    key = scope.only[1] if scope.only else ("all" if dim == "all" else None)
    first, last = ceil_hour(scope.start), floor_hour(scope.end)
    if last <= first:
        return None
    until = await conn.fetchval("SELECT folded_until FROM analytics_fold_state")
    folded_to = max(first, min(last, until)) if until is not None else first
    # The marks of the days the range meets, whole: a pair's edge day is read from its row
    # only when none of its hours is marked (pair_edges).
    around = (floor_day(scope.start), ceil_day(scope.end))
    marks = [
        r["hour"]
        for r in await conn.fetch(
            "SELECT DISTINCT hour FROM analytics_stale"
            " WHERE brand_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour",
            scope.brand_id,
            *around,
        )
    ]
    stale = [h for h in marks if first <= h < folded_to]
    held = frozenset(
        r["day"]
        for r in await conn.fetch(
            "SELECT day FROM analytics_held_days WHERE brand_id = $1 AND day >= $2 AND day < $3",
            scope.brand_id,
            *around,
        )
    )
    raw = [(h, h + HOUR) for h in stale]
    for a, b in ((scope.start, first), (folded_to, scope.end)):
        if a < b:
            raw.append((a, b))
    if READ_DAYS:
        tiers = split(first, folded_to, stale, scope.tz, grain, held)
        hours, days = tiers.hours, tiers.days
    else:
        hours, days = split(first, folded_to, stale, scope.tz, "hour").hours, []
    found = Plan(hours, days, raw, dim, key, half)
    n = await conn.fetchval(
        f"""SELECT coalesce(sum(conversations), 0) FROM ({ROWS[WHOLE]}) r""",
        *_args(scope, found, "all", "all"),
    )
    if int(n) <= EXACT_UP_TO:
        return None
    if half:
        # The pairs are kept per day only (migration 0052): their other hours are read from
        # the facts, or their day's row less the rest of the day's facts.
        if not READ_DAYS:
            return Plan([], [], raw + hours, dim, key, half)
        # The current day's folded hours have their pairs' rows (migration 0054). With no
        # watermark nothing is folded and ``hours`` is empty.
        today = floor_day(until) if until is not None else first
        current = [(max(a, today), b) for a, b in hours if b > today]
        before = [(a, min(b, today)) for a, b in hours if a < today]
        edges = pair_edges(
            raw + before, until, frozenset(floor_day(h) for h in marks) | held, scope.tz, grain
        )
        return Plan(
            current, merged(sorted(days + edges.days)), edges.facts, dim, key, half, edges.less
        )
    return found


def _args(scope: Scope, p: Plan, dim: str | None = None, key: str | None = None) -> list[object]:
    facts = p.raw + p.less
    return [
        scope.brand_id,
        dim or p.dim,
        key if dim else p.key,
        [a for a, _b in p.hours],
        [b for _a, b in p.hours],
        [a for a, _b in p.days],
        [b for _a, b in p.days],
        [a for a, _b in facts],
        [b for _a, b in facts],
        [1] * len(p.raw) + [-1] * len(p.less),
    ]


@dataclass(slots=True)
class Summed:
    """A group's counts (COUNTS, with ``contained`` worked out) and its durations'
    histograms (metric name -> bucket -> conversations)."""

    counts: dict[str, int] = field(default_factory=dict)
    histograms: dict[str, dict[int, int]] = field(default_factory=dict)


# How a group's value reads from a roll-up row ``t`` (its hour and key) and from a
# conversation ``v`` of analytics_values: "" for none, the key, a local bucket's start.
Grouping = tuple[str, str]
NO_GROUP: Grouping = ("''", "''")


def by_key(dim: str, p: Plan | None = None) -> Grouping:
    """Rows by their key (of a pair, by the half that is not the filter's) and
    conversations by their ``dim`` value."""
    return _key(p), ("'all'" if dim == "all" else f"v.{dim}")


def _key(p: Plan | None) -> str:
    """A row's key, as the read groups it: of a pair's, the half that is not the filter's."""
    if p is None or not p.half:
        return "t.key"
    return OTHER[p.half].format(k="t.key")


def by_bucket(bucket: str) -> Grouping:
    """Rows (and conversations) by the local bucket they start in: a day's row is read only
    when its whole day lies in one bucket (the plan's grain)."""
    return (
        f"date_trunc('{bucket}', t.hour AT TIME ZONE {TZ})::text",
        f"date_trunc('{bucket}', v.created_at AT TIME ZONE {TZ})::text",
    )


async def summed(
    conn: Conn, scope: Scope, p: Plan, group: Grouping, quiet: datetime
) -> dict[str, Summed]:
    """Each group's counts and histograms over the plan; ``quiet``: bot conversations
    without a message since are contained."""
    extra: list[object] = [scope.tz] if TZ in group[0] else []
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)
    rows = await conn.fetch(
        # A group whose rows cancel out (a day's row less the rest of the day, pair_edges)
        # had no conversation in the range: none, as its rows were never read.
        f"SELECT {group[0]} AS g, {sums} FROM ({ROWS[p.match]}) t GROUP BY 1"
        " HAVING sum(t.conversations) <> 0",
        *_args(scope, p),
        *extra,
    )
    found: dict[str, Summed] = defaultdict(Summed)
    for r in rows:
        found[r["g"]].counts = {c: int(r[c]) for c in COUNTS}
    hists = await conn.fetch(
        f"SELECT {group[0]} AS g, t.metric, t.bucket, sum(t.n)::bigint AS n"
        f" FROM ({DURATIONS[p.match]}) t GROUP BY 1, 2, 3 HAVING sum(t.n) <> 0",
        *_args(scope, p),
        *extra,
    )
    for r in hists:
        found[r["g"]].histograms.setdefault(METRICS[r["metric"]], {})[r["bucket"]] = int(r["n"])
    # The bot's open conversations that spoke since ``quiet`` are not contained yet.
    params: list[object] = [scope.brand_id, scope.start, scope.end, quiet]
    grouped = group[1]
    if TZ in grouped:
        params.append(scope.tz)
        grouped = grouped.replace(TZ, f"${len(params)}")
    only = ""
    if scope.only:
        params.append(scope.only[1])
        only = f"AND v.{scope.only[0]} = ${len(params)}"
    # The conversations that spoke since ``quiet`` are found by the hour of their last
    # message (migration 0043's conversations_by_activity, the only index on it since that
    # migration took last_message_at out of the indexes): a few hours' conversations, where
    # the range's own index would visit every conversation of the range (at 1,000,000
    # conversations, 30 days: 333,000 rows, 180 ms a read). The hour is implied by the
    # moment, so the answer is the same.
    recent = await conn.fetch(
        f"""SELECT {grouped} AS g, count(*) AS n
              FROM analytics_values v
             WHERE v.brand_id = $1 AND v.created_at >= $2 AND v.created_at < $3
               AND v.last_message_at >= $4 AND NOT v.handed AND v.bot_replied
               AND v.status <> 'resolved' {only}
               AND v.id IN (SELECT a.id FROM conversations a
                             WHERE a.active_hour >= date_trunc('hour', $4::timestamptz, 'UTC'))
             GROUP BY 1""",
        *params,
    )
    less = {r["g"]: int(r["n"]) for r in recent}
    for g, s in found.items():
        if s.counts:
            s.counts["contained"] = (
                s.counts["contained_settled"] + s.counts["bot_open"] - less.get(g, 0)
            )
    return dict(found)


def quantile(histogram: dict[int, int], p: float) -> float | None:
    """percentile_cont(p) over the values the histogram counts, each bucket's values spread
    evenly (in log scale) across it."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = p * (n - 1)
    low, high = math.floor(rank), math.ceil(rank)
    a, b = _nth(histogram, low), _nth(histogram, high)
    return a + (rank - low) * (b - a)


def _nth(histogram: dict[int, int], i: int) -> float:
    seen = 0
    for bucket in sorted(histogram):
        n = histogram[bucket]
        if i < seen + n:
            if bucket == 0:
                return 0.5
            lo = 2 ** ((bucket - 1) / PER_OCTAVE)
            return lo * 2 ** (((i - seen) + 0.5) / n / PER_OCTAVE)
        seen += n
    raise AssertionError("rank past the histogram")  # quantile keeps i < n


async def activity(
    conn: Conn, scope: Scope, p: Plan, group: Grouping
) -> dict[str, tuple[int, int]]:
    """Messages written and breaches per group (a local bucket)."""
    extra: list[object] = [scope.tz] if TZ in group[0] else []
    rows = await conn.fetch(
        f"SELECT {group[0]} AS g, sum(messages)::bigint AS m, sum(breaches)::bigint AS b"
        f" FROM ({ACTIVITY}) t GROUP BY 1",
        *_args(scope, p),
        *extra,
    )
    return {r["g"]: (int(r["m"]), int(r["b"])) for r in rows}


async def heat(conn: Conn, scope: Scope, p: Plan) -> list[tuple[int, int, int]]:
    """(weekday, hour, conversations) in the scope's zone, empty cells left out (a plan of
    grain "hour": no day's row)."""
    rows = await conn.fetch(
        f"""SELECT extract(isodow FROM t.hour AT TIME ZONE {TZ})::int AS weekday,
                   extract(hour FROM t.hour AT TIME ZONE {TZ})::int AS hour,
                   sum(t.conversations)::bigint AS n
              FROM ({ROWS[WHOLE]}) t GROUP BY 1, 2 HAVING sum(t.conversations) > 0 ORDER BY 1, 2""",
        *_args(scope, p),
        scope.tz,
    )
    return [(r["weekday"], r["hour"], int(r["n"])) for r in rows]


async def reasons(conn: Conn, scope: Scope, p: Plan) -> tuple[list[tuple[str, int]], int]:
    """(reason, conversations handed off for it), most first, and the conversations of the
    plan's rows: one pass over the rows, which hold both."""
    rows = await conn.fetch(
        f"""WITH t AS ({ROWS[WHOLE]}),
                 n AS (SELECT coalesce(sum(t.conversations), 0)::bigint AS n FROM t)
            SELECT r.key AS reason, sum(r.value::int)::bigint AS n, (SELECT n FROM n) AS total
              FROM t, jsonb_each_text(t.reasons) r
             GROUP BY 1 HAVING sum(r.value::int) > 0
             UNION ALL SELECT NULL, 0, (SELECT n FROM n)
             ORDER BY n DESC, reason""",
        *_args(scope, p),
    )
    total = int(rows[0]["total"]) if rows else 0
    return [(r["reason"], int(r["n"])) for r in rows if r["reason"] is not None], total


async def volume(conn: Conn, scope: Scope, p: Plan, group: str) -> list[tuple[str, str, int]]:
    """(local bucket, key, conversations) of the plan's rows, grouped by ``group`` (a
    ``by_bucket`` expression) and key; the rows' counts alone, no histogram."""
    rows = await conn.fetch(
        f"""SELECT {group} AS at, {_key(p)} AS key, sum(t.conversations)::bigint AS n
              FROM ({ROWS[p.match]}) t GROUP BY 1, 2 HAVING sum(t.conversations) > 0""",
        *_args(scope, p),
        scope.tz,
    )
    return [(r["at"], r["key"], int(r["n"])) for r in rows]


async def ratings(conn: Conn, scope: Scope, p: Plan) -> list[int]:
    row = await conn.fetchrow(
        f"""SELECT coalesce(sum(t.ratings[1]), 0) AS r1, coalesce(sum(t.ratings[2]), 0) AS r2,
                   coalesce(sum(t.ratings[3]), 0) AS r3, coalesce(sum(t.ratings[4]), 0) AS r4,
                   coalesce(sum(t.ratings[5]), 0) AS r5 FROM ({ROWS[WHOLE]}) t""",
        *_args(scope, p),
    )
    assert row is not None  # aggregates answer one row
    return [int(row[f"r{n}"]) for n in range(1, 6)]


__all__ = [
    "EXACT_UP_TO",
    "HOUR",
    "Plan",
    "ceil_hour",
    "floor_hour",
    "one_snapshot",
    "plan",
    "quantile",
    "whole_hours",
]
