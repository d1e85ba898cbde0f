from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.priority import Facts, Priority, Weights, at, band, score, weightiest_reason

W = Weights()
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def labels(facts: Facts) -> list[str]:
    return [c.text() for c in score(facts, W).contributions]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (Facts(channel="email"), []),
        (Facts(channel="webchat"), ["+10 live channel webchat"]),
        (Facts(channel="email", vip=True), ["+40 VIP"]),
        (
            Facts(channel="email", tier="gold", value=3000),
            ["+20 gold tier", "+15 customer value 3,000"],
        ),
        (Facts(channel="email", value=1_000_000), ["+20 customer value 1,000,000"]),  # capped
        (Facts(channel="email", intent="payment_failed"), ["+20 intent payment_failed (critical)"]),
        (Facts(channel="email", intent="feature_request"), ["-10 intent feature_request (low)"]),
        (Facts(channel="email", intent="something_new"), []),  # unknown intents are normal
        (Facts(channel="email", sentiments=(-0.8,)), ["+20 negative sentiment"]),
        (Facts(channel="email", sentiments=(0.5,)), []),
        (
            Facts(channel="email", sentiments=(0.4, 0.2, -0.5)),
            ["+12 negative sentiment", "+15 negative sentiment trend"],
        ),
        (Facts(channel="email", repeat_contacts=1), ["+10 contacted us once this week"]),
        (Facts(channel="email", repeat_contacts=5), ["+20 contacted us 5 times this week"]),
        (Facts(channel="email", escalation=15), ["+15 escalated after SLA breach"]),
    ],
)
def test_each_fact_adds_a_named_contribution(facts: Facts, expected: list[str]) -> None:
    assert labels(facts) == expected
    assert score(facts, W).score == sum(int(x.split()[0]) for x in expected)


def test_the_angry_vip_with_a_failed_payment_outranks_a_neutral_feature_request() -> None:
    angry = score(
        Facts(channel="webchat", intent="payment_failed", vip=True, sentiments=(0.0, -0.9)), W
    )
    neutral = score(Facts(channel="webchat", intent="feature_request", sentiments=(0.1,)), W)
    assert angry.score > neutral.score
    assert angry.explanation() == (
        "+40 VIP, +22 negative sentiment, +15 negative sentiment trend,"
        " +20 intent payment_failed (critical), +10 live channel webchat"
    )
    assert band(angry.score, W) == "urgent"
    assert band(neutral.score, W) == "low"


def test_the_clock_adds_waiting_time_and_the_sla() -> None:
    standing = score(Facts(channel="email", vip=True), W)
    live = at(
        standing,
        waiting_since=NOW - timedelta(minutes=9),
        first_response_due=NOW + timedelta(minutes=3),
        now=NOW,
        weights=W,
    )
    assert live.explanation() == "+40 VIP, +13 waited 9 min, +20 SLA due in 3 min"
    breached = at(
        standing,
        waiting_since=None,
        first_response_due=NOW - timedelta(minutes=4),
        now=NOW,
        weights=W,
    )
    assert breached.explanation() == "+40 VIP, +30 SLA breached 4 min ago"
    later = at(
        standing,
        waiting_since=None,
        first_response_due=NOW + timedelta(hours=2),
        now=NOW,
        weights=W,
    )
    assert later.score == standing.score  # far deadlines add nothing


def test_waiting_is_capped_but_eventually_beats_fresh_urgency() -> None:
    old = at(
        score(Facts(channel="email"), W),
        waiting_since=NOW - timedelta(hours=3),
        first_response_due=None,
        now=NOW,
        weights=W,
    )
    assert old.score == W.waiting_cap
    fresh_vip = at(
        score(Facts(channel="email", vip=True), W),
        waiting_since=NOW,
        first_response_due=None,
        now=NOW,
        weights=W,
    )
    assert old.score > fresh_vip.score


def test_weights_are_configurable() -> None:
    heavy = Weights(vip=100)
    assert score(Facts(channel="email", vip=True), heavy).score == 100


# Properties over any facts: the score is the sum of its explanation, it never drops when a
# documented input gets worse (VIP, value, urgency, sentiment, repeats, escalation, waiting, the
# SLA clock), and it stays within what the weights allow.

_URGENCY_ORDER = ("low", "normal", "high", "critical")
_intents_by_class = {
    urgency: sorted(i for i, c in W.urgency.items() if c == urgency) for urgency in _URGENCY_ORDER
}
_facts = st.builds(
    Facts,
    channel=st.sampled_from(["webchat", "telegram", "slack", "email", "fax"]),
    intent=st.none() | st.sampled_from([*W.urgency, "something_new"]),
    # VADER compound scores, oldest first.
    sentiments=st.lists(st.floats(min_value=-1, max_value=1), max_size=6).map(tuple),
    vip=st.booleans(),
    tier=st.none() | st.sampled_from(["gold", "silver", "bronze"]),
    # Lifetime value as the admin API takes it: any non-negative float, infinity included.
    value=st.floats(min_value=0),
    repeat_contacts=st.integers(min_value=0, max_value=100),
    escalation=st.integers(min_value=0, max_value=200),
)
_minutes = st.floats(min_value=-10_000, max_value=10_000)


def _explained(priority: Priority) -> int:
    return sum(
        int(term.split()[0]) for term in priority.explanation().split(", ") if term[0] in "+-"
    )


@given(_facts, st.none() | _minutes, st.none() | _minutes)
def test_the_explanation_sums_to_the_score(
    facts: Facts, waited: float | None, due_in: float | None
) -> None:
    standing = score(facts, W)
    live = at(
        standing,
        waiting_since=None if waited is None else NOW - timedelta(minutes=waited),
        first_response_due=None if due_in is None else NOW + timedelta(minutes=due_in),
        now=NOW,
        weights=W,
    )
    for priority in (standing, live):
        assert priority.score == sum(c.points for c in priority.contributions)
        assert priority.score == _explained(priority)


@given(_facts, st.none() | _minutes, st.none() | _minutes)
def test_the_score_is_bounded_by_the_weights(
    facts: Facts, waited: float | None, due_in: float | None
) -> None:
    lowest = min(0, *W.urgency_points.values())
    highest = (
        W.vip
        + max(W.tiers.values())
        + W.value_cap
        + W.negative_sentiment
        + W.worsening_trend
        + max(W.urgency_points.values())
        + max(W.channels.values())
        + W.repeat_cap
    )
    standing = score(facts, W)
    assert lowest <= standing.score - facts.escalation <= highest
    live = at(
        standing,
        waiting_since=None if waited is None else NOW - timedelta(minutes=waited),
        first_response_due=None if due_in is None else NOW + timedelta(minutes=due_in),
        now=NOW,
        weights=W,
    )
    assert standing.score <= live.score <= standing.score + W.waiting_cap + W.sla_breached


@given(_facts, st.data())
def test_the_score_never_drops_when_a_fact_gets_worse(facts: Facts, data: st.DataObject) -> None:
    def more(value: float) -> float:
        return data.draw(st.floats(min_value=value))

    worse = [
        replace(facts, vip=True),
        replace(facts, value=more(facts.value)),
        replace(facts, repeat_contacts=facts.repeat_contacts + data.draw(st.integers(0, 10))),
        replace(facts, escalation=facts.escalation + data.draw(st.integers(0, 50))),
    ]
    if facts.sentiments:
        lower = data.draw(st.floats(min_value=-1, max_value=facts.sentiments[-1]))
        worse.append(replace(facts, sentiments=(*facts.sentiments[:-1], lower)))
    if facts.intent in W.urgency:
        rank = _URGENCY_ORDER.index(W.urgency[facts.intent])
        urgency = data.draw(st.sampled_from(_URGENCY_ORDER[rank:]))
        worse.append(replace(facts, intent=data.draw(st.sampled_from(_intents_by_class[urgency]))))
    before = score(facts, W).score
    for changed in worse:
        assert score(changed, W).score >= before, changed


@given(_facts, _minutes, _minutes, st.floats(min_value=0, max_value=10_000))
def test_the_score_never_drops_as_the_clock_runs(
    facts: Facts, waited: float, due_in: float, later: float
) -> None:
    standing = score(facts, W)

    def live(now: datetime) -> int:
        return at(
            standing,
            waiting_since=NOW - timedelta(minutes=waited),
            first_response_due=NOW + timedelta(minutes=due_in),
            now=now,
            weights=W,
        ).score

    assert live(NOW + timedelta(minutes=later)) >= live(NOW)


@pytest.mark.parametrize(
    ("facts", "expected_band", "label"),
    [
        # Alone on email, a fire or a hacked account is lifted to the urgent threshold.
        (Facts(channel="email", handoff_reason="safety"), "urgent", "+80 safety incident (urgent)"),
        (
            Facts(channel="webchat", handoff_reason="account_takeover"),
            "urgent",
            "+70 account takeover (urgent)",
        ),
        # A low-urgency intent cannot pull it down: the lift makes up the difference.
        (
            Facts(channel="email", intent="greet", handoff_reason="safety"),
            "urgent",
            "+90 safety incident (urgent)",
        ),
        (Facts(channel="email", handoff_reason="legal"), "high", "+50 legal threat (high)"),
        (Facts(channel="email", handoff_reason="fraud"), "high", "+50 fraud (high)"),
        # Already past the band's threshold: the reason's own points, no lift.
        (
            Facts(channel="webchat", vip=True, handoff_reason="legal"),
            "urgent",
            "+30 legal threat",
        ),
        (
            Facts(channel="webchat", handoff_reason="frustration"),
            "normal",
            "+15 frustrated customer",
        ),
    ],
)
def test_a_handoff_reason_sets_a_least_band(facts: Facts, expected_band: str, label: str) -> None:
    standing = score(facts, W)
    assert band(standing.score, W) == expected_band
    assert label in [c.text() for c in standing.contributions]


def test_a_reason_without_points_adds_nothing() -> None:
    assert score(Facts(channel="email", handoff_reason="negotiation"), W).contributions == ()
    assert score(Facts(channel="email", handoff_reason="low_confidence"), W).contributions == ()


def test_the_weightiest_reason_counts() -> None:
    # Something more severe said while waiting wins; a lesser one leaves the recorded reason.
    assert weightiest_reason("no_bot", ["safety"], W) == "safety"
    assert weightiest_reason("legal", ["negotiation", "fraud"], W) == "legal"
    assert weightiest_reason("frustration", ["vulnerable_customer"], W) == "vulnerable_customer"
    assert weightiest_reason("account_takeover", ["safety"], W) == "account_takeover"
    assert weightiest_reason(None, [], W) is None
    assert weightiest_reason(None, ["press"], W) == "press"
