"""How the customer feels, from -1 (angry) to +1 (happy): VADER's compound score.

Chosen by measuring (tests/nlu/data/sentiment.yml, a labelled set in English and French;
figures in bench/RESULTS.md): VADER for English and its French adaptation, vaderSentiment-fr,
for French. Other languages get 0 (neutral) rather than a guess.
"""

from __future__ import annotations

import functools
import warnings

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

with warnings.catch_warnings():
    # vaderSentiment-fr imports fuzzywuzzy, which warns that it lacks python-Levenshtein; the
    # pure-Python matcher is what we want here (no native build).
    warnings.simplefilter("ignore", UserWarning)
    from vaderSentiment_fr.vaderSentiment import (
        SentimentIntensityAnalyzer as FrenchSentimentIntensityAnalyzer,
    )


class Sentiment:
    def __init__(self) -> None:
        self._analyzers = {
            "en": SentimentIntensityAnalyzer(),
            "fr": FrenchSentimentIntensityAnalyzer(),
        }

    def score(self, text: str, language: str | None) -> float:
        analyzer = self._analyzers.get(language or "en")
        if analyzer is None:
            return 0.0
        return float(analyzer.polarity_scores(text)["compound"])


@functools.cache
def shared() -> Sentiment:
    return Sentiment()
