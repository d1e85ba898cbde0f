"""How urgent a handed-over conversation is, and why: a score made of named contributions.

Pure: the pipeline gathers the facts, ``score`` adds up what applies, and the explanation is
the list of contributions ("+40 VIP", "+25 negative sentiment trend", "+12 waited 9 min").
Time-dependent parts (waiting, the SLA clock) are recomputed whenever the queue is read, so the
order ages: a conversation that waits long enough overtakes fresher, hotter ones, and nothing
starves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

UrgencyClass = Literal["critical", "high", "normal", "low"]
Band = Literal["urgent", "high", "normal", "low"]
BANDS: tuple[Band, ...] = ("urgent", "high", "normal", "low")


def _default_reasons() -> dict[str, int]:
    # Why the bot handed over (routing/decision.py), when the reason itself says how urgent.
    return {
        "safety": 60,
        "account_takeover": 60,
        "fraud": 30,
        "legal": 30,
        "vulnerable_customer": 25,
        "press": 20,
        "repeated_contact": 15,
        "frustration": 15,
        "data_rights": 10,
        "complex_first_message": 5,
        "negotiation": 0,
    }


# The least band a reason puts a conversation in, whatever else is known: a fire next to a
# child on an email from a customer of no value is still urgent.
def _default_reason_bands() -> dict[str, Band]:
    return {"safety": "urgent", "account_takeover": "urgent", "fraud": "high", "legal": "high"}


REASON_WORDS = {
    "safety": "safety incident",
    "account_takeover": "account takeover",
    "fraud": "fraud",
    "legal": "legal threat",
    "vulnerable_customer": "vulnerable customer",
    "press": "press enquiry",
    "repeated_contact": "repeated contact",
    "frustration": "frustrated customer",
    "data_rights": "data-rights request",
    "complex_first_message": "involved first message",
    "negotiation": "negotiation",
}


def _default_urgency() -> dict[str, UrgencyClass]:
    return {
        "payment_failed": "critical",
        "account_locked": "critical",
        "damaged_item": "high",
        "billing_issue": "high",
        "complaint": "high",
        "cancel_order": "high",
        "return_refund": "high",
        "technical_problem": "high",
        "reset_password": "normal",
        "order_status": "normal",
        "feature_request": "low",
        "pricing_question": "low",
        "bot_challenge": "low",
        "greet": "low",
        "goodbye": "low",
        "thanks": "low",
    }


@dataclass(frozen=True, slots=True)
class Weights:
    """What each fact is worth; every field is a setting (SWITCHBOARD_PRIORITY_*)."""

    vip: int = 40
    tiers: dict[str, int] = field(default_factory=lambda: {"gold": 20, "silver": 10})
    # Customer value: points per 1,000 of lifetime value, capped.
    value_per_thousand: float = 5.0
    value_cap: int = 20
    urgency: dict[str, UrgencyClass] = field(default_factory=_default_urgency)
    urgency_points: dict[str, int] = field(
        default_factory=lambda: {"critical": 20, "high": 12, "normal": 0, "low": -10}
    )
    # A sentiment at or below -1 earns the full points; 0 or above earns none.
    negative_sentiment: int = 25
    # Getting worse over the conversation: last message vs. the average before it.
    worsening_trend: int = 15
    channels: dict[str, int] = field(
        default_factory=lambda: {"webchat": 10, "telegram": 8, "slack": 8, "email": 0}
    )
    # Aging: points per waited minute, capped, so the oldest eventually come first.
    per_minute_waiting: float = 1.5
    waiting_cap: int = 60
    # The SLA clock: points when the first-response deadline is close or passed.
    sla_breached: int = 30
    sla_due_soon: int = 20  # within sla_soon_minutes
    sla_soon_minutes: int = 5
    sla_due_later: int = 8  # within sla_later_minutes
    sla_later_minutes: int = 15
    # Earlier conversations of the same contact in the last week (the same issue, again).
    per_repeat_contact: int = 10
    repeat_cap: int = 20
    # Score thresholds of the bands SLA policies are written for.
    band_thresholds: dict[str, int] = field(
        default_factory=lambda: {"urgent": 80, "high": 50, "normal": 20}
    )
    # Points for the handoff's reason, and the least band some reasons put it in.
    reasons: dict[str, int] = field(default_factory=_default_reasons)
    reason_bands: dict[str, Band] = field(default_factory=_default_reason_bands)


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about a conversation when it is scored; gathered by the pipeline."""

    channel: str
    intent: str | None = None
    # The customer's sentiments in this conversation, oldest first (VADER compound, -1..1).
    sentiments: tuple[float, ...] = ()
    vip: bool = False
    tier: str | None = None
    value: float = 0.0
    repeat_contacts: int = 0
    # Points added by escalation (an SLA breach bumps the priority per policy).
    escalation: int = 0
    # Why the bot handed over (routing/decision.py), e.g. "safety".
    handoff_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Contribution:
    points: int
    label: str

    def text(self) -> str:
        return f"{self.points:+d} {self.label}"

    def to_json(self) -> dict[str, object]:
        return {"points": self.points, "label": self.label}


@dataclass(frozen=True, slots=True)
class Priority:
    score: int
    contributions: tuple[Contribution, ...]

    def explanation(self) -> str:
        return ", ".join(c.text() for c in self.contributions) or "no priority factors"

    def to_json(self) -> list[dict[str, object]]:
        return [c.to_json() for c in self.contributions]


def score(facts: Facts, weights: Weights) -> Priority:
    """The conversation's standing priority (without the clock); see ``at``."""
    parts: list[Contribution] = []
    if facts.vip:
        parts.append(Contribution(weights.vip, "VIP"))
    tier_points = weights.tiers.get(facts.tier or "", 0)
    if tier_points:
        parts.append(Contribution(tier_points, f"{facts.tier} tier"))
    # Capped before it becomes an int: a value too large for one (infinity) earns the cap.
    per_value = facts.value / 1000 * weights.value_per_thousand
    value_points = int(min(weights.value_cap, per_value)) if per_value > 0 else 0
    if value_points > 0:
        parts.append(Contribution(value_points, f"customer value {facts.value:,.0f}"))
    parts += _sentiment(facts.sentiments, weights)
    if facts.intent:
        urgency = weights.urgency.get(facts.intent, "normal")
        points = weights.urgency_points.get(urgency, 0)
        if points:
            parts.append(Contribution(points, f"intent {facts.intent} ({urgency})"))
    channel_points = weights.channels.get(facts.channel, 0)
    if channel_points:
        parts.append(Contribution(channel_points, f"live channel {facts.channel}"))
    if facts.repeat_contacts > 0:
        points = min(weights.repeat_cap, facts.repeat_contacts * weights.per_repeat_contact)
        times = "once" if facts.repeat_contacts == 1 else f"{facts.repeat_contacts} times"
        parts.append(Contribution(points, f"contacted us {times} this week"))
    if facts.escalation:
        parts.append(Contribution(facts.escalation, "escalated after SLA breach"))
    reason = _reason(facts.handoff_reason, sum(p.points for p in parts), weights)
    if reason is not None:
        parts.append(reason)
    return Priority(sum(p.points for p in parts), tuple(parts))


def weightiest_reason(recorded: str | None, seen: Iterable[str], weights: Weights) -> str | None:
    """The reason that counts for the priority: the one the conversation was handed over for,
    unless the customer has since shown a weightier one ("now it's smoking!" while queued for
    a late parcel): the higher least band first, then the more points."""

    def weight(reason: str) -> tuple[int, int]:
        least = weights.reason_bands.get(reason)
        rank = len(BANDS) - BANDS.index(least) if least in BANDS else 0
        return rank, weights.reasons.get(reason, 0)

    candidates = [r for r in (recorded, *seen) if r]
    if not candidates:
        return None
    best = max(candidates, key=weight)
    return recorded if recorded and weight(recorded) >= weight(best) else best


def _reason(reason: str | None, others: int, weights: Weights) -> Contribution | None:
    """The reason's points; for a reason with a least band, at least what lifts the score
    to that band's threshold (the explanation names the band)."""
    if not reason:
        return None
    points = weights.reasons.get(reason, 0)
    words = REASON_WORDS.get(reason, reason.replace("_", " "))
    least = weights.reason_bands.get(reason)
    if least is not None and least in weights.band_thresholds:
        lift = weights.band_thresholds[least] - others
        if lift > points:
            return Contribution(lift, f"{words} ({least})")
    return Contribution(points, words) if points else None


def _sentiment(sentiments: tuple[float, ...], weights: Weights) -> list[Contribution]:
    if not sentiments:
        return []
    parts = []
    last = sentiments[-1]
    if last < -0.05:
        parts.append(
            Contribution(round(weights.negative_sentiment * min(1.0, -last)), "negative sentiment")
        )
    if len(sentiments) >= 2:
        before = sum(sentiments[:-1]) / (len(sentiments) - 1)
        if last < before - 0.3 and last < 0:
            parts.append(Contribution(weights.worsening_trend, "negative sentiment trend"))
    return parts


def at(
    standing: Priority,
    *,
    waiting_since: datetime | None,
    first_response_due: datetime | None,
    now: datetime,
    weights: Weights,
) -> Priority:
    """The standing priority plus what the clock adds now: time waited and the SLA."""
    parts: list[Contribution] = []
    if waiting_since is not None:
        minutes = max(0.0, (now - waiting_since).total_seconds() / 60)
        points = min(weights.waiting_cap, int(minutes * weights.per_minute_waiting))
        if points > 0:
            parts.append(Contribution(points, f"waited {int(minutes)} min"))
    if first_response_due is not None:
        left = (first_response_due - now).total_seconds() / 60
        if left <= 0:
            parts.append(Contribution(weights.sla_breached, f"SLA breached {int(-left)} min ago"))
        elif left <= weights.sla_soon_minutes:
            parts.append(Contribution(weights.sla_due_soon, f"SLA due in {_minutes(left)}"))
        elif left <= weights.sla_later_minutes:
            parts.append(Contribution(weights.sla_due_later, f"SLA due in {_minutes(left)}"))
    return Priority(
        standing.score + sum(p.points for p in parts), standing.contributions + tuple(parts)
    )


def band(standing_score: int, weights: Weights) -> Band:
    """The priority band an SLA policy applies to, from the standing score."""
    for name in ("urgent", "high", "normal"):
        if standing_score >= weights.band_thresholds.get(name, 10**9):
            return name
    return "low"


def _minutes(value: float) -> str:
    return "under 1 min" if value < 1 else f"{int(value)} min"
