"""Scoring the embedded engine's predictions (nlu/evaluation.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from nlu.base import IntentScore
from nlu.embedded import Model, train
from nlu.evaluation import cross_validate, predict
from nlu.markup import Example
from nlu.project import Project, load_project

FAQ = Path(__file__).parent / "projects" / "faq"


@pytest.fixture(scope="module")
def model() -> Model:
    return train(load_project(FAQ))


def test_the_first_choice_is_what_the_engine_answers_with_no_fallback(
    model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retrieval intent's sub-intents count together, as the engine answers: a sub-intent
    first in the ranking loses to a retrieval intent whose sub-intents weigh more together,
    and the no-fallback accuracy ``switchboard nlu evaluate`` compares with counts that answer
    (the ranking's first name made faq's no-fallback accuracy 2.6 points too high)."""
    ranking = (
        IntentScore("faq/opening_hours", 0.4),
        IntentScore("chitchat/ask_name", 0.35),
        IntentScore("chitchat/ask_weather", 0.25),
    )

    def ranked(texts: Sequence[str]) -> list[tuple[IntentScore, ...]]:
        return [ranking for _ in texts]

    monkeypatch.setattr(model.classifier, "rank_many", ranked)
    [judged] = predict(model, [Example("when are you open?", "faq/opening_hours")], "test")
    assert judged.first_choice == "chitchat/ask_name"
    assert judged.predicted in ("chitchat/ask_name", "nlu_fallback")
    assert not judged.right


# A bot as public Rasa projects often are: most intents with a handful of examples, one with
# two and one with a single example (RasaHQ's NLU-training-data has several such).
SMALL_INTENTS = {
    "check_balance": [
        "what is my balance",
        "how much money do I have",
        "show my account balance",
        "balance please",
        "how much is left on my account",
        "what's in my checking account",
    ],
    "lost_card": [
        "I lost my card",
        "my card is gone",
        "I can't find my credit card",
        "someone stole my card",
        "my card was taken",
        "where is my card, I lost it",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "hi", "good evening"],
    "opening_hours": ["when are you open", "what are your opening hours"],
    "close_account": ["I want to close my account"],
}


def test_intents_smaller_than_the_folds_are_judged_and_named() -> None:
    """As `rasa test nlu --cross-validation` does, an intent with fewer examples than folds
    does not refuse the whole project (it raised "needs 3 examples per intent"): every
    example is judged, some by a model that never saw its intent, and the report names those
    intents (and any fold model that had no out-of-scope detector)."""
    examples = [Example(text, name) for name, texts in SMALL_INTENTS.items() for text in texts]
    project = Project(root=Path("."), examples=examples, intents=list(SMALL_INTENTS))
    result = cross_validate(project, 3)
    assert result.examples == len(examples)
    assert {p.text for p in result.predictions} == {e.text for e in examples}
    # The single example was held out from the only model that could have learnt it.
    [alone] = [p for p in result.predictions if p.gold == "close_account"]
    assert alone.first_choice != "close_account"
    # Every fold model still has its out-of-scope detector (nlu.classifier calibrates a
    # project with an intent of one example), so the notes name only the small intents.
    [small] = result.notes
    assert "2 intents have fewer than 3 examples (close_account, opening_hours)" in small
    assert result.to_json()["notes"] == result.notes


def test_a_project_whose_every_intent_is_smaller_than_the_folds_is_refused() -> None:
    """No fold split exists then: a clear error, before any training."""
    examples = [Example(t, n) for n, texts in SMALL_INTENTS.items() for t in texts[:2]]
    with pytest.raises(ValueError, match="needs an intent of 3 examples"):
        cross_validate(Project(root=Path("."), examples=examples), 3)


def test_a_fold_left_with_one_intent_is_refused_before_any_training() -> None:
    """Two intents of four and one examples, three folds: one fold trains on the first
    intent alone. A clear error naming the small intent, not the classifier's mid-run."""
    [(big, texts), (one, others)] = list(SMALL_INTENTS.items())[:2]
    examples = [Example(t, big) for t in texts[:4]] + [Example(others[0], one)]
    with pytest.raises(ValueError, match=f"one intent to train on: too few examples in {one}"):
        cross_validate(Project(root=Path("."), examples=examples), 3)
