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


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"text": "the charger caught fire next to my daughter"}, d.SAFETY),
        ({"text": "someone hacked my account", "intent": "account_locked"}, d.ACCOUNT_TAKEOVER),
        ({"text": "there's a fraudulent order on my statement"}, d.FRAUD),
        ({"text": "j'ai fait opposition auprès de ma banque"}, d.LEGAL),
        ({"text": "my late husband's account needs closing"}, d.VULNERABLE_CUSTOMER),
        ({"text": "I'm a reporter at the BBC"}, d.PRESS),
        ({"text": "please erase all my personal data", "intent": "delete_account"}, d.DATA_RIGHTS),
        ({"text": "what's your best price for 30 lamps?"}, d.NEGOTIATION),
        ({"text": "this is the fourth time I'm writing"}, d.REPEATED_CONTACT),
        ({"earlier_conversations": 2}, d.REPEATED_CONTACT),
        ({"text": "I've done that five times already… I'm fed up"}, d.REPEATED_CONTACT),
        ({"text": "honestly, I'm fed up"}, d.FRUSTRATION),
        # the shipped bot's intents for the same categories, understood with confidence
        ({"intent": "safety"}, d.SAFETY),
        ({"intent": "security_incident"}, d.ACCOUNT_TAKEOVER),
        ({"intent": "data_rights"}, d.DATA_RIGHTS),
    ],
)
def test_what_the_words_show_hands_over_with_its_own_reason(
    change: dict[str, object], reason: str
) -> None:
    outcome = decide(replace(BASE, **change), POLICY, TEXTS)  # type: ignore[arg-type]
    assert (outcome.action, outcome.handoff_reason) == ("handoff", reason)
    assert outcome.reply is not None
    assert outcome.evidence


def test_a_risk_comes_before_every_other_reason() -> None:
    # Asking for a person, a VIP, or the NLU down: the fire still sets the reason (and so the
    # priority); only a deployment without a bot keeps its own reason.
    fire = replace(BASE, text="the lamp is on fire")
    for change in ({"intent": "request_human"}, {"vip": True}, {"intent": "unknown"}):
        outcome = decide(replace(fire, **change), POLICY, TEXTS)
        assert outcome.handoff_reason == d.SAFETY
    assert decide(fire, BotPolicy(enabled=False), TEXTS).handoff_reason == d.NO_BOT


def test_a_human_intent_below_the_threshold_is_a_guess() -> None:
    # Neither a safety incident (urgent) nor a human intent: not understood, the bot asks
    # again ("avez-vous un programme de fidélité ?" came out as negotiation at 0.32).
    unsure = replace(BASE, intent="safety", confidence=0.3)
    outcome = decide(unsure, POLICY, TEXTS)
    assert (outcome.action, outcome.fallbacks) == ("bot", 1)
    assert decide(replace(unsure, confidence=0.5), POLICY, TEXTS).handoff_reason == d.SAFETY


def test_each_signal_can_be_turned_off() -> None:
    policy = BotPolicy(
        risk_categories=frozenset(),
        repeated_contact=False,
        frustration=False,
        complex_first_message=False,
    )
    for text in ["the lamp is on fire", "third time I'm writing", "I'm fed up"]:
        assert decide(replace(BASE, text=text), policy, TEXTS).action == "bot"


def test_frustration_grows_over_the_conversation() -> None:
    situation = replace(
        BASE,
        text="why is it still not here? it's been two weeks",
        earlier_texts=("where is my order?", "it still says the same thing"),
        earlier_sentiments=(0.0, 0.0),
    )
    assert decide(situation, POLICY, TEXTS).handoff_reason == d.FRUSTRATION
    assert decide(replace(situation, earlier_texts=()), POLICY, TEXTS).action == "bot"


@pytest.mark.parametrize(
    ("text", "sentiment", "action", "reason"),
    [
        # Short nonsense: the bot asks to rephrase, as before.
        ("lorem ipsum dolor sit amet", 0.0, "bot", None),
        # Long, emotional or about several things: a person at once.
        (" ".join(["blah"] * 30), 0.0, "handoff", d.COMPLEX_FIRST_MESSAGE),
        ("this is a disaster and I am devastated", -0.8, "handoff", d.NEGATIVE_SENTIMENT),
        (
            "it is awful and sad, I really did not expect this from you",
            -0.55,
            "handoff",
            d.COMPLEX_FIRST_MESSAGE,
        ),
        # One word's sentiment on a short message ("la mauvaise taille": -0.56) is not emotion.
        ("j'ai reçu la mauvaise taille", -0.56, "bot", None),
        (
            "The lamp came without a plug. Also the invoice has the wrong name.",
            0.0,
            "handoff",
            d.COMPLEX_FIRST_MESSAGE,
        ),
    ],
)
def test_a_first_message_not_understood(
    text: str, sentiment: float, action: str, reason: str | None
) -> None:
    missed = replace(BASE, intent="nlu_fallback", confidence=0.3, text=text, sentiment=sentiment)
    outcome = decide(missed, POLICY, TEXTS)
    assert (outcome.action, outcome.handoff_reason) == (action, reason)
    # Later in the conversation a long message not understood gets one more try.
    later = replace(missed, earlier_texts=("hello",))
    if reason == d.COMPLEX_FIRST_MESSAGE:
        assert decide(later, POLICY, TEXTS).action == "bot"


def test_a_rephrase_filed_under_small_talk_is_still_not_understood() -> None:
    """The two-in-a-row net used to miss a rephrase the classifier took for a generic intent
    (the bot then answered "you're welcome" or "OK" and the count started again)."""
    rephrased = replace(
        BASE,
        intent="deny",
        confidence=0.8,
        fallbacks=1,
        text="no I mean the parcel that came broken last week",
    )
    outcome = decide(rephrased, POLICY, TEXTS)
    assert (outcome.action, outcome.handoff_reason) == ("handoff", d.LOW_CONFIDENCE)
    # A short "no" after a miss is an answer; so is small talk with nothing missed before.
    assert decide(replace(rephrased, text="no"), POLICY, TEXTS).action == "bot"
    assert decide(replace(rephrased, fallbacks=0), POLICY, TEXTS).action == "bot"


@pytest.mark.parametrize(
    ("text", "language", "confidence"),
    [
        ("flibber wabble dronk", "nl", 0.69),  # issue 17: lingua's guess, not a language
        ("lakjsdflkj asldkfj", "nl", 0.96),  # mashing, however sure lingua is
        ("ajsdkasjdkajsd", "pl", 1.0),
        ("toto titi tata", "it", 0.73),
    ],
)
def test_nonsense_named_a_language_is_not_understood(
    text: str, language: str, confidence: float
) -> None:
    said = replace(
        BASE, text=text, language=language, language_confidence=confidence, out_of_scope=True
    )
    first = decide(replace(said, intent="nlu_fallback", confidence=0.5), POLICY, TEXTS)
    assert (first.action, first.handoff_reason, first.fallbacks) == ("bot", None, 1)
    assert first.evidence is not None
    assert text.split()[0] in first.evidence
    # A confident intent does not make it understood; a second one in a row is the usual net.
    again = decide(replace(said, intent="affirm", confidence=0.77, fallbacks=1), POLICY, TEXTS)
    assert (again.action, again.handoff_reason) == ("handoff", d.LOW_CONFIDENCE)
    # Nor is it recorded as that language: the conversation keeps its own, or has none.
    assert d.heard_language(replace(said, previous_language="fr"), POLICY) == "fr"
    assert d.heard_language(said, POLICY) is None
    # And a notice is written in the conversation's language, not in the one guessed.
    told = decide(
        replace(said, intent="affirm", confidence=0.77, fallbacks=1, previous_language="fr"),
        POLICY,
        TEXTS,
    )
    assert told.reply == TEXTS.notice("fr", within_hours=True, hours="")


@pytest.mark.parametrize(
    ("text", "language", "confidence"),
    [
        ("Hallo, wo ist meine Bestellung? Ich warte schon lange.", "de", 0.96),
        ("¿Dónde está mi pedido?", "es", 0.91),
        ("mijn pakket is niet aangekomen", "nl", 1.0),
        ("dov'è il mio ordine?", "it", 0.71),
        # no word of the lists (Turkish builds words with suffixes), but lingua is sure
        ("Siparişimi iptal etmek istiyorum.", "tr", 1.0),
        ("Garantie abgelaufen?", "de", 0.98),
    ],
)
def test_a_real_foreign_sentence_still_goes_to_a_person(
    text: str, language: str, confidence: float
) -> None:
    said = replace(
        BASE, text=text, language=language, language_confidence=confidence, out_of_scope=True
    )
    outcome = decide(replace(said, intent="nlu_fallback", confidence=0.5), POLICY, TEXTS)
    assert outcome.handoff_reason == d.UNSUPPORTED_LANGUAGE
    assert d.heard_language(replace(said, previous_language="en"), POLICY) == language


def test_nonsense_the_detector_takes_for_a_request_keeps_its_language() -> None:
    """Only the out-of-scope detector's "in scope" keeps the old reading; an engine that gives
    no verdict (a Rasa server) is read by the words alone."""
    said = replace(BASE, text="wxwxwx cvcvcv", language="tr", language_confidence=0.9)
    kept = replace(said, out_of_scope=False)
    assert decide(kept, POLICY, TEXTS).handoff_reason == d.UNSUPPORTED_LANGUAGE
    assert decide(said, POLICY, TEXTS).action == "bot"  # no verdict
    assert decide(replace(said, out_of_scope=True), POLICY, TEXTS).action == "bot"
