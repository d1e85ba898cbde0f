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
