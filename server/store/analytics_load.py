"""The agents' load over time (docs/metrics.md, "Load"): how many conversations each agent
held, per hour, day or week, from the spans migration 0032 records (``analytics_held``: an
assignment until the conversation's next change of hands). Reads only; the caller has
checked that the viewer may see the brand.

Per bucket and agent: the average held (the time held, all conversations together, divided
by the bucket's length; up to ``now`` for the bucket under way) and the peak (the most held
at any one moment in the bucket, its start included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from server.store.analytics import Bucket
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
LOAD = """
WITH args AS (
  SELECT $2::timestamptz AS start, $3::timestamptz AS stop, $4::timestamptz AS now,
         $5::text AS tz
), buckets AS (
  SELECT b AS local, greatest(b AT TIME ZONE x.tz, x.start) AS a,
         least((b + interval '1 {bucket}') AT TIME ZONE x.tz, x.stop, x.now) AS z
    FROM args x, generate_series(date_trunc('{bucket}', x.start AT TIME ZONE x.tz),
                                 least(x.stop, x.now) AT TIME ZONE x.tz,
                                 interval '1 {bucket}') b
), spans AS (
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
    rows = await conn.fetch(LOAD.format(bucket=bucket), brand_id, start, end, now, tz, agent)
    return [
        Load(r["at"], r["agent_id"], r["name"], round(float(r["average"]), 3), int(r["peak"]))
        for r in rows
    ]
