"""Conversations over time split by a breakdown (docs/metrics.md, "Volume"): per bucket of the
report's zone, how many conversations started for each channel (team, agent, intent, language,
band), the keys with the most conversations over the range each apart and the rest as one
``other``: the dashboard draws each as its own series.

Counts only, so the roll-ups answer with one read: the plan's rows of that breakdown (one per
hour or UTC day and key, ``analytics_hours`` / ``analytics_days``), summed per local bucket and
key (filtered on another breakdown: the pair's rows, migration 0051); no duration histogram
and no bot conversation still talking to subtract. When the plan answers None (a small range,
a zone not whole hours), the conversations of the range are counted (the range's index on
conversations).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from server.store import analytics_rollups as rollups
from server.store.analytics import KEYS, Breakdown, Bucket, Scope, labels
from server.store.views import Conn

# The series drawn apart by default; the rest are added up as OTHER. Five colours tell
# series apart (web_console/static/analytics/chart.js), and a sixth is the rest.
TOP = 5
# Not a key any breakdown has (keys are ids, channel names, intents, languages, bands).
OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class Volume:
    """A bucket's conversations (``at``: its local start, naive) of one key of the breakdown
    (OTHER: the keys not among the top, together)."""

    at: datetime
    key: str
    label: str
    conversations: int


@rollups.one_snapshot
async def volume(
    conn: Conn, scope: Scope, bucket: Bucket, by: Breakdown, top: int = TOP
) -> list[Volume]:
    """Conversations per bucket and key of ``by``, the ``top`` keys with the most over the
    range apart and the rest as OTHER; by bucket, then the keys' order (most first, OTHER
    last). Buckets and keys without a conversation are left out."""
    plan = await rollups.plan(conn, scope, by, grain=bucket)
    if plan is not None:
        counted = await rollups.volume(conn, scope, plan, rollups.by_bucket(bucket)[0])
    else:
        only = KEYS[scope.only[0]] if scope.only else "NULL"
        rows = await conn.fetch(
            f"""SELECT date_trunc('{bucket}', c.created_at AT TIME ZONE $4)::text AS at,
                       {KEYS[by]} AS key, count(*) AS n
                  FROM conversations c
                 WHERE c.brand_id = $1 AND c.created_at >= $2 AND c.created_at < $3
                   AND ($5::text IS NULL OR {only} = $5::text)
                 GROUP BY 1, 2""",
            scope.brand_id,
            scope.start,
            scope.end,
            scope.tz,
            scope.only[1] if scope.only else None,
        )
        counted = [(r["at"], r["key"], int(r["n"])) for r in rows]
    totals: dict[str, int] = defaultdict(int)
    for _at, key, n in counted:
        totals[key] += n
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    kept = ranked[:top]
    # One key left over is shown as itself: "other" would only hide its name.
    if len(ranked) == top + 1:
        kept = ranked
    order = {k: i for i, k in enumerate(kept)}
    sums: dict[tuple[datetime, str], int] = defaultdict(int)
    for at, key, n in counted:
        sums[(datetime.fromisoformat(at), key if key in order else OTHER)] += n
    named = await labels(conn, by, kept)
    placed = sorted(sums.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], top)))
    return [
        Volume(at, key, "Other" if key == OTHER else named.get(key, key), n)
        for (at, key), n in placed
    ]
