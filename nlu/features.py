"""The intent classifier's features as scikit-learn fits them: TF-IDF over words and over
character n-grams, beside the sentence embedding (``nlu.embedding``), then a logistic
regression. Imported only to train and to evaluate: a parse reads the fitted numbers through
``nlu.classifier``'s scorer and never imports scikit-learn (about a second of a command's
start-up)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from nlu.embedding import token_vectors

# Weak regularisation: the examples are few and short, and each word matters.
REGULARISATION_C = 50.0


class SentenceEmbedding(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A scikit-learn transformer from texts to their embeddings. It learns nothing and
    pickles as nothing: the vectors come from the installed package when first needed."""

    def fit(self, texts: Sequence[str], y: object = None) -> SentenceEmbedding:
        return self

    def transform(self, texts: Sequence[str]) -> NDArray[np.float64]:
        return token_vectors().embed_many(list(texts))


class SharedCharacterGrams(TfidfVectorizer):  # type: ignore[misc]
    """TF-IDF over the character n-grams that at least two examples share (``min_df``), or
    over all of them when none is shared: a project of a handful of one-word examples ("hi",
    "bye"), or one of its calibration folds, has no n-gram in two examples, and scikit-learn
    refuses to fit an empty vocabulary ("After pruning, no terms remain")."""

    def fit(self, raw_documents: Sequence[str], y: object = None) -> SharedCharacterGrams:
        self.fit_transform(raw_documents, y)
        return self

    def fit_transform(self, raw_documents: Sequence[str], y: object = None) -> Any:
        try:
            return super().fit_transform(raw_documents, y)
        except ValueError as error:
            if "no terms remain" not in str(error):
                raise
        # Fitted as min_df=1, then the parameter given back: a clone of this one (the next
        # fold's) prunes again when its examples share n-grams.
        wanted = self.get_params()["min_df"]
        self.set_params(min_df=1)
        try:
            return super().fit_transform(raw_documents, y)
        finally:
            self.set_params(min_df=wanted)


def features() -> FeatureUnion:
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
                SharedCharacterGrams(
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


def pipeline() -> Pipeline:
    return Pipeline(
        [
            ("features", features()),
            ("classifier", LogisticRegression(C=REGULARISATION_C, max_iter=3000)),
        ]
    )
