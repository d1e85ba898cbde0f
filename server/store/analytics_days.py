"""Which part of a report's range the per-day roll-ups answer (migration 0041) and which
part the per-hour ones do: pure, no I/O (server/store/analytics_rollups.py asks).

The folded whole hours of a range, ``[first, until)``, split into whole UTC days, read from
the days' tables, and the hours left, read from the hours' tables: the range's edges, the
days with a mark pending (one of their hours changed since its fold: the day's row is stale
too, so its unmarked hours are read from the hours and the marked ones from the facts), the
days on hold (their hours folded again, the day not yet: server/store/analytics_fold.py), and
the days that do not lie within one of the report's local buckets. A report grouped by a
local bucket (a series by day in New York) adds each row into the bucket its start falls in:
a UTC day is read whole only when all its hours fall in the same bucket. That is every day
for a report grouped by no time (totals, breakdowns, reasons, ratings), six UTC days of
seven for weeks in New York, every day for days in UTC, and none for hours or for days in
a zone offset from UTC (whose local days each straddle two UTC days).

A day's row is the sum of its hours' rows, its histograms added bucket by bucket, so the
figures read are the same whichever tier a day comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# The local buckets a read groups its rows by: None for none (the rows are all added up, or
# grouped by a breakdown's key).
Grain = Literal["hour", "day", "week"] | None
Ranges = list[tuple[datetime, datetime]]


def floor_day(at: datetime) -> datetime:
    """The UTC midnight at or before ``at``."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(at: datetime) -> datetime:
    floor = floor_day(at)
    return floor if floor == at else floor + DAY


@dataclass(frozen=True, slots=True)
class Split:
    """``[first, until)`` as ranges of whole UTC days (``days``) and of whole hours
    (``hours``), the marked hours in neither (they are read from the facts)."""

    days: Ranges
    hours: Ranges


def split(
    first: datetime,
    until: datetime,
    stale: list[datetime],
    tz: str,
    grain: Grain,
    held: frozenset[datetime] = frozenset(),
) -> Split:
    """Split the folded hours ``[first, until)`` (whole UTC hours; ``stale``: the marked ones
    among them) for a read grouped by ``grain`` in zone ``tz``; the days ``held`` (UTC
    midnights: their hours folded again since the day was, migration 0052) are read by
    their hours."""
    marked = {floor_day(h) for h in stale} | held
    zone = ZoneInfo(tz)
    whole: list[datetime] = []
    day = ceil_day(first)
    while day + DAY <= until:
        if day not in marked and _within_one_bucket(day, zone, grain):
            whole.append(day)
        day += DAY
    days = merged([(d, d + DAY) for d in whole])
    taken = sorted(days + [(h, h + HOUR) for h in stale])
    hours: Ranges = []
    at = first
    for a, b in taken:
        if at < a:
            hours.append((at, a))
        at = max(at, b)
    if at < until:
        hours.append((at, until))
    return Split(days, hours)


@dataclass(frozen=True, slots=True)
class Edges:
    """A pair's ranges read from the facts, rearranged: the UTC days more than half inside
    them read from their day's row (``days``) less the facts of the rest of the day
    (``less``); the other ranges from the facts (``facts``)."""

    days: Ranges
    facts: Ranges
    less: Ranges


def pair_edges(
    ranges: Ranges,
    until: datetime | None,
    marked: frozenset[datetime],
    tz: str,
    grain: Grain,
) -> Edges:
    """Rearrange the ``ranges`` (not overlapping) a pair's read would take from the facts.

    A pair is kept per UTC day only (migration 0052), so a range that ends at half past ten
    at night reads that day's 22 hours from the facts (at a million conversations in 90 days,
    11,000 conversations: 300 of a 400 ms read). Counts and histograms add up, so the day's
    row less its other one and a half hours gives the same figures for a fifteenth of the
    facts. A day qualifies when its row is current: folded (it ends by the watermark
    ``until``), no hour of it ``marked`` stale nor the day held, and within one of the
    read's local buckets (as split's whole days)."""
    parts: dict[datetime, Ranges] = {}
    for a, b in sorted(ranges):
        while a < b:
            day = floor_day(a)
            end = min(b, day + DAY)
            parts.setdefault(day, []).append((a, end))
            a = end
    zone = ZoneInfo(tz)
    days: Ranges = []
    facts: Ranges = []
    less: Ranges = []
    for day, inside in parts.items():
        covered = sum((b - a for a, b in inside), timedelta())
        current = (
            until is not None
            and day + DAY <= until
            and day not in marked
            and _within_one_bucket(day, zone, grain)
        )
        if covered > DAY / 2 and current:
            days.append((day, day + DAY))
            at = day
            for a, b in inside:
                if at < a:
                    less.append((at, a))
                at = b
            if at < day + DAY:
                less.append((at, day + DAY))
        else:
            facts += inside
    return Edges(days, facts, less)


def _within_one_bucket(day: datetime, zone: ZoneInfo, grain: Grain) -> bool:
    """Whether every hour of the UTC ``day`` falls in the same local bucket (each hour is
    checked: a change of offset may fall in the day)."""
    if grain is None:
        return True
    if grain == "hour":
        return False
    buckets = {_bucket(day + n * HOUR, zone, grain) for n in range(24)}
    return len(buckets) == 1


def _bucket(at: datetime, zone: ZoneInfo, grain: Literal["day", "week"]) -> date:
    """The local day or week (its Monday, as Postgres's date_trunc) ``at`` falls in."""
    local = at.astimezone(zone).date()
    return local if grain == "day" else local - timedelta(days=local.weekday())


def merged(ranges: Ranges) -> Ranges:
    """Adjoining ranges (sorted) as one."""
    merged: Ranges = []
    for a, b in ranges:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


__all__ = [
    "DAY",
    "Edges",
    "Grain",
    "Split",
    "ceil_day",
    "floor_day",
    "merged",
    "pair_edges",
    "split",
]
