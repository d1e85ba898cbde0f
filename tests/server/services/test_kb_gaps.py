"""Content gaps' pure parts: which questions are still open under the per-language
thresholds, and the greedy grouping by cosine similarity (languages apart, largest group
first, the most central question first among its examples, each text once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import numpy as np

from server.services.kb_gaps import EXAMPLES, cluster, unanswered
from server.store.kb_stats import Question

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def question(
    text: str,
    vector: list[float],
    *,
    language: str = "en",
    n: int = 0,
    best: float | None = None,
    reason: str = "kb_no_answer",
) -> Question:
    return Question(
        n,
        uuid4(),
        text,
        language,
        reason,
        T0 + timedelta(minutes=n),
        np.array(vector, dtype=np.float32),
        best,
    )


def test_a_question_stays_open_while_no_article_clears_its_languages_threshold() -> None:
    floors = {"en": 0.30, "fr": 0.50}
    asked = [
        question("covered", [1, 0], best=0.31),
        question("close but under", [1, 0], best=0.29),
        question("no article in that language", [1, 0], best=None),
        question("french under", [1, 0], language="fr", best=0.45),
        question("german at the default", [1, 0], language="de", best=0.55),
    ]
    left = unanswered(asked, floors, default=0.50)
    assert [q.text for q in left] == [
        "close but under",
        "no article in that language",
        "french under",
    ]


def test_paraphrases_group_and_other_topics_and_languages_stay_apart() -> None:
    gift = [
        question("gift cards?", [1.0, 0.1, 0.0], n=1),
        question("buy a gift card", [0.9, 0.2, 0.1], n=2),
        question("gift vouchers", [0.8, 0.0, 0.3], n=3),
        question("gift cards?", [1.0, 0.1, 0.0], n=4),
        question("a gift card please", [0.95, 0.05, 0.05], n=5),
    ]
    canada = [question("ship to Canada", [0.0, 1.0, 0.0], n=6)]
    french = [question("cartes cadeaux ?", [1.0, 0.1, 0.0], language="fr", n=7)]
    gaps = cluster([*gift, *canada, *french])
    assert [(g.count, g.language) for g in gaps] == [(5, "en"), (1, "fr"), (1, "en")]
    first = gaps[0]
    # The most central first, then the latest; "gift cards?" asked twice is one example.
    assert len(first.examples) == EXAMPLES
    assert first.question == first.examples[0].text
    assert len({e.text for e in first.examples}) == EXAMPLES
    assert first.reasons == {"kb_no_answer": 5}
    assert first.latest == T0 + timedelta(minutes=5)
    # Ties in size: the latest group first.
    assert gaps[1].question == "cartes cadeaux ?"


def test_a_question_far_from_every_group_starts_its_own() -> None:
    gaps = cluster([question("a", [1, 0], n=1), question("b", [0, 1], n=2)], join=0.45)
    assert sorted(g.question for g in gaps) == ["a", "b"]
    assert cluster([]) == []
