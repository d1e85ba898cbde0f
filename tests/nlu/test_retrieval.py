"""A retrieval intent's confidence is its sub-intents' together, as Rasa's FallbackClassifier
sees the retrieval intent (nlu/retrieval.py, used by the embedded engine's fallback)."""

from __future__ import annotations

import pytest

from nlu.base import IntentScore
from nlu.retrieval import grouped


def test_sub_intents_add_up_under_the_best_one() -> None:
    ranking = [
        IntentScore("greet", 0.4),
        IntentScore("faq/opening_hours", 0.35),
        IntentScore("faq/delivery_time", 0.25),
    ]
    assert [(s.name, round(s.confidence, 2)) for s in grouped(ranking)] == [
        ("faq/opening_hours", 0.6),
        ("greet", 0.4),
    ]


def test_a_ranking_without_retrieval_intents_is_unchanged() -> None:
    ranking = (IntentScore("greet", 0.7), IntentScore("goodbye", 0.3))
    assert grouped(ranking) == ranking


@pytest.mark.parametrize("names", [("faq/a", "faq/b"), ("chitchat/x", "chitchat/y")])
def test_two_close_sub_intents_are_one_confident_intent(names: tuple[str, str]) -> None:
    top, *rest = grouped([IntentScore(names[0], 0.45), IntentScore(names[1], 0.4)])
    assert (top.name, round(top.confidence, 2), rest) == (names[0], 0.85, [])
