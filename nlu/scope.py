"""Out-of-scope detection: whether a message is one the project was built for at all.

The classifier always names some intent; its confidence alone does not say "none of them": a
sharp, calibrated classifier gives gibberish 0.5, and a raw threshold that suits one project
rejects half the answers of another. The detector weighs six pieces of evidence (``Evidence``):
the classifier's confidence and the margin to the runner-up, how close the message lies to the
top intent's own examples in embedding space (normalised by how spread out that intent's
examples are), how close it lies to any example at all, the share of its words the training
examples ever used, and the probability the classifier puts on the project's own out-of-scope
intent when it has one.

It is fitted at training time on the project's own data and a shipped background, never on
the evaluation sets: held-out folds of the training examples give in-scope evidence as a new
message would show it; the same examples with their own intent hidden (its probability,
neighbours and words taken away) stand in for requests of an intent the bot does not know;
random letter strings stand in for gibberish, and everyday requests from other domains
(``out_of_scope/background``, English and French) for other domains. Two logistic regressions
weigh the evidence (each weight held to its meaningful sign), one against the hidden intents
and one against gibberish and other domains, because the two lie on different sides: near the
known intents with a split vote, or far from every example. Each is calibrated against all
the held-out in-scope examples, and a message's ``score`` is the larger of the two: 0.99 means
"further out, for one detector, than 99 % of this project's own requests". A message is out of
scope past ``1 - IN_SCOPE_REJECTION`` of that combined score among them (and past
``1 - UNDERSTOOD_REJECTION`` among those the held-out models got right), so the one setting
means the same on every project: the share of its own requests it may turn away.

With the sentence encoder installed (``nlu.encoder``: a multilingual Universal Sentence
Encoder, as an int8 graph about 0.4 ms of CPU a short text against the static vectors' 0.02
ms), a second pair of detectors weighs the same evidence plus the encoder's: closeness to
the top intent's examples and to any example in its space, and whether the intent closest in
meaning is the classifier's choice. It is asked only past a gate on the cheap score
(``ENCODER_SHARE`` of the held-out in-scope requests lie past it), so most in-scope messages
never pay for it, and its threshold is drawn so that the whole (gate, then encoder) turns
away the same shares as above (a second gate, ``ENCODER_SURE``, past which the cheap
evidence would decide alone, is off: it cost recall). Without the encoder's packages, the
cheap detectors decide alone with their own threshold, as they always did.

Not only those the held-out models got right: on a small project those are biased to the
near copies of another example (a model trained on two of an intent's four examples
understands little else), and a threshold drawn from them turned away, in use, the plainer
paraphrases the final model gets right ("bye" beside "goodbye"): 6 to 18 points of in-scope
accuracy on the test projects of a few examples per intent. Most of the held-out examples
the detector turns away are among those the classifier gets wrong anyway.

The detector is here; its parts beside it: ``nlu.scope_evidence`` (what it weighs for one
message), ``nlu.scope_geometry`` and ``nlu.scope_vocabulary`` (the training examples in an
embedding space, and their words), ``nlu.scope_calibration`` (the regressions, their
calibration and thresholds, and the stand-ins they are fitted on).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nlu import encoder as sentence_encoder
from nlu.base import OUT_OF_SCOPE_INTENTS, IntentScore, Scope
from nlu.classifier import HeldOut
from nlu.embedding import TokenVectors, token_vectors
from nlu.encoder import Reading, SentenceEncoder
from nlu.scope_calibration import (
    FOREIGN,
    GIBBERISH,
    HIDDEN,
    Calibration,
    Thresholds,
    _Detectors,
    calibrate,
)
from nlu.scope_evidence import (
    MEANING_SIGNS,
    SIGNS,
    Evidence,
    Meaning,
    _evidence,
    _features,
    _meaning,
    _View,
)
from nlu.scope_geometry import _Geometry
from nlu.scope_vocabulary import _Vocabulary

# Evidence below this share of the understood held-out examples is named as a reason.
REASON_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Screening:
    """One message's cheap evidence, weighed (``ScopeDetector.screen``): whether the
    sentence encoder must read the message before the detector can decide."""

    ranking: tuple[IntentScore, ...]
    evidence: Evidence
    features: NDArray[np.float64]
    combined: float  # the cheap detectors' combined score
    asks_encoder: bool
    # The ranking's probabilities by class (``ScopeDetector._probabilities``), for the
    # encoder's evidence in ``conclude``.
    probabilities: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Encoded:
    """What the detector knows of the training examples in the sentence encoder's space."""

    geometry: _Geometry
    detectors: _Detectors
    own: NDArray[np.float64]  # held-out in-scope combined scores, sorted (Scope.score)
    floors: NDArray[np.float64]


class ScopeDetector:
    """Fitted once per training (``fit``); ``judge`` is a few dot products per message, and
    a pass of the sentence encoder for the few its cheap evidence leaves unsure."""

    def __init__(
        self,
        classes: Sequence[str],
        geometry: _Geometry,
        vocabulary: _Vocabulary,
        detectors: _Detectors,
        own: NDArray[np.float64],
        floors: NDArray[np.float64],
        calibration: Calibration,
        encoded: _Encoded | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self._classes = list(classes)
        self._index = {name: i for i, name in enumerate(self._classes)}
        self._outside = np.array([c in OUT_OF_SCOPE_INTENTS for c in self._classes])
        self._geometry = geometry
        self._vocabulary = vocabulary
        # One detector per kind of stand-in (an unknown intent; another domain or gibberish).
        self._detectors = detectors
        # The held-out in-scope examples' combined scores (the larger of those shares),
        # sorted: the calibration.
        self._own = own
        # Each feature's REASON_SHARE quantile among the understood (in "in scope" terms).
        self._floors = floors
        self._calibration = calibration
        self._encoded = encoded
        self.thresholds = thresholds or calibrate(calibration)

    def recalibrated(self, **settings: float) -> ScopeDetector:
        """The same detector with thresholds drawn for other settings (``calibrate``'s)."""
        return ScopeDetector(
            self._classes,
            self._geometry,
            self._vocabulary,
            self._detectors,
            self._own,
            self._floors,
            self._calibration,
            self._encoded,
            calibrate(self._calibration, **settings),
        )

    @property
    def calibration(self) -> Calibration:
        """The held-out in-scope examples' scores the thresholds are drawn from."""
        return self._calibration

    @property
    def uses_encoder(self) -> bool:
        """Whether it was fitted with the sentence encoder's evidence."""
        return self._encoded is not None

    @classmethod
    def fit(
        cls,
        classes: Sequence[str],
        texts: Sequence[str],
        labels: NDArray[np.intp],
        held_out: HeldOut,
        vectors: TokenVectors,
        gibberish: Sequence[tuple[str, NDArray[np.float64]]],
        foreign: Sequence[tuple[str, NDArray[np.float64]]] = (),
        encoder: SentenceEncoder | None = None,
    ) -> ScopeDetector | None:
        """``held_out``: each training example's class probabilities from a model that did
        not see it; ``gibberish``: random texts with the probabilities the final model gives
        them; ``foreign``: everyday requests from other domains (``background``), likewise;
        ``encoder``: the sentence encoder, when installed. None when the data cannot
        calibrate a detector (fewer than two in-scope intents, or none understood)."""
        outside = np.array([c in OUT_OF_SCOPE_INTENTS for c in classes])
        if (~outside).sum() < 2:
            return None
        embeddings = vectors.embed_many(list(texts))
        meanings = encoder.embed_many(list(texts)) if encoder is not None else None
        fluency = np.array([encoder.fluency(t) for t in texts]) if encoder is not None else None
        inside_rows: list[list[float]] = []
        outside_rows: list[list[float]] = []
        right: list[bool] = []
        # Which kind of stand-in each out-of-scope row is: each kind weighs the same in the
        # fit, so the many hidden-intent rows do not drown gibberish and other domains.
        kinds: list[int] = []
        folds = held_out.folds
        for fold in np.unique(folds):
            train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
            views = [_View.of(embeddings, labels, train, test, len(classes))]
            if meanings is not None:
                views.append(_View.of(meanings, labels, train, test, len(classes), fluency))
            vocabulary = _Vocabulary.of([texts[i] for i in train.tolist()], labels[train].tolist())
            taught = np.zeros(len(classes), dtype=bool)
            taught[labels[train]] = True
            for row, i in enumerate(test.tolist()):
                gold = int(labels[i])
                p = held_out.probabilities[i]
                if outside[gold] or not taught[gold]:
                    # The project's own out-of-scope examples, and those of an intent with
                    # fewer examples than folds that this fold was never taught: a hidden
                    # intent as it is, not a request the model could have understood.
                    outside_rows.append(
                        _features(p, views, row, outside, vocabulary.coverage(texts[i]))
                    )
                    kinds.append(HIDDEN)
                    continue
                inside_rows.append(_features(p, views, row, outside, vocabulary.coverage(texts[i])))
                right.append(int(np.argmax(p)) == gold)
                # The same message as if its intent were one the bot was never taught.
                coverage = vocabulary.coverage(texts[i], without=gold)
                outside_rows.append(_features(p, views, row, outside, coverage, hidden=gold))
                kinds.append(HIDDEN)
        if not any(right):
            return None
        geometry = _Geometry.of(embeddings, labels, len(classes))
        meaning_geometry = (
            _Geometry.of(meanings, labels, len(classes)) if meanings is not None else None
        )
        vocabulary = _Vocabulary.of(list(texts), labels.tolist())
        judged = [*gibberish, *foreign]
        if judged:
            stand_ins = [text for text, _ in judged]
            full = [_View(geometry, *geometry.closeness(vectors.embed_many(stand_ins)))]
            if encoder is not None and meaning_geometry is not None:
                meaning_of = encoder.embed_many(stand_ins)
                close, near = meaning_geometry.closeness(meaning_of)
                spelt = np.array([encoder.fluency(t) for t in stand_ins])
                full.append(_View(meaning_geometry, close, near, spelt))
            for row, (text, probabilities) in enumerate(judged):
                coverage = vocabulary.coverage(text)
                outside_rows.append(_features(probabilities, full, row, outside, coverage))
            kinds += [GIBBERISH] * len(gibberish) + [FOREIGN] * len(foreign)
        inside_all = np.array(inside_rows)
        outside_all = np.array(outside_rows)
        understood = np.array(right)
        stand_in_kinds = np.array(kinds)
        cheap = slice(0, len(SIGNS))
        detectors = _Detectors.fit(
            inside_all[:, cheap], outside_all[:, cheap], stand_in_kinds, SIGNS
        )
        combined = detectors.share(inside_all[:, cheap])
        floors = np.quantile(inside_all[understood][:, cheap] * -SIGNS, REASON_SHARE, axis=0)
        encoded = None
        rich = None
        if meaning_geometry is not None:
            rich_detectors = _Detectors.fit(inside_all, outside_all, stand_in_kinds, MEANING_SIGNS)
            rich = rich_detectors.share(inside_all)
            encoded = _Encoded(
                meaning_geometry,
                rich_detectors,
                np.sort(rich),
                np.quantile(inside_all[understood] * -MEANING_SIGNS, REASON_SHARE, axis=0),
            )
        return cls(
            classes,
            geometry,
            vocabulary,
            detectors,
            np.sort(combined),
            floors,
            Calibration(combined, rich, understood),
            encoded,
        )

    def embed(self, text: str) -> NDArray[np.float64]:
        """The text's sentence embedding, as the classifier's features compute it."""
        return token_vectors().embed(text)

    def evidence(
        self,
        text: str,
        ranking: Sequence[IntentScore],
        embedding: NDArray[np.float64] | None = None,
    ) -> Evidence:
        """``text`` as the classifier saw it (entities masked), its ranking, and its
        embedding when the caller has it already."""
        return self._evidence(text, self._probabilities(ranking), embedding)

    def _evidence(
        self,
        text: str,
        probabilities: NDArray[np.float64],
        embedding: NDArray[np.float64] | None = None,
    ) -> Evidence:
        if embedding is None:
            embedding = token_vectors().embed(text)
        close, near = self._geometry.closeness_one(embedding)
        return _evidence(
            probabilities,
            close,
            near,
            self._geometry,
            self._outside,
            self._vocabulary.coverage(text),
        )

    def _probabilities(self, ranking: Sequence[IntentScore]) -> NDArray[np.float64]:
        probabilities = np.zeros(len(self._classes))
        for scored in ranking:
            if scored.name in self._index:
                probabilities[self._index[scored.name]] = scored.confidence
        return probabilities

    def meaning(
        self, text: str, ranking: Sequence[IntentScore], encoder: SentenceEncoder
    ) -> Meaning | None:
        """The sentence encoder's evidence (None when fitted without it)."""
        return self._meaning(self._probabilities(ranking), encoder.read(text))

    def _meaning(self, probabilities: NDArray[np.float64], reading: Reading) -> Meaning | None:
        if self._encoded is None:
            return None
        geometry = self._encoded.geometry
        close, near = geometry.closeness_one(reading.vector)
        return _meaning(probabilities, close, near, geometry, self._outside, reading.fluency)

    def scores(
        self,
        text: str,
        ranking: Sequence[IntentScore],
        embedding: NDArray[np.float64] | None = None,
        encoder: SentenceEncoder | None = None,
    ) -> tuple[float, float | None]:
        """The cheap detectors' combined score and, with ``encoder``, the encoder's
        detectors' (None without one), whatever the gate would say: for benchmarks."""
        features = np.array(self.evidence(text, ranking, embedding).features())
        cheap = float(self._detectors.share(features[np.newaxis, :])[0])
        meaning = self.meaning(text, ranking, encoder) if encoder is not None else None
        if meaning is None or self._encoded is None:
            return cheap, None
        rich = np.r_[features, meaning.features()][np.newaxis, :]
        return cheap, float(self._encoded.detectors.share(rich)[0])

    def judge(
        self,
        text: str,
        ranking: Sequence[IntentScore],
        embedding: NDArray[np.float64] | None = None,
    ) -> Scope:
        """``text`` as the classifier saw it (entities masked), its ranking, and its
        embedding when the caller has it already. Asks the sentence encoder on the calling
        thread when the cheap evidence leaves it unsure (``screen`` and ``conclude`` let a
        caller ask it elsewhere)."""
        screening = self.screen(text, ranking, embedding)
        reading = None
        if screening.asks_encoder:
            # Unsure on the cheap evidence: ask the encoder (loaded on first use).
            encoder = sentence_encoder.shared()
            reading = encoder.read(text) if encoder is not None else None
        return self.conclude(screening, reading)

    def screen(
        self,
        text: str,
        ranking: Sequence[IntentScore],
        embedding: NDArray[np.float64] | None = None,
    ) -> Screening:
        """The cheap evidence's part of ``judge``: a fraction of a millisecond, and whether
        the sentence encoder's reading of ``text`` is needed to decide."""
        probabilities = self._probabilities(ranking)
        evidence = self._evidence(text, probabilities, embedding)
        features = np.array(evidence.features())
        combined = self._detectors.share_one(features)
        limits = self.thresholds
        asks = self._encoded is not None and limits.gate < combined <= limits.sure
        return Screening(tuple(ranking), evidence, features, combined, asks, probabilities)

    def conclude(self, screening: Screening, reading: Reading | None = None) -> Scope:
        """The verdict, from the screening and, when it asked for one, the encoder's
        reading of the same text (None: the encoder is not installed; the cheap evidence
        decides alone)."""
        evidence, features, combined = screening.evidence, screening.features, screening.combined
        limits = self.thresholds
        if screening.asks_encoder and reading is not None and self._encoded is not None:
            meaning = self._meaning(screening.probabilities, reading)
            assert meaning is not None
            rich = np.concatenate((features, meaning.features()))
            shared = self._encoded.detectors.share_one(rich)
            score = float(self._encoded.own.searchsorted(shared)) / len(self._encoded.own)
            reasons = self._reasons(evidence, rich * -MEANING_SIGNS < self._encoded.floors)
            return Scope(round(score, 4), shared > limits.rich, tuple(reasons))
        score = float(self._own.searchsorted(combined)) / len(self._own)
        reasons = self._reasons(evidence, features * -SIGNS < self._floors)
        # Past ``sure`` the cheap evidence has decided; else, without the encoder's
        # reading, the cheap detectors' own threshold.
        out = combined > limits.sure or combined > limits.cheap
        return Scope(round(score, 4), out, tuple(reasons))

    def _reasons(self, evidence: Evidence, unusual: NDArray[np.bool_]) -> Iterator[str]:
        """The evidence that is unusual for an understood message, in words for the console."""
        if unusual[0]:
            yield f"low confidence ({evidence.confidence:.2f})"
        if unusual[1]:
            yield f"two intents almost tied (margin {evidence.margin:.2f})"
        if unusual[2]:
            yield "unlike the examples of its best intent"
        if unusual[3]:
            yield f"far from every training example (similarity {evidence.nearest:.2f})"
        if unusual[4]:
            yield f"{evidence.coverage:.0%} of its words appear in the training examples"
        if unusual[5] and not unusual[4]:
            yield "its words are spelt unlike any in the training examples"
        if unusual[6]:
            yield f"close to the project's out-of-scope examples ({evidence.declared:.2f})"
        if len(unusual) > len(SIGNS) and unusual[len(SIGNS) :].any():
            yield "unlike the training examples in meaning (sentence encoder)"
