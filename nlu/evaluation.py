"""Scoring intent classification the way ``rasa test nlu`` does: a report per intent
(precision, recall, F1, support, from scikit-learn's ``classification_report``, as Rasa uses),
accuracy, macro and weighted averages, and the most confused pairs.

Two ways to get predictions: k-fold cross-validation over a project's own examples, and a
separate Rasa NLU test file. An example labelled ``nlu_fallback`` is out of scope: predicting
the fallback for it is right.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.metrics import classification_report
from sklearn.model_selection import StratifiedKFold

from nlu.embedded import Model, train
from nlu.markup import Example
from nlu.project import Project, ProjectError, read_nlu_items, read_yaml

CONFUSED_PAIRS = 10


@dataclass
class Report:
    engine: str
    method: str  # "5-fold cross-validation" or the test file
    intents: dict[str, dict[str, float]]
    accuracy: float
    macro_f1: float
    weighted_f1: float
    confused: list[tuple[str, str, int]]
    examples: int
    seconds: float = 0.0
    # The classifier's first choice, before the fallback thresholds (None when unknown, as for
    # Rasa's reports): how much the thresholds cost in accuracy.
    top1_accuracy: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Rasa's intent_report.json shape, plus the confused pairs and a summary."""
        return {
            "engine": self.engine,
            "method": self.method,
            "examples": self.examples,
            "accuracy": self.accuracy,
            "top1_accuracy": self.top1_accuracy,
            "macro avg": {"f1-score": self.macro_f1},
            "weighted avg": {"f1-score": self.weighted_f1},
            "intents": self.intents,
            "confused": [
                {"intent": gold, "predicted": predicted, "count": n}
                for gold, predicted, n in self.confused
            ],
        }


def report(
    engine: str, method: str, gold: Sequence[str], predicted: Sequence[str], seconds: float = 0.0
) -> Report:
    raw = classification_report(list(gold), list(predicted), output_dict=True, zero_division=0)
    intents = {
        name: {k: round(float(v), 4) for k, v in scores.items()}
        for name, scores in raw.items()
        if isinstance(scores, dict)
        and name not in ("macro avg", "weighted avg", "micro avg")
        and name in set(gold)
    }
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return Report(
        engine=engine,
        method=method,
        intents=intents,
        accuracy=_accuracy(gold, predicted),
        macro_f1=round(float(raw["macro avg"]["f1-score"]), 4),
        weighted_f1=round(float(raw["weighted avg"]["f1-score"]), 4),
        confused=[(g, p, n) for (g, p), n in confusions.most_common(CONFUSED_PAIRS)],
        examples=len(gold),
        seconds=round(seconds, 2),
    )


def cross_validate(
    project: Project,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Train on k-1 folds, predict the held-out fold, k times (stratified by intent)."""
    started = time.perf_counter()
    examples = project.examples
    intents = [e.intent for e in examples]
    smallest = min(Counter(intents).values())
    if smallest < folds:
        raise ValueError(f"{folds}-fold cross-validation needs {folds} examples per intent")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    gold: list[str] = []
    predicted: list[str] = []
    first_choice: list[str] = []
    for index, (train_idx, test_idx) in enumerate(splitter.split(examples, intents)):
        fold = dataclasses.replace(project, examples=[examples[i] for i in train_idx])
        model = train(fold)
        held_out = [examples[i] for i in test_idx]
        gold += [e.intent for e in held_out]
        fold_predicted, fold_first = predict_both(model, held_out)
        predicted += fold_predicted
        first_choice += fold_first
        if progress is not None:
            progress(index + 1)
    result = report(
        "embedded",
        f"{folds}-fold cross-validation",
        gold,
        predicted,
        time.perf_counter() - started,
    )
    result.top1_accuracy = _accuracy(gold, first_choice)
    return result


def _accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(len(gold), 1), 4)


def predict_both(model: Model, examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    """The intents predicted (fallback thresholds applied) and the classifier's first choices."""
    rankings = model.classifier.rank_many([model.extractor.mask(e.text) for e in examples])
    predicted = [
        model.interpret_ranked(e.text, r).intent for e, r in zip(examples, rankings, strict=True)
    ]
    return predicted, [r[0].name for r in rankings]


def read_test_file(path: Path) -> list[Example]:
    """The examples of a Rasa NLU file (``nlu:`` items with ``intent`` and ``examples``)."""
    project = Project(root=path.parent)
    document = read_yaml(path)
    if not isinstance(document, dict) or "nlu" not in document:
        raise ProjectError(path, 1, "not a Rasa NLU file: no top-level 'nlu' key")
    read_nlu_items(project, path, document["nlu"] or [])
    if not project.examples:
        raise ProjectError(path, None, "no examples to test")
    return project.examples


def evaluate_file(model: Model, path: Path) -> Report:
    started = time.perf_counter()
    examples = read_test_file(path)
    predicted, first_choice = predict_both(model, examples)
    gold = [e.intent for e in examples]
    result = report("embedded", str(path), gold, predicted, time.perf_counter() - started)
    result.top1_accuracy = _accuracy(gold, first_choice)
    return result
