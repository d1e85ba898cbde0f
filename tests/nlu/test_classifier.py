from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu.embedded import Model, load_or_train
from server.settings import DEFAULT_NLU_PROJECT


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return load_or_train(DEFAULT_NLU_PROJECT, tmp_path_factory.mktemp("cache"))


def test_the_single_text_path_computes_exactly_what_scikit_learn_does(model: Model) -> None:
    texts = [model.extractor.mask(e.text) for e in model.project.examples]
    texts += ["", "!!!", "mot inconnu zzzz", "ORDER 10234 where"]
    expected = model.classifier.decision_scores(texts)
    got = np.array([model.classifier.fast_scores(t) for t in texts])
    assert np.abs(expected - got).max() < 1e-9


def test_words_kept_between_texts_change_no_score(model: Model) -> None:
    """The scorer keeps each word's character n-grams: a text scores bit for bit the same
    whether its words were seen before or not, and a pickled model keeps none of them."""
    import pickle

    texts = [model.extractor.mask(e.text) for e in model.project.examples[::7]]
    texts += ["", "!!!", "mot inconnu zzzz", "Où  est   MA commande", "ORDER 10234 where"]
    fresh = pickle.loads(pickle.dumps(model.classifier))
    cold = []
    for text in texts:
        fresh._single()._words = [{} for _ in fresh._single()._blocks]
        cold.append(fresh.fast_scores(text))
    warm = [fresh.fast_scores(t) for t in texts]
    assert all(np.array_equal(c, w) for c, w in zip(cold, warm, strict=True))
    assert any(fresh._single()._words)
    again = pickle.loads(pickle.dumps(fresh))
    assert not any(again._single()._words)


def test_rankings_agree_both_ways(model: Model) -> None:
    text = model.extractor.mask("où est ma commande 10234 ?")
    assert model.classifier.rank(text) == model.classifier.rank_many([text])[0]


def test_a_pickled_model_ranks_the_same(model: Model, tmp_path: Path) -> None:
    import pickle

    before = model.classifier.rank("I forgot my password")
    copy = pickle.loads(pickle.dumps(model))
    assert copy.classifier.rank("I forgot my password") == before


def test_a_project_of_two_intents_ranks_one_text_and_many() -> None:
    from nlu.classifier import IntentClassifier

    texts = ["hi", "hello", "hey there", "bye", "goodbye", "see you later"]
    classifier = IntentClassifier().fit(texts, ["greet"] * 3 + ["goodbye"] * 3)
    one = classifier.rank("hello friend")
    many = classifier.rank_many(["hello friend", "goodbye now"])
    assert [s.name for s in one] == ["greet", "goodbye"]
    assert one == many[0]
    assert many[1][0].name == "goodbye"
    assert abs(sum(s.confidence for s in one) - 1.0) < 1e-3


def test_a_cached_model_parses_without_importing_scikit_learn(model: Model, tmp_path: Path) -> None:
    """The scorer pickles as plain numbers: a command that loads the cached model and parses
    never imports scikit-learn (about a second of its start-up); evaluation still can."""
    import pickle
    import subprocess
    import sys

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    script = (
        "import pickle, sys\n"
        f"model = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "ranked = model.classifier.rank(model.extractor.mask('where is my order 10234'))\n"
        "print(ranked[0].name, 'sklearn' in sys.modules)\n"
        "model.classifier.decision_scores(['hello'])\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["order_status", "False", "True"]


def test_the_rich_classifier_scores_as_scikit_learn_does(model: Model) -> None:
    """With the sentence encoder installed a second classifier is fitted beside the cheap
    one, its vector among the features; its single-text path gives scikit-learn's numbers,
    reading the encoder itself or given the vector."""
    from nlu import encoder

    found = encoder.shared()
    if found is None:
        pytest.skip("the sentence encoder is not installed")
    rich = model.classifier.rich
    assert rich is not None
    assert rich.rich is None
    assert rich.classes == model.classifier.classes
    texts = [model.extractor.mask(e.text) for e in model.project.examples[::5]]
    texts += ["", "!!!", "mot inconnu zzzz"]
    expected = rich.decision_scores(texts)
    got = np.array([rich.fast_scores(t) for t in texts])
    assert np.abs(expected - got).max() < 1e-9
    given = rich._single().scores(texts[0], None, found.read(texts[0]).vector)
    assert np.abs(given - expected[0]).max() < 1e-9


def test_a_message_the_encoder_reads_is_ranked_by_the_rich_classifier(model: Model) -> None:
    """The encoder reads a message only when the out-of-scope detector is unsure of it; that
    message gets the rich classifier's ranking, one on the fast path the cheap one's, and
    ``interpret`` and ``interpret_ranked`` (evaluation's) agree."""
    from nlu import encoder
    from nlu.embedded import Draft

    found = encoder.shared()
    if found is None or model.scope is None:
        pytest.skip("the sentence encoder is not installed")
    asked = fast = None
    for example in model.project.examples:
        drafted = model.draft(example.text)
        if not isinstance(drafted, Draft):
            continue
        if drafted.asks_encoder and asked is None:
            asked = drafted
        if not drafted.asks_encoder and fast is None:
            fast = drafted
    assert asked is not None
    assert fast is not None
    rich = model.classifier.rank_read(asked.masked)
    assert rich is not None
    assert rich != asked.ranking
    assert model.interpret(asked.text).ranking == rich
    assert model.interpret_ranked(asked.text, asked.ranking).ranking == rich
    assert model.interpret(fast.text).ranking == fast.ranking
    assert model.interpret_ranked(fast.text, fast.ranking).ranking == fast.ranking


def test_without_the_encoder_no_rich_classifier_is_fitted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nlu import classifier
    from nlu.classifier import IntentClassifier

    monkeypatch.setattr(classifier, "_encoder_installed", lambda: False)
    texts = ["hi", "hello", "hey there", "bye", "goodbye", "see you", "yes", "sure", "ok"]
    fitted = IntentClassifier().fit(texts, ["greet"] * 3 + ["goodbye"] * 3 + ["affirm"] * 3)
    assert fitted.rich is None
    assert fitted.rank_read("hello") is None
