"""The embedded intent classifier: TF-IDF over words and character n-grams beside a sentence
embedding (``nlu.embedding``), multinomial logistic regression, and temperature scaling fitted
by cross-validation, so that a confidence of 0.6 means about 60 % right and Rasa's
FallbackClassifier thresholds mean what they say."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline

from nlu.base import IntentScore
from nlu.embedding import DIMENSIONS, SentenceEmbedding, TokenVectors, token_vectors

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
            # What the words mean, not only which they are: unseen paraphrases land near
            # the examples they paraphrase.
            ("meaning", SentenceEmbedding()),
        ]
    )


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            ("features", _features()),
            ("classifier", LogisticRegression(C=REGULARISATION_C, max_iter=3000)),
        ]
    )


def _per_class(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Decision scores with one column per class. A binary logistic regression gives one
    score, for its second class; its probability is the sigmoid of it, which is the softmax
    of (0, score), so the first class gets a column of zeros."""
    if scores.ndim == 2:
        return scores
    return np.column_stack([np.zeros_like(scores), scores])


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return result


@dataclass(frozen=True, slots=True)
class _Block:
    """One fitted TF-IDF vectorizer, as plain lookups: its analyzer, vocabulary and idf."""

    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: NDArray[np.float64]
    offset: int


@dataclass(frozen=True, slots=True)
class _Dense:
    """The sentence embedding's block: its vectors and where its columns start."""

    vectors: TokenVectors
    offset: int


class _SingleTextScorer:
    """The fitted pipeline's decision function for one text, computed from the vectorizers'
    own analyzers, vocabularies and idf weights, the embedding and the classifier's
    coefficients.

    scikit-learn's per-call overhead (input validation, sparse matrix assembly) is about 3 ms
    for one short text, several times the arithmetic; this gives the same numbers (a test
    compares them) in a fraction of that, which is what a chat message needs.
    """

    def __init__(self, model: Pipeline) -> None:
        features: FeatureUnion = model.named_steps["features"]
        classifier: LogisticRegression = model.named_steps["classifier"]
        blocks, dense, offset = [], [], 0
        for _name, part in features.transformer_list:
            if isinstance(part, SentenceEmbedding):
                dense.append(_Dense(token_vectors(), offset))
                offset += DIMENSIONS
                continue
            vocabulary = {str(k): int(v) for k, v in part.vocabulary_.items()}
            blocks.append(_Block(part.build_analyzer(), vocabulary, part.idf_, offset))
            offset += len(vocabulary)
        self._blocks = blocks
        self._dense = dense
        self._weights = np.ascontiguousarray(classifier.coef_.T, dtype=np.float64)
        self._intercept = np.asarray(classifier.intercept_, dtype=np.float64)

    def scores(
        self, text: str, embedding: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        total = self._intercept.copy()
        for block in self._blocks:
            counts = Counter(
                block.vocabulary[t] for t in block.analyzer(text) if t in block.vocabulary
            )
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            # As TfidfVectorizer(sublinear_tf=True, norm="l2"): (1 + log tf) * idf, per block.
            values = (1.0 + np.log(tf)) * block.idf[index]
            values /= np.linalg.norm(values)
            total += values @ self._weights[index + block.offset]
        for part in self._dense:
            columns = slice(part.offset, part.offset + DIMENSIONS)
            meaning = part.vectors.embed(text) if embedding is None else embedding
            total += meaning @ self._weights[columns]
        return total


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Each training example's class probabilities from the calibration fold that did not
    see it, and that fold: what a new message's would look like (``nlu.scope`` fits on it)."""

    probabilities: NDArray[np.float64]
    folds: NDArray[np.intp]


class IntentClassifier:
    def __init__(self) -> None:
        self._model: Pipeline | None = None
        self._classes: list[str] = []
        self._scorer: _SingleTextScorer | None = None
        self.temperature = 1.0
        # Set by fit when there are enough examples to calibrate; not kept in the cache.
        self.held_out: HeldOut | None = None

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    def __getstate__(self) -> dict[str, Any]:
        # The scorer holds closures from the vectorizers; it is rebuilt after unpickling.
        state = dict(self.__dict__)
        state["_scorer"] = None
        state["held_out"] = None
        return state

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        if len(set(intents)) < 2:
            raise ValueError("at least two intents are needed to train a classifier")
        x, y = list(texts), np.asarray(intents)
        self._model = _pipeline().fit(x, y)
        self._classes = [str(c) for c in self._model.classes_]
        # Three folds when every intent has three examples, two when some have only two (a
        # small project still gets calibrated confidences and an out-of-scope detector).
        folds = min(CALIBRATION_FOLDS, *Counter(intents).values())
        if folds >= 2:
            self.temperature = self._fit_temperature(x, y, folds)
        return self

    def _fit_temperature(self, x: list[str], y: NDArray[np.str_], count: int) -> float:
        """The temperature that minimises the log loss of held-out predictions."""
        folds = StratifiedKFold(count, shuffle=True, random_state=0)
        scores = _per_class(
            np.asarray(
                cross_val_predict(_pipeline(), x, y, cv=folds, method="decision_function"),
                dtype=np.float64,
            )
        )
        truth = np.searchsorted(np.asarray(self._classes), y)
        best, best_loss = 1.0, float("inf")
        for temperature in TEMPERATURES:
            probabilities = _softmax(scores / temperature)
            loss = -float(np.mean(np.log(probabilities[np.arange(len(y)), truth] + 1e-12)))
            if loss < best_loss:
                best, best_loss = float(temperature), loss
        if len(self._classes) > 2:  # nlu.scope is fitted for three intents or more
            fold_of = np.zeros(len(y), dtype=np.intp)
            for fold, (_train, test) in enumerate(folds.split(x, y)):
                fold_of[test] = fold
            self.held_out = HeldOut(_softmax(scores / best), fold_of)
        return best

    def rank(
        self, text: str, embedding: NDArray[np.float64] | None = None
    ) -> tuple[IntentScore, ...]:
        """The intents by probability; ``embedding`` is the text's sentence embedding when
        the caller has computed it already (nlu.embedding)."""
        if self._model is None:
            raise RuntimeError("the classifier is not trained")
        if len(self._classes) < 3:
            return self.rank_many([text])[0]  # binary: one coefficient row, not one per class
        if self._scorer is None:
            self._scorer = _SingleTextScorer(self._model)
        scores = self._scorer.scores(text, embedding)
        probabilities = _softmax(scores[np.newaxis, :] / self.temperature)
        return self._ranking(probabilities[0])

    def decision_scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """scikit-learn's own decision function (what the fast path must equal)."""
        if self._model is None:
            raise RuntimeError("the classifier is not trained")
        return _per_class(np.asarray(self._model.decision_function(list(texts)), dtype=np.float64))

    def fast_scores(self, text: str) -> NDArray[np.float64]:
        if self._model is None:
            raise RuntimeError("the classifier is not trained")
        if self._scorer is None:
            self._scorer = _SingleTextScorer(self._model)
        return self._scorer.scores(text)

    def _ranking(self, row: NDArray[np.float64]) -> tuple[IntentScore, ...]:
        order = np.argsort(row)[::-1][:RANKING_LENGTH]
        return tuple(IntentScore(self._classes[i], round(float(row[i]), 4)) for i in order)

    def rank_many(self, texts: Sequence[str]) -> list[tuple[IntentScore, ...]]:
        probabilities = _softmax(self.decision_scores(texts) / self.temperature)
        return [self._ranking(row) for row in probabilities]
