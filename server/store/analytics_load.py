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
), averages AS (
  SELECT h.agent_id, k.local,
         sum(extract(epoch FROM least(h.e, k.z) - greatest(h.s, k.a)))
           / extract(epoch FROM k.z - k.a) AS average
    FROM held h JOIN buckets k ON h.s < k.z AND h.e > k.a AND k.z > k.a
   GROUP BY h.agent_id, k.local, k.a, k.z
), moments AS (
  -- Each span's start (+1) and end (-1), and each bucket's start (0) for every agent: the
  -- running sum at a bucket's start is what it held then. Ends first at one instant.
  SELECT agent_id, s AS at, 1 AS d FROM held
  UNION ALL SELECT agent_id, e, -1 FROM held
  UNION ALL SELECT x.agent_id, k.a, 0 FROM (SELECT DISTINCT agent_id FROM held) x, buckets k
), levels AS (
  SELECT agent_id, at, d,
         sum(d) OVER (PARTITION BY agent_id
                      ORDER BY at, CASE d WHEN -1 THEN 0 WHEN 1 THEN 1 ELSE 2 END
                      ROWS UNBOUNDED PRECEDING) AS level
    FROM moments
), peaks AS (
  SELECT l.agent_id, date_trunc('{bucket}', l.at AT TIME ZONE $5::text) AS local,
         max(l.level) AS peak
    FROM levels l WHERE l.at < least($3, $4) AND l.d >= 0
   GROUP BY 1, 2
)
SELECT v.local AS at, v.agent_id, a.name, v.average, coalesce(p.peak, 0) AS peak
  FROM averages v JOIN agents a ON a.id = v.agent_id
  LEFT JOIN peaks p ON p.agent_id = v.agent_id AND p.local = v.local
 ORDER BY v.local, a.name, v.agent_id
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
