"""The embedded intent classifier: TF-IDF over words and character n-grams, multinomial
logistic regression, and temperature scaling fitted by cross-validation, so that a confidence
of 0.6 means about 60 % right and Rasa's FallbackClassifier thresholds mean what they say."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline

from nlu.base import IntentScore

CALIBRATION_FOLDS = 3
RANKING_LENGTH = 10
# Weak regularisation: the examples are few and short, and each word matters.
REGULARISATION_C = 50.0
TEMPERATURES = np.linspace(0.1, 3.0, 59)


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    strip_accents="unicode",
                    token_pattern=r"(?u)\b\w+\b",
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    strip_accents="unicode",
                    min_df=2,
                ),
            ),
        ]
    )


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            ("features", _features()),
            ("classifier", LogisticRegression(C=REGULARISATION_C, max_iter=3000)),
        ]
    )


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return result


class IntentClassifier:
    def __init__(self) -> None:
        self._model: Pipeline | None = None
        self._classes: list[str] = []
        self.temperature = 1.0

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        if len(set(intents)) < 2:
            raise ValueError("at least two intents are needed to train a classifier")
        x, y = list(texts), np.asarray(intents)
        self._model = _pipeline().fit(x, y)
        self._classes = [str(c) for c in self._model.classes_]
        if min(Counter(intents).values()) >= CALIBRATION_FOLDS:
            self.temperature = self._fit_temperature(x, y)
        return self

    def _fit_temperature(self, x: list[str], y: NDArray[np.str_]) -> float:
        """The temperature that minimises the log loss of held-out predictions."""
        folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0)
        scores = np.asarray(
            cross_val_predict(_pipeline(), x, y, cv=folds, method="decision_function")
        )
        truth = np.searchsorted(np.asarray(self._classes), y)
        best, best_loss = 1.0, float("inf")
        for temperature in TEMPERATURES:
            probabilities = _softmax(scores / temperature)
            loss = -float(np.mean(np.log(probabilities[np.arange(len(y)), truth] + 1e-12)))
            if loss < best_loss:
                best, best_loss = float(temperature), loss
        return best

    def rank(self, text: str) -> tuple[IntentScore, ...]:
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> list[tuple[IntentScore, ...]]:
        if self._model is None:
            raise RuntimeError("the classifier is not trained")
        scores = np.asarray(self._model.decision_function(list(texts)), dtype=np.float64)
        probabilities = _softmax(scores / self.temperature)
        rankings = []
        for row in probabilities:
            order = np.argsort(row)[::-1][:RANKING_LENGTH]
            rankings.append(
                tuple(IntentScore(self._classes[i], round(float(row[i]), 4)) for i in order)
            )
        return rankings
