"""A second opinion on the intent, from the sentence encoder's space: a logistic regression over
the training examples' encoder vectors (``nlu.encoder``), beside the classifier's TF-IDF and
static vectors. The out-of-scope detector (``nlu.scope``) weighs how much of it goes to the
classifier's choice (``nlu.scope_evidence.Meaning.support``): a request of an intent the bot
was never taught is absorbed by a neighbouring intent, and the two views of the text disagree
on which one more often than for a request the bot knows.

Measured before it was taken (2026-12-06, the shipped project, 3-fold and leave-intents-out,
the shipped out-of-scope sets, each model's training examples; the engine's records of
``switchboard nlu evaluate --folds 3 --json``): among the messages the classifier understood
and the examples of left-out intents, this probability alone separates them with an AUROC of
0.909 (the detector's whole score: 0.912; closeness to the nearest example in the encoder's
space 0.879, Mahalanobis distance to the nearest intent's mean 0.828, the regression's own top
probability 0.871); at the one-point budget, with the threshold drawn on the test data, it
catches 0.489 of the left-out intents' examples against the detector's 0.419, and the larger
of the two 0.527. A ridge classifier instead: 0.848.

Taken as the encoder detectors' fifth piece of evidence (``switchboard nlu evaluate --folds 3
--json``, the six projects, 2026-12-06 23:42 UTC): on the shipped project the detector's score
separates understood messages from left-out intents' with an AUROC of 0.920 (0.913 before) and
a threshold drawn on the test data at one point would catch 0.515 of the left-out intents'
examples (0.407 before). The thresholds the engine draws (``nlu.scope_calibration``) spend
half that point there, so recall moved less: 0.482 -> 0.488, in-scope accuracy unchanged on
all six projects, one gibberish or other-domain message fewer caught on moodbot, faq, helpdesk
and pizza ("ghjkghjk ghj" taken for a greeting on three).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# The regression's inverse regularisation (scikit-learn's C) and its iterations: unit vectors
# of 512 dimensions, a few to a hundred examples an intent. Measured at C 20 (above).
STRENGTH = 20.0
ITERATIONS = 500


@dataclass(frozen=True, slots=True)
class _Voter:
    """Per class, the logistic regression's weights over the encoder's vectors (a class absent
    from the training rows gets no vote)."""

    weights: NDArray[np.float64]  # classes x dimensions
    bias: NDArray[np.float64]  # classes; -inf for a class without examples

    @classmethod
    def fit(cls, vectors: NDArray[np.float64], labels: NDArray[np.intp], classes: int) -> _Voter:
        # Here, not at the top: a parse reads the fitted numbers and never needs scikit-learn.
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        weights = np.zeros((classes, vectors.shape[1]))
        bias = np.full(classes, -np.inf)
        present = np.unique(labels)
        if len(present) < 2:  # one class: it gets every vote
            bias[present] = 0.0
            return cls(weights, bias)
        model = LogisticRegression(C=STRENGTH, max_iter=ITERATIONS)
        with warnings.catch_warnings():
            # Not converged to the last decimal within ITERATIONS: the votes are evidence
            # among others, weighed and calibrated after.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(vectors, labels)
        rows = np.asarray(model.classes_, dtype=np.intp)
        if len(rows) == 2:  # scikit-learn keeps one row for two classes: the second's
            weights[rows[1]], bias[rows[1]] = model.coef_[0], model.intercept_[0]
            bias[rows[0]] = 0.0
        else:
            weights[rows], bias[rows] = model.coef_, model.intercept_
        return cls(weights, bias)

    def votes(self, vectors: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows of vectors -> each class's probability (rows sum to 1)."""
        scores = vectors @ self.weights.T + self.bias
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        result: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
        return result

    def votes_one(self, vector: NDArray[np.float64]) -> NDArray[np.float64]:
        """``votes`` of one vector, as a 1-D array."""
        row: NDArray[np.float64] = self.votes(vector[np.newaxis, :])[0]
        return row
