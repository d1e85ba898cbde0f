"""The bot's answer to an intent, from the shipped project's rules and domain."""

from __future__ import annotations

from nlu.project import load_project
from nlu.responses import BotAnswers
from server.settings import DEFAULT_NLU_PROJECT

ANSWERS = BotAnswers(load_project(DEFAULT_NLU_PROJECT))


def test_an_intent_gets_its_response_in_the_customers_language() -> None:
    english = ANSWERS.answer("return_refund", "en")
    french = ANSWERS.answer("return_refund", "fr")
    assert english is not None
    assert french is not None
    assert english.response == french.response == "utter_return_refund"
    assert english.text.startswith("You can return any item within 30 days")
    assert french.text.startswith("Vous pouvez retourner un article sous 30 jours")


def test_a_language_the_project_does_not_speak_gets_the_default_variation() -> None:
    german = ANSWERS.answer("shipping_info", "de")
    assert german is not None
    assert german.text.startswith("Standard delivery takes 2-4 business days")


def test_hand_overs_pleasantries_custom_actions_and_replies_to_the_bot_give_no_answer() -> None:
    for intent in ("request_human", "complaint", "greet", "thanks", "order_status", "affirm"):
        assert ANSWERS.answer(intent, "en") is None, intent
    assert ANSWERS.answer("no_such_intent", "en") is None
