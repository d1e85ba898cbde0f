"""Scoring intent classification the way ``rasa test nlu`` does, and out-of-scope detection
beside it.

A report per intent (precision, recall, F1, support, from scikit-learn's
``classification_report``, as Rasa uses), accuracy, macro and weighted averages, and the most
confused pairs; then the three figures issue 17 asks for: in-scope accuracy (the intent right
and not turned away), out-of-scope recall (the message not claimed by an in-scope intent) and
the overall accuracy over both, with each prediction kept for ``--json``.

Predictions come from k-fold cross-validation over a project's own examples (each fold's model
also judges its share of the out-of-scope sets), from leave-intents-out runs (trained without
some intents, judged on their examples, which are out of scope for that model), or from a
separate Rasa NLU test file. An example labelled with an out-of-scope name (``nlu_fallback``,
``out_of_scope``, ...) is out of scope, and any of those names predicted for it is right.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.metrics import classification_report
from sklearn.model_selection import StratifiedKFold

from nlu import retrieval
from nlu.base import NLU_FALLBACK, OUT_OF_SCOPE_INTENTS
from nlu.embedded import Model, train
from nlu.markup import Example
from nlu.project import Project, ProjectError, read_nlu_items, read_yaml

CONFUSED_PAIRS = 10
# The out-of-scope sets shipped with Switchboard (README.md there says how they were made).
OUT_OF_SCOPE_SETS = Path(__file__).parent / "out_of_scope"
CROSS_VALIDATION = "cross-validation"
LEFT_OUT = "left-out intents"
LEAVE_OUT_GROUPS = 5
# Intents named in a note before "and N more".
NAMED = 5


@dataclass(frozen=True, slots=True)
class Prediction:
    """One judged message: its label (``nlu_fallback`` when out of scope), what the engine
    answered, the classifier's first choice before any fallback, and where it came from."""

    text: str
    gold: str
    predicted: str
    first_choice: str
    confidence: float
    source: str
    scope: float | None = None
    reasons: tuple[str, ...] = ()

    @property
    def out_of_scope(self) -> bool:
        return self.gold in OUT_OF_SCOPE_INTENTS

    @property
    def right(self) -> bool:
        if self.out_of_scope:
            return self.predicted in OUT_OF_SCOPE_INTENTS
        return self.predicted == self.gold

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "reasons": list(self.reasons), "right": self.right}


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
    # The classifier's first choice on in-scope messages, before any fallback (None when
    # unknown, as for Rasa's reports): the accuracy the fallback is measured against.
    top1_accuracy: float | None = None
    in_scope_accuracy: float | None = None
    out_of_scope_recall: float | None = None
    recall_by_source: dict[str, float] = field(default_factory=dict)
    training_seconds: float | None = None  # one training, on average
    predictions: list[Prediction] = field(default_factory=list)
    # What the figures rest on that a reader should know (``cross_validate``'s small intents
    # and models without an out-of-scope detector), one sentence each.
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Rasa's intent_report.json shape, plus the confused pairs, the out-of-scope figures
        and every prediction."""
        return {
            "engine": self.engine,
            "method": self.method,
            "examples": self.examples,
            "accuracy": self.accuracy,
            "top1_accuracy": self.top1_accuracy,
            "in_scope_accuracy": self.in_scope_accuracy,
            "out_of_scope_recall": self.out_of_scope_recall,
            "out_of_scope_recall_by_source": self.recall_by_source,
            "macro avg": {"f1-score": self.macro_f1},
            "weighted avg": {"f1-score": self.weighted_f1},
            "seconds": self.seconds,
            "training_seconds": self.training_seconds,
            "notes": self.notes,
            "intents": self.intents,
            "confused": [
                {"intent": gold, "predicted": predicted, "count": n}
                for gold, predicted, n in self.confused
            ],
            "predictions": [p.to_json() for p in self.predictions],
        }


def _label(name: str) -> str:
    """Every out-of-scope name is one label: "not understood"."""
    return NLU_FALLBACK if name in OUT_OF_SCOPE_INTENTS else name


def report(
    engine: str, method: str, gold: Sequence[str], predicted: Sequence[str], seconds: float = 0.0
) -> Report:
    gold, predicted = [_label(g) for g in gold], [_label(p) for p in predicted]
    raw = classification_report(list(gold), list(predicted), output_dict=True, zero_division=0)
    intents = {
        name: {k: round(float(v), 4) for k, v in scores.items()}
        for name, scores in raw.items()
        if isinstance(scores, dict)
        and name not in ("macro avg", "weighted avg", "micro avg")
        and name in set(gold)
    }
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    pairs = list(zip(gold, predicted, strict=True))
    inside = [(g, p) for g, p in pairs if g != NLU_FALLBACK]
    outside = [(g, p) for g, p in pairs if g == NLU_FALLBACK]
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
        in_scope_accuracy=_share(g == p for g, p in inside) if inside else None,
        out_of_scope_recall=_share(p == NLU_FALLBACK for _, p in outside) if outside else None,
    )


def summarise(
    method: str, predictions: Sequence[Prediction], seconds: float, trainings: Sequence[float]
) -> Report:
    """The embedded engine's report from its predictions."""
    result = report(
        "embedded",
        method,
        [p.gold for p in predictions],
        [p.predicted for p in predictions],
        seconds,
    )
    inside = [p for p in predictions if not p.out_of_scope]
    if inside:
        result.top1_accuracy = _share(p.first_choice == p.gold for p in inside)
    sources = sorted({p.source for p in predictions if p.out_of_scope})
    result.recall_by_source = {
        s: _share(p.right for p in predictions if p.out_of_scope and p.source == s) for s in sources
    }
    result.training_seconds = round(sum(trainings) / len(trainings), 2) if trainings else None
    result.predictions = list(predictions)
    return result


def cross_validate(
    project: Project,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    out_of_scope: Mapping[str, Sequence[str]] | None = None,
    leave_out: bool = False,
) -> Report:
    """Train on k-1 folds, predict the held-out fold, k times (stratified by intent). Each
    fold's model also judges every k-th message of the ``out_of_scope`` sets (by name); with
    ``leave_out``, leave-intents-out runs follow (``leave_intents_out``). ``progress`` is told
    how many trainings are done."""
    started = time.perf_counter()
    examples = project.examples
    intents = [e.intent for e in examples]
    counts = Counter(intents)
    if max(counts.values(), default=0) < folds:
        raise ValueError(f"{folds}-fold cross-validation needs an intent of {folds} examples")
    # Public Rasa bots often have intents of one or two examples. As `rasa test nlu
    # --cross-validation` (scikit-learn's StratifiedKFold, which only warns), they are judged,
    # some of their examples by a model that never saw their intent, and the report says so;
    # refusing the whole project left such a bot with no figures at all.
    small = sorted(name for name, n in counts.items() if n < folds)
    outside = [(name, text) for name, texts in (out_of_scope or {}).items() for text in texts]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        splits = list(splitter.split(examples, intents))
    # A fold trained on one intent cannot be: refused here, before any training, rather than
    # by the classifier once some folds have trained.
    for train_idx, _ in splits:
        if len({intents[i] for i in train_idx}) < 2:
            raise ValueError(
                f"{folds}-fold cross-validation leaves a fold with one intent to train on:"
                f" too few examples in {', '.join(small)}"
            )
    predictions: list[Prediction] = []
    trainings: list[float] = []
    undetected = 0
    for index, (train_idx, test_idx) in enumerate(splits):
        fold = dataclasses.replace(project, examples=[examples[i] for i in train_idx])
        begun = time.perf_counter()
        model = train(fold)
        trainings.append(time.perf_counter() - begun)
        undetected += model.scope is None
        held_out = [examples[i] for i in test_idx]
        predictions += predict(model, held_out, CROSS_VALIDATION)
        mine = outside[index::folds]
        predictions += predict(
            model, [Example(text, NLU_FALLBACK) for _, text in mine], [s for s, _ in mine]
        )
        if progress is not None:
            progress(index + 1)
    if leave_out:
        predictions += leave_intents_out(
            project, seed=seed, trainings=trainings, progress=progress, done=folds
        )
    method = f"{folds}-fold cross-validation"
    result = summarise(method, predictions, time.perf_counter() - started, trainings)
    result.notes = _notes(folds, small, undetected)
    return result


def _notes(folds: int, small: Sequence[str], undetected: int) -> list[str]:
    """What a cross-validation's figures rest on: intents too small for the folds, and fold
    models that had no out-of-scope detector (the classifier calibrates none when an intent
    has a single training example, so Rasa's FallbackClassifier thresholds decided)."""
    notes = []
    if small:
        named = ", ".join(small[:NAMED]) + (
            f" and {len(small) - NAMED} more" if len(small) > NAMED else ""
        )
        notes.append(
            f"{len(small)} intents have fewer than {folds} examples ({named}): some of their"
            " examples were judged by a model that never saw their intent, as rasa test nlu does"
        )
    if undetected:
        notes.append(
            f"{undetected} of {folds} models had no out-of-scope detector (an intent with a single"
            " training example); the FallbackClassifier's thresholds decided for them"
        )
    return notes


def leave_intents_out(
    project: Project,
    groups: int = LEAVE_OUT_GROUPS,
    seed: int = 0,
    trainings: list[float] | None = None,
    progress: Callable[[int], None] | None = None,
    done: int = 0,
) -> list[Prediction]:
    """The in-scope intents dealt into ``groups`` groups; for each, a model trained without
    that group's intents judges their examples, which are out of scope for it (labelled
    ``nlu_fallback``). Intents the project itself marks out of scope are never left out."""
    import random

    names = sorted({e.intent for e in project.examples} - OUT_OF_SCOPE_INTENTS)
    random.Random(seed).shuffle(names)
    count = min(groups, len(names) - 2)  # each model keeps at least two in-scope intents
    predictions: list[Prediction] = []
    for group in range(max(count, 0)):
        left = set(names[group::count])
        kept = [e for e in project.examples if e.intent not in left]
        begun = time.perf_counter()
        model = train(dataclasses.replace(project, examples=kept))
        if trainings is not None:
            trainings.append(time.perf_counter() - begun)
        unknown = [Example(e.text, NLU_FALLBACK) for e in project.examples if e.intent in left]
        predictions += predict(model, unknown, LEFT_OUT)
        if progress is not None:
            progress(done + group + 1)
    return predictions


def leave_out_trainings(project: Project, groups: int = LEAVE_OUT_GROUPS) -> int:
    """How many models ``leave_intents_out`` trains (for a progress bar)."""
    names = {e.intent for e in project.examples} - OUT_OF_SCOPE_INTENTS
    return max(min(groups, len(names) - 2), 0)


def _accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return _share(g == p for g, p in zip(gold, predicted, strict=True))


def _share(hits: Any) -> float:
    values = [bool(h) for h in hits]
    return round(sum(values) / max(len(values), 1), 4)


def predict(
    model: Model, examples: Sequence[Example], source: str | Sequence[str]
) -> list[Prediction]:
    """Each example as the engine interprets it (fallback applied), in one batch."""
    if not examples:  # a fold's share of no out-of-scope set: scikit-learn refuses no rows
        return []
    masked = [model.extractor.mask(e.text) for e in examples]
    rankings = model.classifier.rank_many(masked)
    sources = [source] * len(examples) if isinstance(source, str) else list(source)
    result = []
    for example, text, ranking, origin in zip(examples, masked, rankings, sources, strict=True):
        seen = model.interpret_ranked(example.text, ranking, text)
        result.append(
            Prediction(
                text=example.text,
                gold=example.intent,
                predicted=seen.full_intent,
                # What the engine would answer with no fallback: a retrieval intent's
                # sub-intents count together (nlu.retrieval), so its best sub-intent can be
                # first in the ranking and still lose to another intent.
                first_choice=retrieval.grouped(ranking)[0].name,
                confidence=seen.confidence,
                source=origin,
                scope=seen.scope.score if seen.scope else None,
                reasons=seen.scope.reasons if seen.scope else (),
            )
        )
    return result


def predict_both(model: Model, examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    """The intents predicted (fallback applied) and the classifier's first choices."""
    judged = predict(model, examples, "")
    return [p.predicted for p in judged], [p.first_choice for p in judged]


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


def out_of_scope_sets(paths: Sequence[Path] | None = None) -> dict[str, list[str]]:
    """Out-of-scope messages by set (the file's stem): the given Rasa NLU files, or the
    shipped sets. Every example counts, whatever its intent label."""
    chosen = sorted(OUT_OF_SCOPE_SETS.glob("*.yml")) if paths is None else list(paths)
    return {path.stem: [e.text for e in read_test_file(path)] for path in chosen}


def evaluate_file(model: Model, path: Path) -> Report:
    started = time.perf_counter()
    predictions = predict(model, read_test_file(path), str(path))
    return summarise(str(path), predictions, time.perf_counter() - started, [])
