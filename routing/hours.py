"""Business hours: when humans answer. Parsed from one line such as
``mon-fri 09:00-18:00 Europe/Paris`` (several day ranges with commas: ``mon-fri,sun``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time
    zone: ZoneInfo

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of open time after ``start``: the clock stops while closed
        (an SLA of 30 min from Friday 17:50 with hours until 18:00 ends Monday 09:20)."""
        left = timedelta(seconds=seconds)
        local = start.astimezone(self.zone)
        for _ in range(3660):  # ten years of days: ends any loop on a degenerate table
            day = local.date()
            opens = datetime.combine(day, self.opens, self.zone)
            closes = datetime.combine(day, self.closes, self.zone)
            if local.weekday() in self.days and local < closes:
                begin = max(local, opens)
                if begin + left <= closes:
                    return (begin + left).astimezone(start.tzinfo)
                left -= closes - begin
            local = datetime.combine(day + timedelta(days=1), time(0), self.zone)
        raise ValueError("business hours never open")

    def describe(self) -> str:
        return f"{_days_text(self.days)} {self.opens:%H:%M}-{self.closes:%H:%M} ({self.zone.key})"


def parse_hours(spec: str) -> BusinessHours:
    """Raises ValueError with a precise message on a malformed line."""
    parts = spec.split()
    if len(parts) != 3:
        raise ValueError(f"business hours {spec!r}: expected 'mon-fri 09:00-18:00 Area/City'")
    days_text, times_text, zone_name = parts
    days: set[int] = set()
    for chunk in days_text.lower().split(","):
        first, _, last = chunk.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"business hours {spec!r}: unknown day in {chunk!r}")
        start, end = DAYS.index(first), DAYS.index(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    opens_text, _, closes_text = times_text.partition("-")
    try:
        opens, closes = time.fromisoformat(opens_text), time.fromisoformat(closes_text)
    except ValueError as error:
        raise ValueError(f"business hours {spec!r}: bad times {times_text!r}") from error
    if opens >= closes:
        raise ValueError(f"business hours {spec!r}: opening must come before closing")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"business hours {spec!r}: unknown time zone {zone_name!r}") from error
    return BusinessHours(frozenset(days), opens, closes, zone)


def _days_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{DAYS[ordered[0]].title()}-{DAYS[ordered[-1]].title()}"
    return ",".join(DAYS[d].title() for d in ordered)
