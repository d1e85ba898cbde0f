"""SLA deadlines: first response and resolution targets per priority band, on the business
clock when the brand keeps business hours. Pure; the timer sweep in the server compares the
deadlines with its (injectable) clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.hours import BusinessHours

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    band: str
    first_response_seconds: int
    resolution_seconds: int
    # On a breach: points added to the conversation's priority, and the team told.
    escalation_points: int = 0
    notify_team: str | None = None


@dataclass(frozen=True, slots=True)
class Deadlines:
    first_response: datetime
    resolution: datetime


def deadlines(policy: SlaPolicy, start: datetime, hours: BusinessHours | None) -> Deadlines:
    """When the first response and the resolution are due for a conversation queued at
    ``start``; with business hours the clock only runs while the team is open."""
    if hours is None:
        return Deadlines(
            start + timedelta(seconds=policy.first_response_seconds),
            start + timedelta(seconds=policy.resolution_seconds),
        )
    return Deadlines(
        hours.add(start, policy.first_response_seconds),
        hours.add(start, policy.resolution_seconds),
    )


def parse_duration(text: str) -> int:
    """Seconds from '90s', '15m', '4h', '2d' or a plain number of seconds; ValueError else."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"duration {text!r}: expected e.g. 90s, 15m, 4h or 2d")
    return int(number) * units[unit]
