from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.priority import Facts, Weights, at, band, score

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
