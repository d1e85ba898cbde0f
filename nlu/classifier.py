"""The embedded intent classifier: TF-IDF over words and character n-grams beside a sentence
embedding (``nlu.embedding``), multinomial logistic regression, and temperature scaling fitted
by cross-validation, so that a confidence of 0.6 means about 60 % right and Rasa's
FallbackClassifier thresholds mean what they say."""

from __future__ import annotations

import math
import pickle
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from nlu.base import IntentScore
from nlu.embedding import DIMENSIONS, token_vectors

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

CALIBRATION_FOLDS = 3
# A small project's calibration folds: more of them, so each fold's model sees most of the few
# examples there are. With three folds a model trained on two of an intent's four examples
# understands only the easy held-out ones, and the out-of-scope detector (nlu.scope), calibrated
# on them, turned away in use the harder paraphrases the final model gets right.
SMALL_PROJECT, SMALL_PROJECT_FOLDS = 500, 10
# How far under a held-out row's lowest score an intent its fold never saw is put (in
# decision units: e^-100 is nothing at any temperature tried).
UNSEEN_MARGIN = 100.0
RANKING_LENGTH = 10
# Words whose character n-grams the single-text scorer keeps (a few MB at most).
WORDS_KEPT = 50_000
TEMPERATURES = np.linspace(0.1, 3.0, 59)
# Runs of whitespace, as scikit-learn's char_wb analyzer folds them.
_WHITE_SPACES = re.compile(r"\s\s+")


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


def _strip_accents(text: str) -> str:
    """scikit-learn's strip_accents_unicode."""
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    return "".join(c for c in normalized if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class _Analyzer:
    """A fitted TfidfVectorizer's analyzer, redone without scikit-learn (the same tokens,
    which a test compares): lowercase, accents stripped, then word n-grams of its token
    pattern, or character n-grams inside word boundaries (char_wb)."""

    kind: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    lowercase: bool
    strip_accents: bool
    token_pattern: re.Pattern[str]

    def __call__(self, text: str) -> list[str]:
        text = self.plain(text)
        if self.kind == "char_wb":
            grams: list[str] = []
            for word in _WHITE_SPACES.sub(" ", text).split():
                grams += self.word_grams(word)
            return grams
        low, high = self.ngram_range
        tokens = self.token_pattern.findall(text)
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def plain(self, text: str) -> str:
        """The text as the n-grams are taken from it (lower case, accents stripped)."""
        if self.lowercase:
            text = text.lower()
        if self.strip_accents:
            text = _strip_accents(text)
        return text

    def word_grams(self, word: str) -> list[str]:
        """A word's character n-grams (char_wb): each word's are its own, whatever its
        neighbours."""
        low, high = self.ngram_range
        word = f" {word} "
        size = len(word)
        grams: list[str] = []
        for n in range(low, high + 1):
            if size <= n:  # a word no longer than n counts once, whole
                grams.append(word)
                break
            grams += [word[i : i + n] for i in range(size - n + 1)]
        return grams


@dataclass(frozen=True, slots=True)
class _Block:
    """One fitted TF-IDF vectorizer, as plain lookups: its analyzer, vocabulary and idf."""

    analyzer: _Analyzer
    vocabulary: dict[str, int]
    idf: NDArray[np.float64]
    offset: int


class _SingleTextScorer:
    """The fitted pipeline's decision function for one text, computed from the vectorizers'
    analyzers, vocabularies and idf weights, the embedding and the classifier's
    coefficients: plain numbers that pickle with the model, so that a parse needs no
    scikit-learn (importing it costs about a second of a command's start-up).

    scikit-learn's per-call overhead (input validation, sparse matrix assembly) is about 3 ms
    for one short text, several times the arithmetic; this gives the same numbers (a test
    compares them) in a fraction of that, which is what a chat message needs.
    """

    def __init__(self, model: Pipeline) -> None:
        from nlu.features import SentenceEmbedding

        union = model.named_steps["features"]
        classifier = model.named_steps["classifier"]
        blocks, dense, offset = [], [], 0
        for _name, part in union.transformer_list:
            if isinstance(part, SentenceEmbedding):
                dense.append(offset)
                offset += DIMENSIONS
                continue
            if part.analyzer not in ("word", "char_wb") or part.stop_words is not None:
                raise ValueError(f"no plain analyzer for {part!r}")
            analyzer = _Analyzer(
                kind=part.analyzer,
                ngram_range=tuple(part.ngram_range),
                lowercase=bool(part.lowercase),
                strip_accents=part.strip_accents == "unicode",
                token_pattern=re.compile(part.token_pattern),
            )
            vocabulary = {str(k): int(v) for k, v in part.vocabulary_.items()}
            idf = np.asarray(part.idf_, dtype=np.float64)
            blocks.append(_Block(analyzer, vocabulary, idf, offset))
            offset += len(vocabulary)
        self._blocks = blocks
        # Where each sentence embedding's columns start (the vectors come from the package).
        self._dense = dense
        self._weights = np.ascontiguousarray(classifier.coef_.T, dtype=np.float64)
        self._intercept = np.asarray(classifier.intercept_, dtype=np.float64)
        self._words: list[dict[str, list[int]]] = [{} for _ in blocks]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_words"] = [{} for _ in self._blocks]  # what was read is not the model
        return state

    def _counts(self, block: int, text: str) -> Counter[int]:
        """How often each of the vocabulary's n-grams occurs in the text, by index, in the
        order they first occur (the unknown ones dropped). Character n-grams are found a
        word at a time and kept per word (``WORDS_KEPT``): the same counts in the same
        order, without a parse's hundred-odd n-grams made and looked up again."""
        found = self._blocks[block]
        analyzer, vocabulary = found.analyzer, found.vocabulary
        if analyzer.kind != "char_wb":
            # One look-up a gram, in C (map), the unknown ones counted under -1 and dropped.
            counts = Counter(map(vocabulary.get, analyzer(text), repeat(-1)))
            counts.pop(-1, None)
            return counts
        kept = self._words[block]
        if len(kept) > WORDS_KEPT:
            kept.clear()
        counts = Counter()
        for word in _WHITE_SPACES.sub(" ", analyzer.plain(text)).split():
            known = kept.get(word)
            if known is None:
                grams = map(vocabulary.get, analyzer.word_grams(word), repeat(-1))
                known = kept[word] = [i for i in grams if i >= 0]
            counts.update(known)
        return counts

    def scores(
        self, text: str, embedding: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        total = self._intercept.copy()
        for number, block in enumerate(self._blocks):
            counts = self._counts(number, text)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            # As TfidfVectorizer(sublinear_tf=True, norm="l2"): (1 + log tf) * idf, per block.
            values = (1.0 + np.log(tf)) * block.idf[index]
            # np.linalg.norm's own arithmetic for a vector (sqrt of the dot product), without
            # its checks: a tenth of the block's time.
            values /= math.sqrt(values.dot(values))
            total += values @ self._weights[index + block.offset]
        for start in self._dense:
            columns = slice(start, start + DIMENSIONS)
            meaning = token_vectors().embed(text) if embedding is None else embedding
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
        self._fitted: Pipeline | None = None
        # The fitted pipeline as pickled bytes, read back only when scikit-learn's own
        # decision function is asked for (evaluation, tests): a parse needs the scorer alone.
        self._blob: bytes | None = None
        self._classes: list[str] = []
        self._scorer: _SingleTextScorer | None = None
        self.temperature = 1.0
        # Set by fit when there are enough examples to calibrate; not kept in the cache.
        self.held_out: HeldOut | None = None

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._fitted is not None:
            state["_blob"] = pickle.dumps(self._fitted, protocol=pickle.HIGHEST_PROTOCOL)
        state["_fitted"] = None
        state["held_out"] = None
        return state

    @property
    def _model(self) -> Pipeline:
        """The fitted pipeline (unpickled on first use after loading: it imports
        scikit-learn)."""
        if self._fitted is None:
            if self._blob is None:
                raise RuntimeError("the classifier is not trained")
            self._fitted = pickle.loads(self._blob)
        return self._fitted

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        from nlu.features import pipeline

        if len(set(intents)) < 2:
            raise ValueError("at least two intents are needed to train a classifier")
        x, y = list(texts), np.asarray(intents)
        self._fitted = pipeline().fit(x, y)
        self._blob = None
        self._classes = [str(c) for c in self._fitted.classes_]
        self._scorer = _SingleTextScorer(self._fitted)
        # Three folds (ten for a small project), no more than the largest intent has
        # examples. An intent with fewer examples than folds is missing from some folds'
        # training (as in rasa test nlu's cross-validation): the project is still calibrated
        # and gets its out-of-scope detector, where one intent of one example used to leave
        # the whole project with neither.
        wanted = SMALL_PROJECT_FOLDS if len(x) < SMALL_PROJECT else CALIBRATION_FOLDS
        folds = min(wanted, max(Counter(intents).values()))
        if folds >= 2:
            self.temperature = self._fit_temperature(x, y, folds)
        return self

    def _fit_temperature(self, x: list[str], y: NDArray[np.str_], count: int) -> float:
        """The temperature that minimises the log loss of held-out predictions."""
        from sklearn.model_selection import StratifiedKFold

        with warnings.catch_warnings():
            # More folds than an intent has examples is meant: each still trains on one, or,
            # for an intent of one example, every fold but its own does (below).
            warnings.filterwarnings("ignore", "The least populated class", UserWarning)
            splits = list(StratifiedKFold(count, shuffle=True, random_state=0).split(x, y))
        if any(len(set(y[train])) < 2 for train, _test in splits):
            return 1.0  # a fold of one intent has no classifier: too few examples to calibrate
        scores = self._held_out_scores(x, y, splits)
        # A fold trained without some intent scores it with the float minimum (scikit-learn),
        # which overflows the softmax: it could not be chosen there, and a score far under
        # the row's others says so. Its own held-out examples could not be right whatever
        # the temperature, so they do not choose it.
        missing = scores <= np.finfo(np.float64).min / 2
        if missing.any():
            floor = np.where(missing, np.inf, scores).min(axis=1, keepdims=True) - UNSEEN_MARGIN
            scores = np.where(missing, floor, scores)
        truth = np.searchsorted(np.asarray(self._classes), y)
        rows = np.flatnonzero(~missing[np.arange(len(y)), truth])
        best, best_loss = 1.0, float("inf")
        for temperature in TEMPERATURES:
            probabilities = _softmax(scores[rows] / temperature)
            loss = -float(np.mean(np.log(probabilities[np.arange(len(rows)), truth[rows]] + 1e-12)))
            if loss < best_loss:
                best, best_loss = float(temperature), loss
        if len(self._classes) > 2:  # nlu.scope is fitted for three intents or more
            fold_of = np.zeros(len(y), dtype=np.intp)
            for fold, (_train, test) in enumerate(splits):
                fold_of[test] = fold
            self.held_out = HeldOut(_softmax(scores / best), fold_of)
        return best

    def _held_out_scores(
        self, x: list[str], y: NDArray[np.str_], splits: list[tuple[NDArray[np.intp], ...]]
    ) -> NDArray[np.float64]:
        """Each example's decision scores from the fold model that did not see it, as
        scikit-learn's cross_val_predict gives them (an intent a fold never saw scores the
        float minimum), also when a fold saw only two of three or more intents: a binary
        model's one score is its two intents' columns, which cross_val_predict refuses."""
        from nlu.features import pipeline

        scores = np.full((len(y), len(self._classes)), np.finfo(np.float64).min)
        for train, test in splits:
            fold = pipeline().fit([x[i] for i in train], y[train])
            columns = np.searchsorted(np.asarray(self._classes), fold.classes_)
            decided = fold.decision_function([x[i] for i in test])
            scores[np.ix_(test, columns)] = _per_class(np.asarray(decided, dtype=np.float64))
        return scores

    def rank(
        self, text: str, embedding: NDArray[np.float64] | None = None
    ) -> tuple[IntentScore, ...]:
        """The intents by probability; ``embedding`` is the text's sentence embedding when
        the caller has computed it already (nlu.embedding)."""
        if len(self._classes) < 3:
            return self.rank_many([text])[0]  # binary: one coefficient row, not one per class
        scores = self._single().scores(text, embedding)
        probabilities = _softmax(scores[np.newaxis, :] / self.temperature)
        return self._ranking(probabilities[0])

    def decision_scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """scikit-learn's own decision function (what the fast path must equal)."""
        return _per_class(np.asarray(self._model.decision_function(list(texts)), dtype=np.float64))

    def fast_scores(self, text: str) -> NDArray[np.float64]:
        return self._single().scores(text)

    def _single(self) -> _SingleTextScorer:
        if self._scorer is None:
            self._scorer = _SingleTextScorer(self._model)
        return self._scorer

    def _ranking(self, row: NDArray[np.float64]) -> tuple[IntentScore, ...]:
        order = np.argsort(row)[::-1][:RANKING_LENGTH].tolist()
        classes, values = self._classes, row.tolist()
        return tuple(IntentScore(classes[i], round(values[i], 4)) for i in order)

    def rank_many(self, texts: Sequence[str]) -> list[tuple[IntentScore, ...]]:
        probabilities = _softmax(self.decision_scores(texts) / self.temperature)
        return [self._ranking(row) for row in probabilities]
