"""Scoring the embedded engine's predictions (nlu/evaluation.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from nlu.base import IntentScore
from nlu.embedded import Model, train
from nlu.evaluation import predict
from nlu.markup import Example
from nlu.project import load_project

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
