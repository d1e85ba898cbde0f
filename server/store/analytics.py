"""The supervisor reports' figures (docs/metrics.md), read with SQL over what is recorded:
conversations, messages, activities, SLA breaches, CSAT answers, knowledge-base uses.

Every query starts from ``facts``: one row per conversation of the brand created in the
range, with each clock of docs/metrics.md as seconds (NULL when the clock never stopped) and
the flags the rates count. The clocks' ends are facts recorded once, when they happened
(``conversation_facts``, kept by migration 0028's triggers), not found again in the messages
and activities on every read. The aggregates over it are written once (``AGGREGATES``) and
grouped by nothing (the totals), by a breakdown's key, or by a time bucket. Reads only.

The caller has checked that the viewer may see the brand: supervisors and analysts see all
of a brand's conversations (docs/access.md), so no team filter applies here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg

from server.store import analytics_rollups as rollups
from server.store.views import Conn

Bucket = Literal["hour", "day", "week"]
Breakdown = Literal["team", "agent", "channel", "intent", "language", "band"]
BUCKETS: tuple[Bucket, ...] = ("hour", "day", "week")
BREAKDOWNS: tuple[Breakdown, ...] = ("team", "agent", "channel", "intent", "language", "band")
# A conversation still with the bot and quiet this long ended without a human: contained
# (docs/metrics.md; the bot never marks a conversation resolved itself).
CONTAINED_AFTER = timedelta(minutes=30)
NONE = "none"

# Each breakdown's key, as SQL over the conversation ``c``; a missing one reads "none".
KEYS: dict[Breakdown, str] = {
    "team": f"coalesce(c.team_id::text, '{NONE}')",
    "agent": f"coalesce(coalesce(c.assignee_id, c.previous_agent_id)::text, '{NONE}')",
    "channel": "c.channel",
    "intent": f"coalesce(c.intent, '{NONE}')",
    "language": f"coalesce(c.language, '{NONE}')",
    "band": f"coalesce(c.band, '{NONE}')",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report covers: a brand, conversations created in ``[start, end)``, read in
    time zone ``tz``, optionally only those whose ``only[0]`` breakdown key is ``only[1]``.
    ``now`` ends the quiet time that makes a bot conversation contained."""

    brand_id: UUID
    start: datetime
    end: datetime
    tz: str
    now: datetime
    only: tuple[Breakdown, str] | None = None


# $1 brand, $2 start, $3 end, $4 the moment before which a quiet bot conversation is
# contained, $5 the filter's key (or NULL); the filter's expression is spliced from KEYS.
FACTS = """
WITH facts AS (
  SELECT c.id, c.created_at, c.status, c.last_message_at, {key} AS key,
         coalesce(c.band, '{none}') AS band,
         extract(epoch FROM f.first_agent_at - coalesce(f.handed_at, c.handoff_at)) AS frt_human,
         extract(epoch FROM f.first_reply_at - c.created_at) AS frt_any,
         extract(epoch FROM f.assigned_at - coalesce(f.handed_at, c.handoff_at)) AS wait,
         CASE WHEN c.status = 'resolved'
              THEN extract(epoch FROM c.resolved_at - f.assigned_at) END AS handle,
         CASE WHEN c.status = 'resolved'
              THEN extract(epoch FROM c.resolved_at - c.created_at) END AS resolution,
         (f.handed_at IS NOT NULL OR c.handoff_at IS NOT NULL OR f.first_agent_at IS NOT NULL)
           AS handed,
         coalesce(f.handoff_reason, c.handoff_reason, '{none}') AS reason,
         f.bot_replied,
         -- A handoff for low confidence is the bot not understanding twice running
         -- (routing/decision.py), and it resets bot_fallbacks: it counts as a fallback.
         (c.bot_fallbacks > 0
          OR coalesce(f.handoff_reason, c.handoff_reason) = 'low_confidence') AS fell_back,
         (c.status = 'resolved' OR f.reopened) AS resolved_ever,
         f.reopened,
         c.band IS NOT NULL AS has_sla,
         f.frt_breached,
         f.resolution_breached,
         k.shown AS kb_shown, coalesce(k.helpful, 0) AS kb_helpful,
         coalesce(k.not_helpful, 0) AS kb_not_helpful,
         s.asked_at IS NOT NULL AS csat_asked, s.rating, s.comment IS NOT NULL AS csat_comment
    FROM conversations c
    -- One row a conversation, kept by migration 0028's triggers.
    JOIN conversation_facts f ON f.conversation_id = c.id
    LEFT JOIN LATERAL (
      SELECT EXISTS (SELECT 1 FROM kb_article_uses u
                      WHERE u.conversation_id = c.id AND u.kind = 'shown_by_bot') AS shown,
             (SELECT count(*) FILTER (WHERE o.outcome = 'resolved') FROM kb_article_outcomes o
               WHERE o.conversation_id = c.id) AS helpful,
             (SELECT count(*) FILTER (WHERE o.outcome = 'not_helpful')
                FROM kb_article_outcomes o WHERE o.conversation_id = c.id) AS not_helpful
    ) k ON true
    LEFT JOIN csat s ON s.conversation_id = c.id
   WHERE c.brand_id = $1 AND c.created_at >= $2 AND c.created_at < $3
     AND ($5::text IS NULL OR {only} = $5::text)
), settled AS (
  SELECT f.*,
         (NOT f.handed AND f.bot_replied
          AND (f.status = 'resolved' OR f.last_message_at < $4)) AS contained
    FROM facts f
)
"""

AGGREGATES = """
  count(*) AS conversations,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY frt_human) AS frt_human_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY frt_human) AS frt_human_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY frt_any) AS frt_any_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY frt_any) AS frt_any_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution) AS resolution_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution) AS resolution_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY handle) AS handle_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY handle) AS handle_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS wait_p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY wait) AS wait_p90,
  count(*) FILTER (WHERE contained) AS contained,
  count(*) FILTER (WHERE handed) AS handed,
  count(*) FILTER (WHERE bot_replied) AS bot_replied,
  count(*) FILTER (WHERE bot_replied AND fell_back) AS fell_back,
  count(*) FILTER (WHERE bot_replied AND kb_shown) AS kb_answered,
  coalesce(sum(kb_helpful), 0)::bigint AS kb_helpful,
  coalesce(sum(kb_not_helpful), 0)::bigint AS kb_not_helpful,
  count(*) FILTER (WHERE status = 'resolved') AS resolved,
  count(*) FILTER (WHERE resolved_ever) AS resolved_ever,
  count(*) FILTER (WHERE reopened) AS reopened,
  count(*) FILTER (WHERE csat_asked) AS csat_asked,
  count(rating) AS csat_answered,
  coalesce(sum(rating), 0)::bigint AS csat_sum,
  count(*) FILTER (WHERE rating IS NOT NULL AND csat_comment) AS csat_comments,
  count(*) FILTER (WHERE has_sla) AS with_sla,
  count(*) FILTER (WHERE has_sla AND NOT frt_breached) AS frt_met,
  count(*) FILTER (WHERE has_sla AND NOT resolution_breached) AS resolution_met
"""


def _ratio(part: int, whole: int) -> float | None:
    """A rate, rounded to 4 places; None when there is nothing to divide (not 0 %)."""
    return round(part / whole, 4) if whole else None


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of a set of conversations (the totals, a breakdown's row, a bucket):
    counts as recorded, durations in seconds (median and p90), rates as computed from the
    counts (docs/metrics.md)."""

    conversations: int
    frt_human_p50: float | None
    frt_human_p90: float | None
    frt_any_p50: float | None
    frt_any_p90: float | None
    resolution_p50: float | None
    resolution_p90: float | None
    handle_p50: float | None
    handle_p90: float | None
    wait_p50: float | None
    wait_p90: float | None
    contained: int
    handed: int
    bot_replied: int
    fell_back: int
    kb_answered: int
    kb_helpful: int
    kb_not_helpful: int
    resolved: int
    resolved_ever: int
    reopened: int
    csat_asked: int
    csat_answered: int
    csat_sum: int
    csat_comments: int
    with_sla: int
    frt_met: int
    resolution_met: int

    @property
    def containment_rate(self) -> float | None:
        return _ratio(self.contained, self.conversations)

    @property
    def handoff_rate(self) -> float | None:
        return _ratio(self.handed, self.conversations)

    @property
    def fallback_rate(self) -> float | None:
        return _ratio(self.fell_back, self.bot_replied)

    @property
    def kb_answer_rate(self) -> float | None:
        return _ratio(self.kb_answered, self.bot_replied)

    @property
    def kb_helpful_rate(self) -> float | None:
        return _ratio(self.kb_helpful, self.kb_helpful + self.kb_not_helpful)

    @property
    def reopen_rate(self) -> float | None:
        return _ratio(self.reopened, self.resolved_ever)

    @property
    def csat_average(self) -> float | None:
        return round(self.csat_sum / self.csat_answered, 2) if self.csat_answered else None

    @property
    def csat_response_rate(self) -> float | None:
        return _ratio(self.csat_answered, self.csat_asked)

    @property
    def frt_attainment(self) -> float | None:
        return _ratio(self.frt_met, self.with_sla)

    @property
    def resolution_attainment(self) -> float | None:
        return _ratio(self.resolution_met, self.with_sla)


DURATIONS = frozenset(f.name for f in fields(Figures) if f.name.endswith(("_p50", "_p90")))


def _figures(row: asyncpg.Record) -> Figures:
    """The aggregates' row as Figures: durations rounded to 0.1 s, counts as ints."""
    values: list[Any] = [
        _seconds(row[f.name]) if f.name in DURATIONS else int(row[f.name]) for f in fields(Figures)
    ]
    return Figures(*values)


def _summed_figures(s: rollups.Summed) -> Figures:
    """A roll-up group's sums as Figures: the medians and p90s from its histograms."""
    values: list[Any] = []
    for f in fields(Figures):
        if f.name in DURATIONS:
            metric, _, p = f.name.rpartition("_")
            found = rollups.quantile(s.histograms.get(metric, {}), 0.5 if p == "p50" else 0.9)
            values.append(_seconds(found))
        else:
            values.append(s.counts.get(f.name, 0))
    return Figures(*values)


def _facts(scope: Scope, key: str) -> tuple[str, tuple[object, ...]]:
    only = KEYS[scope.only[0]] if scope.only else "NULL"
    sql = FACTS.format(key=key, none=NONE, only=only)
    args = (
        scope.brand_id,
        scope.start,
        scope.end,
        scope.now - CONTAINED_AFTER,
        scope.only[1] if scope.only else None,
    )
    return sql, args


@rollups.one_snapshot
async def totals(conn: Conn, scope: Scope) -> Figures:
    """The range's figures, all conversations together."""
    plan = await rollups.plan(conn, scope)
    if plan is not None:
        got = await rollups.summed(conn, scope, plan, rollups.NO_GROUP, _quiet(scope))
        return _summed_figures(got[""]) if "" in got else _figures_of_nothing()
    sql, args = _facts(scope, "NULL::text")
    row = await conn.fetchrow(f"{sql} SELECT {AGGREGATES} FROM settled", *args)
    assert row is not None  # an aggregate without GROUP BY always answers one row
    return _figures(row)


@dataclass(frozen=True, slots=True)
class Group:
    """A breakdown's row: its key (an id, a channel, an intent…), what to call it, its
    figures."""

    key: str
    label: str
    figures: Figures


async def labels(conn: Conn, by: Breakdown, keys: list[str]) -> dict[str, str]:
    """Teams and agents by name; the other keys are their own label."""
    if by not in ("team", "agent"):
        return {}
    ids = [UUID(k) for k in keys if k != NONE]
    if by == "team":
        rows = await conn.fetch("SELECT id::text, name FROM teams WHERE id = ANY($1)", ids)
    else:
        rows = await conn.fetch("SELECT id::text, name FROM agents WHERE id = ANY($1)", ids)
    return {r["id"]: r["name"] for r in rows}


@rollups.one_snapshot
async def breakdown(conn: Conn, scope: Scope, by: Breakdown) -> list[Group]:
    """The figures per team, agent, channel, intent, language or band; most conversations
    first."""
    plan = await rollups.plan(conn, scope, by)
    if plan is not None:
        got = await rollups.summed(conn, scope, plan, rollups.by_key(by, plan), _quiet(scope))
        ordered = sorted(got.items(), key=lambda kv: (-kv[1].counts.get("conversations", 0), kv[0]))
        ordered = [(k, s) for k, s in ordered if s.counts.get("conversations", 0)]
        named = await labels(conn, by, [k for k, _s in ordered])
        return [Group(k, named.get(k, k), _summed_figures(s)) for k, s in ordered]
    sql, args = _facts(scope, KEYS[by])
    rows = await conn.fetch(
        f"{sql} SELECT key, {AGGREGATES} FROM settled GROUP BY key ORDER BY count(*) DESC, key",
        *args,
    )
    named = await labels(conn, by, [r["key"] for r in rows])
    return [Group(r["key"], named.get(r["key"], r["key"]), _figures(r)) for r in rows]


@dataclass(frozen=True, slots=True)
class Point:
    """A time bucket: where it starts (local time of the report's zone, as a naive
    datetime), its conversations' figures, the messages written and the SLA breaches that
    happened in it."""

    at: datetime
    figures: Figures
    messages: int
    breaches: int


@rollups.one_snapshot
async def series(conn: Conn, scope: Scope, bucket: Bucket) -> list[Point]:
    """The figures per hour, day or week; buckets without a conversation, message or breach
    are left out (the chart draws them as gaps)."""
    plan = await rollups.plan(conn, scope, grain=bucket)
    if plan is not None:
        return await _series_rolled(conn, scope, bucket, plan)
    where = f"date_trunc('{bucket}', created_at AT TIME ZONE $6)"
    sql, args = _facts(scope, "NULL::text")
    rows = await conn.fetch(
        f"{sql} SELECT {where} AS at, {AGGREGATES} FROM settled GROUP BY 1 ORDER BY 1",
        *args,
        scope.tz,
    )
    only = KEYS[scope.only[0]] if scope.only else "NULL"
    extra = await conn.fetch(
        f"""SELECT date_trunc('{bucket}', x.at AT TIME ZONE $4) AS at,
                   count(*) FILTER (WHERE x.what = 'm') AS messages,
                   count(*) FILTER (WHERE x.what = 'b') AS breaches
              FROM (SELECT m.created_at AS at, 'm' AS what
                      FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     WHERE c.brand_id = $1 AND m.created_at >= $2 AND m.created_at < $3
                       AND ($5::text IS NULL OR {only} = $5::text)
                    UNION ALL
                    SELECT s.breached_at, 'b'
                      FROM sla_breaches s JOIN conversations c ON c.id = s.conversation_id
                     WHERE c.brand_id = $1 AND s.breached_at >= $2 AND s.breached_at < $3
                       AND ($5::text IS NULL OR {only} = $5::text)) x
             GROUP BY 1""",
        scope.brand_id,
        scope.start,
        scope.end,
        scope.tz,
        scope.only[1] if scope.only else None,
    )
    counted = {r["at"]: (int(r["messages"]), int(r["breaches"])) for r in extra}
    empty = _figures_of_nothing()
    points = {r["at"]: Point(r["at"], _figures(r), *counted.get(r["at"], (0, 0))) for r in rows}
    for at, (messages, breaches) in counted.items():
        points.setdefault(at, Point(at, empty, messages, breaches))
    return [points[at] for at in sorted(points)]


async def _series_rolled(
    conn: Conn, scope: Scope, bucket: Bucket, plan: rollups.Plan
) -> list[Point]:
    grouping = rollups.by_bucket(bucket)
    got = await rollups.summed(conn, scope, plan, grouping, _quiet(scope))
    counted = await rollups.activity(conn, scope, plan, grouping)
    empty = _figures_of_nothing()
    points: dict[datetime, Point] = {}
    for at in set(got) | set(counted):
        s = got.get(at)
        figures = _summed_figures(s) if s and s.counts.get("conversations") else empty
        messages, breaches = counted.get(at, (0, 0))
        if figures.conversations or messages or breaches:
            start = datetime.fromisoformat(at)
            points[start] = Point(start, figures, messages, breaches)
    return [points[at] for at in sorted(points)]


def _quiet(scope: Scope) -> datetime:
    return scope.now - CONTAINED_AFTER


def _figures_of_nothing() -> Figures:
    values: list[Any] = [None if f.name in DURATIONS else 0 for f in fields(Figures)]
    return Figures(*values)


@dataclass(frozen=True, slots=True)
class Cell:
    """Conversations started on a weekday (1 Monday … 7 Sunday) at an hour (0-23)."""

    weekday: int
    hour: int
    conversations: int


@rollups.one_snapshot
async def heat_map(conn: Conn, scope: Scope) -> list[Cell]:
    """Conversations by weekday and hour, in the report's time zone; empty cells left out."""
    plan = await rollups.plan(conn, scope, grain="hour")  # local hours: no day's row
    if plan is not None:
        return [Cell(*cell) for cell in await rollups.heat(conn, scope, plan)]
    sql, args = _facts(scope, "NULL::text")
    rows = await conn.fetch(
        f"""{sql} SELECT extract(isodow FROM created_at AT TIME ZONE $6)::int AS weekday,
                        extract(hour FROM created_at AT TIME ZONE $6)::int AS hour,
                        count(*) AS n
                   FROM settled GROUP BY 1, 2 ORDER BY 1, 2""",
        *args,
        scope.tz,
    )
    return [Cell(r["weekday"], r["hour"], int(r["n"])) for r in rows]


@dataclass(frozen=True, slots=True)
class Count:
    """How many conversations (or ratings) have a value: a handoff reason, a rating."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Reason:
    """A handoff reason's conversations (the first handoff's reason), with their ``rate``,
    the share of the range's conversations handed off for it, and their ``share`` of the
    range's handoffs (docs/metrics.md, "Bot")."""

    value: str
    count: int
    rate: float | None
    share: float | None


@rollups.one_snapshot
async def handoff_rates(conn: Conn, scope: Scope) -> list[Reason]:
    """Conversations handed to a human, by the first handoff's reason, most first, each
    with its rate and share. The rate's whole is the range's conversations, read from the
    same rows as the reasons (the roll-ups' conversation counts, or the facts' rows), so it
    costs no second pass; the share's whole is the reasons' sum, each handoff having one
    first reason."""
    plan = await rollups.plan(conn, scope)
    if plan is not None:
        found, conversations = await rollups.reasons(conn, scope, plan)
    else:
        sql, args = _facts(scope, "NULL::text")
        rows = await conn.fetch(
            f"{sql} SELECT reason, count(*) FILTER (WHERE handed) AS n,"
            " sum(count(*)) OVER () AS conversations"
            " FROM settled GROUP BY reason ORDER BY n DESC, reason",
            *args,
        )
        found = [(r["reason"], int(r["n"])) for r in rows if r["n"]]
        conversations = int(rows[0]["conversations"]) if rows else 0
    handed = sum(n for _value, n in found)
    return [Reason(v, n, _ratio(n, conversations), _ratio(n, handed)) for v, n in found]


async def handoff_reasons(conn: Conn, scope: Scope) -> list[Count]:
    """Conversations handed to a human, by the first handoff's reason; most first."""
    return [Count(r.value, r.count) for r in await handoff_rates(conn, scope)]


@rollups.one_snapshot
async def csat_distribution(conn: Conn, scope: Scope) -> list[Count]:
    """How many ratings of 1, 2, 3, 4 and 5 (each, zero included)."""
    plan = await rollups.plan(conn, scope)
    if plan is not None:
        counts = await rollups.ratings(conn, scope, plan)
        return [Count(str(n), c) for n, c in enumerate(counts, start=1)]
    sql, args = _facts(scope, "NULL::text")
    rows = await conn.fetch(
        f"""{sql} SELECT r AS rating, count(s.rating) AS n
                   FROM generate_series(1, 5) r LEFT JOIN settled s ON s.rating = r
                  GROUP BY r ORDER BY r""",
        *args,
    )
    return [Count(str(r["rating"]), int(r["n"])) for r in rows]
