"""The review inbox's near-duplicate groups: messages whose vectors are close enough share
the group of the first of them, in page order; the others stand alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from server.services.bot_review import SIMILAR, BotReview
from server.services.embedder import WordLlamaEmbedder


class Fixed:
    """Vectors chosen by hand: the first two texts nearly the same, the third apart."""

    model = "fixed"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        table = {"a": [1.0, 0.0], "a2": [0.99, 0.05], "b": [0.0, 1.0]}
        return np.array([table[t] for t in texts], dtype=np.float32)


def test_close_vectors_share_a_group() -> None:
    review = BotReview(pool=None, interpreter=None, embedder=Fixed())  # type: ignore[arg-type]
    assert review._groups(["a", "b", "a2"]) == [0, 1, 0]
    assert review._groups([]) == []


def test_rephrasings_group_with_wordllama_and_other_asks_do_not() -> None:
    review = BotReview(pool=None, interpreter=None, embedder=WordLlamaEmbedder())  # type: ignore[arg-type]
    groups = review._groups(
        ["where is my order", "where is my order??", "I want to cancel my subscription"]
    )
    assert groups[1] == groups[0]
    assert groups[2] == 2
    assert 0 < SIMILAR < 1
