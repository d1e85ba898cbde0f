"""Sentence meaning for the intent classifier: WordLlama's static token embeddings (shipped
inside the `wordllama` wheel, 256 dimensions, nothing downloaded), averaged over a text's
tokens and scaled to unit length.

TF-IDF only knows the words an intent's examples use; these vectors put "my parcel never
came" near "the package hasn't arrived", which is most of what a project of ~15 examples per
intent and language cannot show. With them the classifier's held-out first choice went from
0.66 to 0.73 on the shipped project (bench/RESULTS.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nlu.once import Once

DIMENSIONS = 256


@dataclass(frozen=True, slots=True)
class TokenVectors:
    """A tokenizer and the embedding row of each of its tokens."""

    tokenizer: Any  # tokenizers.Tokenizer (untyped)
    vectors: NDArray[np.float32]

    def embed(self, text: str) -> NDArray[np.float64]:
        """The unit-length mean of the text's token vectors; zeros for a text with no tokens."""
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(DIMENSIONS)
        # take's "clip": np.clip's indices (out of range to the nearest row) in one call.
        mean = self.vectors.take(ids, axis=0, mode="clip").mean(axis=0, dtype=np.float64)
        norm = math.sqrt(mean.dot(mean))  # np.linalg.norm's arithmetic, without its checks
        result: NDArray[np.float64] = mean / norm if norm else mean
        return result

    def embed_many(self, texts: Sequence[str]) -> NDArray[np.float64]:
        result = np.zeros((len(texts), DIMENSIONS))
        for row, text in enumerate(texts):
            result[row] = self.embed(text)
        return result


def token_vectors() -> TokenVectors:
    """The vectors shipped in the wordllama package, loaded once per process (~60 ms, and
    ~0.3 s importing wordllama); a caller that comes while another thread loads them waits for
    that load (a node warms them in the background: server/services/warm_up.py)."""
    return VECTORS.get()


def _load() -> TokenVectors:
    import wordllama  # imported here: it pulls in tokenizers and pydantic (~0.3 s)

    # The wheel keeps its files under wordllama/weights/ and wordllama/tokenizers/, which is
    # where load() looks for a cache directory's files; pointing the cache at the package
    # finds both, and disable_download makes a missing file an error instead of a request to
    # huggingface.co.
    package = Path(wordllama.__file__).parent
    model = wordllama.WordLlama.load(
        config="l2_supercat", dim=DIMENSIONS, cache_dir=package, disable_download=True
    )
    return TokenVectors(model.tokenizer, np.ascontiguousarray(model.embedding, dtype=np.float32))


VECTORS = Once(_load)
