"""The reports' reads besides the figures (docs/metrics.md): the conversations behind a
figure (a chart's bar, a breakdown's row) and the CSAT comments, a page at a time, and the
"now" figures (queue per team, longest wait, agents online, conversations at risk). Reads
only; the caller has checked that the viewer may see the brand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from server.store import analytics_rollups as rollups
from server.store.analytics import (
    KEYS,
    NONE,
    Breakdown,
    Bucket,
    Scope,
    csat_distribution,
    handoff_rates,
    totals,
)
from server.store.views import Conn

# A first-response deadline nearer than this is "at risk" (the list's badge turns amber at
# the same point: conversations/list.js).
AT_RISK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Behind:
    """A conversation behind a figure, enough to recognise it and open it in the console."""

    id: UUID
    created_at: datetime
    channel: str
    status: str
    subject: str | None
    contact: str | None
    intent: str | None
    band: str | None


@rollups.one_snapshot
async def conversations(
    conn: Conn,
    scope: Scope,
    bucket: tuple[Bucket, datetime] | None,
    limit: int,
    offset: int,
    row: tuple[Breakdown, str] | None = None,
    breached: bool = False,
    rating: int | None = None,
    reason: str | None = None,
) -> tuple[list[Behind], int]:
    """The scope's conversations (in a bucket starting at a local time, or in a breakdown's
    ``row``, when given), oldest first, a page of ``limit`` after ``offset``; and how many
    there are in all. A row applies besides the scope's filter: a breakdown's row of a
    filtered report counts only the filtered conversations. ``breached``: those with an SLA
    breach in the range (in the bucket), whenever they started, as the series counts
    breaches by when they happened. ``rating``: those whose CSAT answer (the last, the one
    that stands) is that rating, as the ratings chart counts them. ``reason``: those handed
    to a person whose first handoff had that reason (``none``: taken by an agent with no
    handoff recorded), as the handoff reasons table counts them. The count and the page read
    one snapshot."""
    only = KEYS[scope.only[0]] if scope.only else "NULL"
    in_row = KEYS[row[0]] if row else "NULL"
    in_bucket = "($6::timestamp IS NULL OR date_trunc($7::text, {at} AT TIME ZONE $5::text) = $6)"
    if breached:
        when = f"""c.id IN (SELECT s.conversation_id FROM sla_breaches s
                             WHERE s.breached_at >= $2 AND s.breached_at < $3
                               AND {in_bucket.format(at="s.breached_at")})"""
    else:
        when = f"""c.created_at >= $2 AND c.created_at < $3
                   AND {in_bucket.format(at="c.created_at")}"""
    where = f"""c.brand_id = $1 AND {when}
               AND ($4::text IS NULL OR {only} = $4::text)
               AND ($8::text IS NULL OR {in_row} = $8::text)
               AND ($9::int IS NULL OR EXISTS (SELECT 1 FROM csat r
                                                WHERE r.conversation_id = c.id
                                                  AND r.rating = $9::int))
               AND ($10::text IS NULL OR EXISTS ({HANDED_FOR}))"""
    args = (
        scope.brand_id,
        scope.start,
        scope.end,
        scope.only[1] if scope.only else None,
        scope.tz,
        bucket[1] if bucket else None,
        bucket[0] if bucket else "day",
        row[1] if row else None,
        rating,
        reason,
    )
    if breached:
        return await _breached(conn, where, args, limit, offset)
    alone = bucket is None and row is None
    if reason is not None and rating is None and alone:
        # A reasons row's count is the table's, read as the table reads it (the roll-ups
        # over a large range), as a ratings bar's is below: no pass over the range.
        counts = {r.value: r.count for r in await handoff_rates(conn, scope)}
        total = counts.get(reason, 0)
    elif rating is not None and reason is None and alone:
        # A ratings bar's count is the chart's, read as the chart reads it (the roll-ups over
        # a large range; the same number by definition): counting the range's conversations
        # with a rating one by one took 53 / 88 ms p50 / p99 over 30 days at 100,000
        # conversations (bench.analytics) and grows with the range, as the CSAT comments'
        # count did (b9e103a).
        total = (await csat_distribution(conn, scope))[rating - 1].count
    else:
        total = int(
            await conn.fetchval(f"SELECT count(*) FROM conversations c WHERE {where}", *args)
        )
    if offset >= total:
        # Nothing to find (the count and the page read one snapshot): the page would walk
        # the whole range for none, as a known reason with no conversation did (99 / 131 ms
        # p50 / p99 over 30 days at 100,000 conversations, bench.analytics' history).
        return [], total
    rows = await conn.fetch(
        f"""SELECT {BEHIND}
              FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             WHERE {where}
             ORDER BY c.created_at, c.id LIMIT $11 OFFSET $12""",
        *args,
        limit,
        offset,
    )
    return [_behind(r) for r in rows], total


# The conversation ``c`` was handed to a person for reason $10, its first handoff's: as
# server/store/analytics.py's FACTS reads "handed" and "reason" (one row a conversation in
# conversation_facts, migration 0028).
HANDED_FOR = f"""SELECT 1 FROM conversation_facts f
                  WHERE f.conversation_id = c.id
                    AND (f.handed_at IS NOT NULL OR c.handoff_at IS NOT NULL
                         OR f.first_agent_at IS NOT NULL)
                    AND coalesce(f.handoff_reason, c.handoff_reason, '{NONE}') = $10::text"""

BEHIND = """c.id, c.created_at, c.channel, c.status, c.subject, c.intent, c.band,
            coalesce(ct.name, ct.email) AS contact"""


def _behind(r: asyncpg.Record) -> Behind:
    return Behind(
        r["id"],
        r["created_at"],
        r["channel"],
        r["status"],
        r["subject"],
        r["contact"],
        r["intent"],
        r["band"],
    )


async def _breached(
    conn: Conn, where: str, args: tuple[object, ...], limit: int, offset: int
) -> tuple[list[Behind], int]:
    """The breached conversations, found from their breaches first. Read in created_at order
    the way the other lists are, PostgreSQL walked the brand's conversations from its oldest
    and looked each one's breaches up, stopping at a page: but a range's breaches belong to
    its most recent conversations, so a 7-day list at 1,000,000 conversations walked 667,000
    of them (860 ms). Fenced in a materialised CTE, the range's breached conversations are
    found and counted once, then sorted; the count and the page come from one snapshot."""
    rows = await conn.fetch(
        f"""WITH hit AS MATERIALIZED (
                SELECT c.id, c.created_at FROM conversations c WHERE {where}),
            page AS (SELECT id, created_at FROM hit ORDER BY created_at, id LIMIT $11 OFFSET $12)
            SELECT (SELECT count(*) FROM hit) AS total, {BEHIND}
              FROM page JOIN conversations c ON c.id = page.id
              JOIN contacts ct ON ct.id = c.contact_id
             ORDER BY page.created_at, page.id""",
        *args,
        limit,
        offset,
    )
    if rows:
        return [_behind(r) for r in rows], int(rows[0]["total"])
    # An empty page (none at all, or an offset past the end) still answers how many there are.
    total = await conn.fetchval(f"SELECT count(*) FROM conversations c WHERE {where}", *args)
    return [], int(total)


@dataclass(frozen=True, slots=True)
class Comment:
    """A customer's CSAT answer with a comment, and where it belongs: the conversation, the
    agent who resolved it (the rating is theirs, docs/metrics.md), its intent and channel."""

    conversation_id: UUID
    answered_at: datetime | None
    rating: int
    comment: str
    agent: str | None
    intent: str | None
    channel: str


@rollups.one_snapshot
async def csat_comments(
    conn: Conn, scope: Scope, limit: int, offset: int
) -> tuple[list[Comment], int]:
    """The comments of the ratings the report counts (its conversations, with its filter),
    newest answer first, a page of ``limit`` after ``offset``; and how many there are in
    all: the summary's ``csat_comments``, read as the summary reads it (from the roll-ups
    over a large range: counting the join of the range's ratings and conversations took
    160 to 320 ms at 1,000,000 conversations, where the page alone walks the brand's
    ratings newest first and stops). The count and the page read one snapshot, so a rating
    answered between them cannot make the two disagree."""
    only = KEYS[scope.only[0]] if scope.only else "NULL"
    # s.brand_id and the order are csat_of_brand's (brand_id, answered_at), read backwards.
    where = f"""s.brand_id = $1 AND c.brand_id = $1 AND c.created_at >= $2 AND c.created_at < $3
               AND ($4::text IS NULL OR {only} = $4::text)
               AND s.rating IS NOT NULL AND s.comment IS NOT NULL"""
    args = (scope.brand_id, scope.start, scope.end, scope.only[1] if scope.only else None)
    total = (await totals(conn, scope)).csat_comments
    rows = await conn.fetch(
        f"""SELECT s.conversation_id, s.answered_at, s.rating, s.comment, a.name AS agent,
                   c.intent, c.channel
              FROM csat s JOIN conversations c ON c.id = s.conversation_id
              LEFT JOIN agents a ON a.id = s.agent_id
             WHERE {where}
             ORDER BY s.answered_at DESC, s.conversation_id DESC LIMIT $5 OFFSET $6""",
        *args,
        limit,
        offset,
    )
    found = [
        Comment(
            r["conversation_id"],
            r["answered_at"],
            int(r["rating"]),
            r["comment"],
            r["agent"],
            r["intent"],
            r["channel"],
        )
        for r in rows
    ]
    return found, total


@dataclass(frozen=True, slots=True)
class TeamNow:
    """A team's queue now: how many wait, since when the longest has."""

    id: UUID
    name: str
    queued: int
    oldest_queued_at: datetime | None


@dataclass(frozen=True, slots=True)
class Now:
    """The brand's queues, agents online and conversations at risk, as of ``at``."""

    at: datetime
    teams: list[TeamNow]
    unrouted: int  # waiting with no team yet
    unrouted_since: datetime | None  # when the longest of those began waiting
    agents_online: int
    agents_away: int
    at_risk: int


async def now(conn: Conn, brand_id: UUID, at: datetime) -> Now:
    """Each count reads migration 0034's partial indexes alone (the open conversations'
    heap rows are not visited): the queued ones by brand and team, the unanswered open
    ones by first-response deadline."""
    teams = await conn.fetch(
        """SELECT t.id, t.name, q.queued, q.oldest
             FROM teams t, LATERAL (
                  SELECT count(*) AS queued, min(c.queued_at) AS oldest FROM conversations c
                   WHERE c.brand_id = $1 AND c.team_id = t.id AND c.status = 'queued') q
            WHERE t.brand_id = $1 ORDER BY t.name""",
        brand_id,
    )
    row = await conn.fetchrow(
        """SELECT
             (SELECT count(*) FROM conversations
               WHERE brand_id = $1 AND status = 'queued' AND team_id IS NULL) AS unrouted,
             -- The longest wait counts these too: waiting with no team is still waiting.
             (SELECT min(queued_at) FROM conversations
               WHERE brand_id = $1 AND status = 'queued' AND team_id IS NULL) AS unrouted_since,
             (SELECT count(*) FROM conversations c
               WHERE c.brand_id = $1 AND c.status IN ('queued', 'assigned')
                 AND c.first_response_at IS NULL AND c.first_response_due < $2) AS at_risk,
             count(*) FILTER (WHERE a.status = 'online') AS online,
             count(*) FILTER (WHERE a.status = 'away') AS away
           FROM agents a
          WHERE a.active AND EXISTS (SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id
                AND r.brand_id = $1 AND r.role IN ('supervisor', 'agent'))""",
        brand_id,
        at + AT_RISK,
    )
    assert row is not None  # aggregates answer one row
    return Now(
        at,
        [TeamNow(t["id"], t["name"], int(t["queued"]), t["oldest"]) for t in teams],
        int(row["unrouted"]),
        row["unrouted_since"],
        int(row["online"]),
        int(row["away"]),
        int(row["at_risk"]),
    )


@dataclass(frozen=True, slots=True)
class AtRisk:
    """An open conversation at risk now: its first-response deadline within ``AT_RISK`` or
    passed, with no agent reply yet; enough to recognise it, and whose it is."""

    id: UUID
    due: datetime
    contact: str | None
    subject: str | None
    channel: str
    status: str
    band: str | None
    team: str | None
    agent: str | None


async def at_risk(conn: Conn, brand_id: UUID, at: datetime, limit: int) -> list[AtRisk]:
    """The conversations ``now`` counts as at risk, the most overdue first, at most
    ``limit`` (through the same partial index as the count, migration 0034)."""
    rows = await conn.fetch(
        """SELECT c.id, c.first_response_due AS due, coalesce(ct.name, ct.email) AS contact,
                  c.subject, c.channel, c.status, c.band, t.name AS team, a.name AS agent
             FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             LEFT JOIN teams t ON t.id = c.team_id
             LEFT JOIN agents a ON a.id = c.assignee_id
            WHERE c.brand_id = $1 AND c.status IN ('queued', 'assigned')
              AND c.first_response_at IS NULL AND c.first_response_due < $2
            ORDER BY c.first_response_due, c.id LIMIT $3""",
        brand_id,
        at + AT_RISK,
        limit,
    )
    return [
        AtRisk(
            r["id"],
            r["due"],
            r["contact"],
            r["subject"],
            r["channel"],
            r["status"],
            r["band"],
            r["team"],
            r["agent"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class AgentTime:
    """How long an agent of the brand was online and away within a range, in seconds."""

    id: UUID
    name: str
    online: float
    away: float


async def agent_time(
    conn: Conn, brand_id: UUID, start: datetime, end: datetime, now: datetime
) -> list[AgentTime]:
    """Each agent's (and supervisor's) time online and away in ``[start, end)``, from the
    status changes migration 0028 records: each status lasts until the next change (or
    ``now``), clipped to the range; most time online first.

    Per agent, only the changes that can overlap the range are read (index
    ``agent_status_changes_agent``): the last one at or before ``start`` (the status the
    range opens with) and those inside it. Reading every change before ``end`` grew with the
    desk's whole history: a year of eight changes a day for 55 agents (164,000 rows) made a
    30-day read 322-553 ms (audit of issue 20, load average 4)."""
    rows = await conn.fetch(
        """WITH people AS (
             SELECT a.id, a.name FROM agents a
              WHERE EXISTS (SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id
                            AND r.brand_id = $1 AND r.role IN ('agent', 'supervisor'))
           ), spans AS (
             SELECT s.agent_id, s.status, s.at,
                    lead(s.at) OVER (PARTITION BY s.agent_id ORDER BY s.at, s.id) AS until
               FROM people p CROSS JOIN LATERAL (
                    (SELECT x.id, x.agent_id, x.status, x.at FROM agent_status_changes x
                      WHERE x.agent_id = p.id AND x.at <= $2
                      ORDER BY x.at DESC, x.id DESC LIMIT 1)
                    UNION ALL
                    SELECT x.id, x.agent_id, x.status, x.at FROM agent_status_changes x
                     WHERE x.agent_id = p.id AND x.at > $2 AND x.at < $3) s
           ), clipped AS (
             SELECT agent_id, status, greatest(at, $2) AS a, least(coalesce(until, $4), $3) AS b
               FROM spans
           )
           SELECT p.id, p.name,
                  coalesce(sum(extract(epoch FROM c.b - c.a))
                           FILTER (WHERE c.status = 'online' AND c.b > c.a), 0) AS online,
                  coalesce(sum(extract(epoch FROM c.b - c.a))
                           FILTER (WHERE c.status = 'away' AND c.b > c.a), 0) AS away
             FROM people p LEFT JOIN clipped c ON c.agent_id = p.id
            GROUP BY p.id, p.name ORDER BY online DESC, p.name""",
        brand_id,
        start,
        end,
        min(now, end),
    )
    return [AgentTime(r["id"], r["name"], float(r["online"]), float(r["away"])) for r in rows]
