"""The classifier's scikit-learn features on the projects that strain them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from nlu.embedded import train
from nlu.features import SharedCharacterGrams
from nlu.project import load_project

# Four one-word examples that share no character n-gram (char_wb, 2 to 5 characters).
TINY = {"greet": ["hi"], "affirm": ["yup", "ok"], "deny": ["nah"]}


def _tiny_project(root: Path) -> Path:
    (root / "data").mkdir()
    (root / "config.yml").write_text("recipe: default.v1\nlanguage: en\npipeline:\npolicies:\n")
    intents = "".join(f"  - {intent}\n" for intent in TINY)
    (root / "domain.yml").write_text(f'version: "3.1"\nintents:\n{intents}')
    blocks = "".join(
        f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
        for intent, texts in TINY.items()
    )
    (root / "data" / "nlu.yml").write_text(f'version: "3.1"\nnlu:\n{blocks}')
    return root


def test_scikit_learn_alone_refuses_n_grams_no_two_examples_share() -> None:
    """The case the fallback is for (if scikit-learn ever fits it, the fallback is moot)."""
    texts = [t for examples in TINY.values() for t in examples]
    plain = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2)
    with pytest.raises(ValueError, match="no terms remain"):
        plain.fit(texts)
    shared = SharedCharacterGrams(analyzer="char_wb", ngram_range=(2, 5), min_df=2).fit(texts)
    assert {" hi ", " ok ", " nah ", " yup "} <= set(shared.vocabulary_)
    assert shared.get_params()["min_df"] == 2  # the parameter is given back


def test_shared_n_grams_are_pruned_as_before() -> None:
    texts = ["hello there", "hello you", "bye"]
    plain = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2).fit(texts)
    shared = SharedCharacterGrams(analyzer="char_wb", ngram_range=(2, 5), min_df=2).fit(texts)
    assert shared.vocabulary_ == plain.vocabulary_


def test_a_project_of_a_few_one_word_examples_trains_and_parses(tmp_path: Path) -> None:
    model = train(load_project(_tiny_project(tmp_path)))
    assert model.classifier.classes == sorted(TINY)
    assert {model.interpret(t).intent for t in ["hi", "nah"]} == {"greet", "deny"}
