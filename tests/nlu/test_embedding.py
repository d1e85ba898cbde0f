from __future__ import annotations

import pickle

import numpy as np

from nlu.embedding import DIMENSIONS, token_vectors
from nlu.features import SentenceEmbedding


def test_a_paraphrase_is_nearer_than_another_request() -> None:
    vectors = token_vectors()
    order, paraphrase, other = vectors.embed_many(
        ["my parcel never arrived", "the package hasn't come yet", "I want to delete my account"]
    )
    assert float(order @ paraphrase) > float(order @ other)


def test_embeddings_have_unit_length_and_an_empty_text_is_zero() -> None:
    rows = token_vectors().embed_many(["bonjour", "", "où est ma commande ?"])
    assert rows.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(rows[[0, 2]], axis=1), 1.0)
    assert not rows[1].any()


def test_the_transformer_pickles_without_the_vectors() -> None:
    # The trained model is cached as a pickle; the 16 MB of vectors stay in the package.
    assert len(pickle.dumps(SentenceEmbedding().fit(["hi"]))) < 1_000
