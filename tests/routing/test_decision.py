"""The bot/human decision over tables of situations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routing import decision as d
from routing.decision import BotPolicy, Situation, Texts, after_bot, decide

POLICY = BotPolicy()
TEXTS = Texts()
BASE = Situation(
    status="bot",
    intent="order_status",
    confidence=0.9,
    language="en",
    supported_languages=frozenset({"en", "fr"}),
    sentiment=0.0,
)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"intent": "request_human"}, d.REQUESTED_HUMAN),
        ({"intent": "unknown", "confidence": 0.0}, d.NLU_UNAVAILABLE),
        ({"vip": True}, d.VIP),
        ({"language": "de"}, d.UNSUPPORTED_LANGUAGE),
        ({"intent": "complaint"}, d.HUMAN_INTENT),
        ({"intent": "out_of_scope"}, d.OUT_OF_SCOPE),
        ({"sentiment": -0.8}, d.NEGATIVE_SENTIMENT),
        # a downward trend: no single message past the threshold, the average is
        ({"sentiment": -0.4, "earlier_sentiments": (-0.3, -0.45)}, d.NEGATIVE_SENTIMENT),
        # a second not-understood message in a row
        ({"intent": "nlu_fallback", "confidence": 0.45, "fallbacks": 1}, d.LOW_CONFIDENCE),
        # a named intent below the confidence threshold counts as not understood
        ({"confidence": 0.2, "fallbacks": 1}, d.LOW_CONFIDENCE),
    ],
)
def test_handoffs_and_their_reasons(change: dict[str, object], reason: str) -> None:
    outcome = decide(replace(BASE, **change), POLICY, TEXTS)  # type: ignore[arg-type]
    assert outcome.action == "handoff"
    assert outcome.status == "queued"
    assert outcome.handoff_reason == reason
    assert outcome.reply is not None


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"sentiment": -0.5},  # unhappy, but not past the threshold and no trend yet
        {"sentiment": -0.4, "earlier_sentiments": (0.5, 0.2)},  # trend is fine
        {"language": None},  # too short to tell: the bot answers
        {"language": "nl", "language_confidence": 0.45},  # a guess, not a language
        {"intent": "nlu_fallback", "confidence": 0.45},  # first miss: the bot asks again
    ],
)
def test_the_bot_answers(change: dict[str, object]) -> None:
    outcome = decide(replace(BASE, **change), POLICY, TEXTS)  # type: ignore[arg-type]
    assert outcome.action == "bot"
    assert outcome.status == "bot"


def test_fallbacks_count_up_and_reset() -> None:
    missed = decide(replace(BASE, intent="nlu_fallback", confidence=0.45), POLICY, TEXTS)
    assert missed.fallbacks == 1
    understood = decide(replace(BASE, fallbacks=1), POLICY, TEXTS)
    assert understood.fallbacks == 0


def test_once_a_human_is_involved_the_bot_stays_silent() -> None:
    for status in ("queued", "assigned"):
        outcome = decide(replace(BASE, status=status, intent="greet"), POLICY, TEXTS)
        assert outcome.action == "wait"
        assert outcome.status == status
        assert outcome.reply is None


def test_with_the_bot_off_everything_goes_to_a_human() -> None:
    outcome = decide(BASE, BotPolicy(enabled=False), TEXTS)
    assert outcome.handoff_reason == d.NO_BOT


def test_vip_rule_can_be_turned_off() -> None:
    outcome = decide(replace(BASE, vip=True), BotPolicy(vip_to_human=False), TEXTS)
    assert outcome.action == "bot"


def test_the_notice_is_in_the_customers_language_and_says_when_off_hours() -> None:
    french = decide(replace(BASE, intent="request_human", language="fr"), POLICY, TEXTS)
    assert french.reply is not None
    assert "équipe" in french.reply
    off = decide(
        replace(BASE, intent="request_human", within_hours=False, hours="Mon-Fri 09:00-18:00"),
        POLICY,
        TEXTS,
    )
    assert off.reply is not None
    assert "Mon-Fri 09:00-18:00" in off.reply


def test_a_bot_asking_for_a_human_hands_off_without_a_second_notice() -> None:
    before = decide(BASE, POLICY, TEXTS)
    outcome = after_bot(BASE, before, "bot_requested", TEXTS)
    assert (outcome.action, outcome.handoff_reason, outcome.reply) == (
        "handoff",
        d.BOT_REQUESTED,
        None,
    )
    assert after_bot(BASE, before, None, TEXTS) == before
    off_hours = after_bot(replace(BASE, within_hours=False), before, "bot_requested", TEXTS)
    assert off_hours.reply is not None
