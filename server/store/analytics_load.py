"""The agents' load over time (docs/metrics.md, "Load"): how many conversations each agent
held, per hour, day or week, from the spans migration 0032 records (``analytics_held``: an
assignment until the conversation's next change of hands). Reads only; the caller has
checked that the viewer may see the brand.

Per bucket and agent: the average held (the time held, all conversations together, divided
by the bucket's length; up to ``now`` for the bucket under way) and the peak (the most held
at any one moment in the bucket, its start included).

Read from the per-hour roll-up (migration 0034's ``analytics_load_hours``: time held and
peak per brand, UTC hour and agent) for the whole hours the fold has passed and not marked
since (``analytics_load_stale``: ranges of hours a backdated span changed); from the spans
(``analytics_load_of``, the fold's own function) for the rest: the hours past the
watermark, the marked ones, a range's parts of hours. A bucket's time held is
its hours' sum and its peak their greatest, so both are exact either way. A zone whose offset
is not whole hours reads the spans alone (``exact``): its buckets are not unions of UTC hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from server.store.analytics import Bucket
from server.store.analytics_rollups import ceil_hour, floor_hour, whole_hours
from server.store.views import Conn


@dataclass(frozen=True, slots=True)
class Load:
    """An agent's load in a bucket starting at ``at`` (local time, naive)."""

    at: datetime
    agent_id: UUID
    name: str
    average: float
    peak: int


# $1 brand, $2 start, $3 end, $4 now, $5 zone, $6 one agent (or NULL). The buckets are the
# zone's local hours, days or weeks that meet [start, min(end, now)).
BUCKETS = """
WITH args AS (
  SELECT $2::timestamptz AS start, $3::timestamptz AS stop, $4::timestamptz AS now,
         $5::text AS tz
), buckets AS (
  SELECT b AS local, greatest(b AT TIME ZONE x.tz, x.start) AS a,
         least((b + interval '1 {bucket}') AT TIME ZONE x.tz, x.stop, x.now) AS z
    FROM args x, generate_series(date_trunc('{bucket}', x.start AT TIME ZONE x.tz),
                                 least(x.stop, x.now) AT TIME ZONE x.tz,
                                 interval '1 {bucket}') b
)"""

# The hours' rows: $7 .. $8 the folded whole hours, but those in the ranges $9/$10, which are
# read from the spans (the marked ones, the edges). A bucket's average is its time held over
# its length.
ROLLED = (
    BUCKETS
    + """, hours AS (
  SELECT l.hour, l.agent_id, l.held, l.peak FROM analytics_load_hours l
   WHERE l.brand_id = $1 AND l.hour >= $7 AND l.hour < $8
     AND ($6::uuid IS NULL OR l.agent_id = $6)
     AND NOT EXISTS (SELECT 1 FROM unnest($9::timestamptz[], $10::timestamptz[]) r(a, b)
                      WHERE l.hour >= r.a AND l.hour < r.b)
  UNION ALL
  SELECT x.hour, x.agent_id, x.held, x.peak
    FROM unnest($9::timestamptz[], $10::timestamptz[]) r(a, b),
         LATERAL analytics_load_of($1, r.a, r.b, $4) x
   WHERE $6::uuid IS NULL OR x.agent_id = $6
), summed AS (
  -- Each row's bucket worked out once (then an equality with the buckets' starts).
  SELECT date_trunc('{bucket}', h.hour AT TIME ZONE $5::text) AS local, h.agent_id,
         sum(h.held) AS held, max(h.peak) AS peak
    FROM hours h GROUP BY 1, 2
)
SELECT k.local AS at, s.agent_id, a.name, s.held / extract(epoch FROM k.z - k.a) AS average,
       s.peak
  FROM summed s JOIN buckets k ON k.local = s.local JOIN agents a ON a.id = s.agent_id
 WHERE k.z > k.a AND s.held > 0
 ORDER BY k.local, a.name, s.agent_id
"""
)

# The same from the spans alone (a zone whose offset is not whole hours).
LOAD = (
    BUCKETS
    + """, spans AS (
  SELECT h.agent_id, greatest(h.started_at, $2) AS s, least(coalesce(h.ended_at, $4), $3, $4) AS e
    FROM analytics_held h
   WHERE h.brand_id = $1 AND h.started_at < least($3, $4)
     AND (h.ended_at IS NULL OR h.ended_at > $2)
     AND ($6::uuid IS NULL OR h.agent_id = $6)
), held AS (
  SELECT * FROM spans WHERE e > s
), people AS (
  SELECT DISTINCT agent_id FROM held
), moments AS (
  -- Each span's start (+1) and end (-1); each bucket's start and the range's end (0) for
  -- every agent. Between two moments the number held is constant, and no stretch crosses a
  -- bucket's start: the running sum gives the peak and, times the stretch, the time held.
  SELECT agent_id, s AS at, 1 AS d FROM held
  UNION ALL SELECT agent_id, e, -1 FROM held
  UNION ALL SELECT p.agent_id, k.a, 0 FROM people p, buckets k WHERE k.z > k.a
  UNION ALL SELECT p.agent_id, least(x.stop, x.now), 0 FROM people p, args x
), levels AS (
  SELECT agent_id, at, d, sum(d) OVER w AS level, lead(at) OVER w AS next_at
    FROM moments
  WINDOW w AS (PARTITION BY agent_id ORDER BY at, CASE d WHEN -1 THEN 0 WHEN 1 THEN 1 ELSE 2 END
               ROWS UNBOUNDED PRECEDING)
)
SELECT k.local AS at, l.agent_id, a.name,
       sum(l.level * extract(epoch FROM l.next_at - l.at)) / extract(epoch FROM k.z - k.a)
         AS average,
       max(l.level) FILTER (WHERE l.d >= 0) AS peak
  FROM levels l, args x, buckets k, agents a
 WHERE k.local = date_trunc('{bucket}', l.at AT TIME ZONE x.tz) AND k.z > k.a
   AND l.at < least(x.stop, x.now) AND a.id = l.agent_id
 GROUP BY k.local, k.a, k.z, l.agent_id, a.name
HAVING sum(l.level * extract(epoch FROM l.next_at - l.at)) > 0
 ORDER BY k.local, a.name, l.agent_id
"""
)


async def agent_load(
    conn: Conn,
    brand_id: UUID,
    start: datetime,
    end: datetime,
    tz: str,
    now: datetime,
    bucket: Bucket,
    agent: UUID | None = None,
) -> list[Load]:
    """Each agent's average and peak conversations held per bucket of ``[start, end)`` (up to
    ``now``); buckets where an agent held nothing are left out."""
    stop = min(end, now)
    first, last = ceil_hour(start), floor_hour(stop)
    if last <= first or not whole_hours(tz, start, end):
        return await exact(conn, brand_id, start, end, tz, now, bucket, agent)
    until = await conn.fetchval("SELECT folded_until FROM analytics_fold_state")
    folded_to = max(first, min(last, until)) if until is not None else first
    # The ranges of hours marked since they were folded (migration 0034's
    # analytics_load_stale), merged.
    raw = [
        (r["a"], r["b"])
        for r in await conn.fetch(
            """SELECT lower(r) AS a, upper(r) AS b
                 FROM (SELECT range_agg(tstzrange(greatest(from_at, $2), least(to_at, $3))) AS m
                         FROM analytics_load_stale
                        WHERE brand_id = $1 AND from_at < $3 AND to_at > $2) x,
                      unnest(x.m) r ORDER BY 1""",
            brand_id,
            first,
            folded_to,
        )
    ]
    raw += [(a, b) for a, b in ((start, first), (folded_to, stop)) if a < b]
    rows = await conn.fetch(
        ROLLED.format(bucket=bucket),
        brand_id,
        start,
        end,
        now,
        tz,
        agent,
        first,
        folded_to,
        [a for a, _b in raw],
        [b for _a, b in raw],
    )
    return _loads(rows)


async def exact(
    conn: Conn,
    brand_id: UUID,
    start: datetime,
    end: datetime,
    tz: str,
    now: datetime,
    bucket: Bucket,
    agent: UUID | None = None,
) -> list[Load]:
    """``agent_load`` from the spans alone, every span of the range read."""
    rows = await conn.fetch(LOAD.format(bucket=bucket), brand_id, start, end, now, tz, agent)
    return _loads(rows)


def _loads(rows: list[asyncpg.Record]) -> list[Load]:
    return [
        Load(r["at"], r["agent_id"], r["name"], round(float(r["average"]), 3), int(r["peak"]))
        for r in rows
    ]
