"""Retrieval intents (``faq/ask_hours``) as Rasa sees them: its intent classifier knows the
retrieval intent (``faq``) and its ResponseSelector the sub-intent. The embedded classifier
ranks the sub-intents themselves; grouping them back gives the retrieval intent's confidence
(the sum of its sub-intents'), which is what Rasa's FallbackClassifier judges, while the name
keeps the best sub-intent, whose response the bot says."""

from __future__ import annotations

from collections.abc import Sequence

from nlu.base import IntentScore


def _confidence(score: IntentScore) -> float:
    return score.confidence


def grouped(ranking: Sequence[IntentScore]) -> tuple[IntentScore, ...]:
    """The ranking by intent, a retrieval intent's sub-intents summed under the best one's
    full name, best first. A ranking without retrieval intents is unchanged."""
    if not any("/" in score.name for score in ranking):
        # The same values as below, each total its one confidence, without a new score each.
        return tuple(sorted(ranking, key=_confidence, reverse=True))
    totals: dict[str, float] = {}
    best: dict[str, str] = {}
    for score in ranking:
        base = score.name.split("/", 1)[0]
        totals[base] = totals.get(base, 0.0) + score.confidence
        best.setdefault(base, score.name)  # the ranking is best first
    return tuple(
        sorted(
            (IntentScore(best[base], total) for base, total in totals.items()),
            key=lambda s: s.confidence,
            reverse=True,
        )
    )
