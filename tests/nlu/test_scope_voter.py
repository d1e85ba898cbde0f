"""The out-of-scope detector's second opinion on the intent (nlu/scope_voter.py): a logistic
regression over the sentence encoder's vectors, kept as plain numbers so a parse needs no
scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from nlu.scope_evidence import _meaning
from nlu.scope_geometry import _Geometry
from nlu.scope_voter import ITERATIONS, STRENGTH, _Voter


def clusters(classes: int, each: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 16))
    labels = np.repeat(np.arange(classes), each)
    vectors = centres[labels] + rng.normal(scale=0.8, size=(len(labels), 16))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


def test_votes_are_scikit_learns_probabilities_by_class() -> None:
    vectors, labels = clusters(4, 10)
    voter = _Voter.fit(vectors, labels, 4)
    model = LogisticRegression(C=STRENGTH, max_iter=ITERATIONS).fit(vectors, labels)
    assert np.allclose(voter.votes(vectors), model.predict_proba(vectors))
    assert np.allclose(voter.votes_one(vectors[3]), model.predict_proba(vectors[3:4])[0])


def test_two_classes_and_a_class_without_examples() -> None:
    """scikit-learn keeps one row of weights for two classes; a class absent from the rows
    (an intent left out of a fold) gets no vote at all."""
    vectors, labels = clusters(2, 10)
    labels = np.where(labels == 1, 2, 0)  # classes 0 and 2 of 3
    voter = _Voter.fit(vectors, labels, 3)
    model = LogisticRegression(C=STRENGTH, max_iter=ITERATIONS).fit(vectors, labels)
    votes = voter.votes(vectors)
    assert np.all(votes[:, 1] == 0.0)
    assert np.allclose(votes[:, [0, 2]], model.predict_proba(vectors))
    assert np.allclose(votes.sum(axis=1), 1.0)


def test_support_is_the_votes_share_for_the_first_choice_among_the_intents_left() -> None:
    """Meaning.support: the voter's probability of the classifier's choice, renormalised over
    the in-scope intents (a hidden intent's and the project's out-of-scope intent's votes set
    aside), so a request the voter gives to another intent has little support."""
    vectors, labels = clusters(3, 6)
    geometry = _Geometry.of(vectors, labels, 3)
    close, near = geometry.closeness(vectors[:1])
    votes = np.array([0.2, 0.5, 0.3])
    outside = np.array([False, False, True])
    chose_first = np.array([0.7, 0.2, 0.1])
    meaning = _meaning(chose_first, close[0], near[0], geometry, outside, 4.0, votes)
    assert np.isclose(meaning.support, 0.2 / 0.7)
    hidden = _meaning(chose_first, close[0], near[0], geometry, outside, 4.0, votes, hidden=0)
    assert hidden.support == 1.0  # the only in-scope intent left is the classifier's choice
