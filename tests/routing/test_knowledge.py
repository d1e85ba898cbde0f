"""The bot's knowledge-base step: when it applies, when it answers (and with what), when it
asks to rephrase, when a person takes over; and the text channels' rendering."""

from __future__ import annotations

from routing.decision import Decision
from routing.knowledge import (
    KB_NO_ANSWER,
    KB_NOT_HELPFUL,
    Found,
    KbAnswer,
    KbHandoff,
    KbPolicy,
    Rephrase,
    Verdict,
    after_feedback,
    applies,
    as_text,
    consults,
    feedback_of,
    rephrase_text,
    step,
    verdict,
)

POLICY = KbPolicy(faq_intents=frozenset({"faq_delivery"}))


def found(n: int, similarity: float | None) -> Found:
    return Found(f"id-{n}", f"Article {n}", f"/help/demo/en/a-{n}", f"Excerpt {n}.", similarity)


def test_it_applies_to_uncovered_messages_and_unsure_faq_intents_only() -> None:
    assert applies("nlu_fallback", 0.9, POLICY)
    assert applies("out_of_scope", 0.99, POLICY)
    assert applies("faq_delivery", 0.3, POLICY)
    assert not applies("faq_delivery", 0.8, POLICY)
    assert not applies("order_status", 0.2, POLICY)  # the bot's own fallback handles it
    assert not applies("nlu_fallback", 0.9, KbPolicy(enabled=False))


def test_it_answers_with_the_articles_close_enough_best_first() -> None:
    hits = [found(1, 0.52), found(2, 0.41), found(3, None), found(4, 0.33), found(5, 0.31)]
    answer = step("en", hits, POLICY, asked_to_rephrase=False)
    assert isinstance(answer, KbAnswer)
    assert [a.article_id for a in answer.articles] == ["id-1", "id-2", "id-4"]
    # French needs more: WordLlama's French vectors sit close together whatever they say.
    french = step("fr", hits, POLICY, asked_to_rephrase=False)
    assert isinstance(french, KbAnswer)
    assert [a.article_id for a in french.articles] == ["id-1"]


def test_nothing_close_asks_to_rephrase_once_then_hands_over() -> None:
    far = [found(1, 0.2), found(2, None)]
    assert step("en", far, POLICY, asked_to_rephrase=False) == Rephrase()
    assert step("en", far, POLICY, asked_to_rephrase=True) == KbHandoff(KB_NO_ANSWER)
    assert step("de", [found(1, 0.45)], POLICY, asked_to_rephrase=False) == Rephrase()
    assert step("en", [], POLICY, asked_to_rephrase=True) == KbHandoff(KB_NO_ANSWER)


def test_a_no_hands_over_as_not_helpful_and_a_yes_does_not() -> None:
    assert after_feedback(helpful=False) == KbHandoff(KB_NOT_HELPFUL)
    assert after_feedback(helpful=True) is None


def test_text_channels_get_titles_links_excerpts_and_the_question() -> None:
    text = as_text(KbAnswer((found(1, 0.5), found(2, 0.4))), "fr", "https://shop.example/")
    assert text.splitlines() == [
        "Ces articles répondent peut-être à votre question :",
        "",
        "• Article 1: https://shop.example/help/demo/en/a-1",
        "  Excerpt 1.",
        "• Article 2: https://shop.example/help/demo/en/a-2",
        "  Excerpt 2.",
        "",
        "Cela répond-il à votre question ? (oui / non)",
    ]
    assert rephrase_text("xx").startswith("Sorry")


def test_yes_and_no_are_read_in_english_and_french_and_long_messages_are_neither() -> None:
    for text in ("yes", "Yes!", "yep thanks", "Oui", "oui merci", "OK"):
        assert feedback_of(text) is True, text
    for text in (
        "no",
        "No.",
        "non",
        "Nope",
        "that doesn't help",
        "That doesn\u2019t help at all",
        "ça ne m'aide pas",
        "Ça ne m\u2019aide pas du tout",
        "not helpful",
        "pas utile",
    ):
        assert feedback_of(text) is False, text
    for text in ("where is my parcel", "yes but my order 10234 never arrived and I need it now"):
        assert feedback_of(text) is None, text
    # The engine's affirm / deny count on short messages only.
    assert feedback_of("sure", "affirm") is True
    assert feedback_of("absolutely not the thing", "deny") is False


def test_the_step_is_consulted_over_the_not_understood_paths_only() -> None:
    bot = Decision("bot", "bot", fallbacks=1)
    assert consults(bot, "nlu_fallback", 0.2, POLICY)
    assert consults(
        Decision("handoff", "queued", handoff_reason="out_of_scope"), "out_of_scope", 0.9, POLICY
    )
    assert consults(
        Decision("handoff", "queued", handoff_reason="low_confidence"), "nlu_fallback", 0.1, POLICY
    )
    # A handoff's own reason stands, and a person's conversation stays theirs.
    assert not consults(
        Decision("handoff", "queued", handoff_reason="safety"), "out_of_scope", 0.9, POLICY
    )
    assert not consults(Decision("wait", "assigned"), "out_of_scope", 0.9, POLICY)
    assert not consults(bot, "order_status", 0.9, POLICY)


def test_the_message_after_the_articles_is_their_verdict() -> None:
    bot = Decision("bot", "bot")
    assert verdict(bot, "affirm", 0.9, "yes", POLICY) == Verdict(True, "customer")
    assert verdict(bot, "deny", 0.9, "no", POLICY) == Verdict(False, "customer")
    # The same question put another way: no intent covers it again.
    again = Decision("handoff", "queued", handoff_reason="out_of_scope")
    assert verdict(again, "out_of_scope", 0.8, "I meant the other thing", POLICY) == Verdict(
        False, "follow_up"
    )
    # Moving on to something the bot knows, or a handoff's own reason: no verdict here.
    assert verdict(bot, "order_status", 0.9, "where is order 10234", POLICY) is None
    human = Decision("handoff", "queued", handoff_reason="requested_human")
    assert verdict(human, "request_human", 0.9, "no, a person please", POLICY) is None
